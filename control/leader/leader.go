// Package leader owns leader election among the control-plane processes of a cluster: several
// `wk server` processes run the controllers and the scheduler, and exactly one of them at a time
// does so. It follows Kubernetes' leaderelection package: candidates compete for a
// coordination.k8s.io/v1 Lease through the API, using the Lease's resourceVersion for optimistic
// concurrency; the holder renews it every RetryPeriod and steps down if it cannot renew within
// RenewDeadline; others take it over once it has not changed for LeaseDuration, measured on
// their own clocks (so clock skew between machines does not matter).
//
// It does not fence: a leader that stalls for longer than LeaseDuration may overlap briefly with
// its successor, as in Kubernetes. Work done under leadership must stay idempotent.
package leader

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// ErrInvalidConfig is wrapped by New for a Config it cannot use.
var ErrInvalidConfig = errors.New("invalid leader election config")

// Config configures an election.
type Config struct {
	// Client reaches the API server.
	Client *client.Client
	// Namespace and Name locate the Lease; Namespace defaults to kube-system.
	Namespace, Name string
	// Identity names this candidate (host name plus a random suffix is typical); it must differ
	// between candidates.
	Identity string
	// LeaseDuration is how long others wait, after the lease last changed, before taking it
	// over. Default 15s. It is written to the Lease rounded up to whole seconds.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before it steps down; it must
	// be shorter than LeaseDuration. Default 10s.
	RenewDeadline time.Duration
	// RetryPeriod is the wait between attempts to acquire or renew. Default 2s.
	RetryPeriod time.Duration
}

// Default fills the zero fields with Kubernetes' defaults.
func (c *Config) Default() {
	if c.Namespace == "" {
		c.Namespace = api.NamespaceSystem
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = 10 * time.Second
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = 2 * time.Second
	}
}

// Validate checks the config after Default.
func (c *Config) Validate() error {
	switch {
	case c.Client == nil:
		return fmt.Errorf("%w: client is not set", ErrInvalidConfig)
	case c.Name == "":
		return fmt.Errorf("%w: lease name is not set", ErrInvalidConfig)
	case c.Identity == "":
		return fmt.Errorf("%w: identity is not set", ErrInvalidConfig)
	case c.RetryPeriod <= 0:
		return fmt.Errorf("%w: retryPeriod %v must be positive", ErrInvalidConfig, c.RetryPeriod)
	case c.RenewDeadline <= c.RetryPeriod:
		return fmt.Errorf("%w: renewDeadline %v must be longer than retryPeriod %v", ErrInvalidConfig, c.RenewDeadline, c.RetryPeriod)
	case c.LeaseDuration <= c.RenewDeadline:
		return fmt.Errorf("%w: leaseDuration %v must be longer than renewDeadline %v", ErrInvalidConfig, c.LeaseDuration, c.RenewDeadline)
	}
	return nil
}

// Elector is one candidate. Its accessors are safe for concurrent use; Run may be called once
// at a time.
type Elector struct {
	cfg    Config
	leases *client.Resource[*api.Lease]
	now    func() time.Time

	mu sync.Mutex
	// observed is the last lease state seen and observedAt when it was first seen (local clock).
	observed   *api.Lease
	observedAt time.Time
	leading    bool
}

// New checks cfg (after filling defaults) and returns an elector.
func New(cfg Config) (*Elector, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("leader election %s/%s: %w", cfg.Namespace, cfg.Name, err)
	}
	return &Elector{cfg: cfg, leases: client.Leases(cfg.Client).Namespace(cfg.Namespace), now: time.Now}, nil
}

// Run is New(cfg) followed by Elector.Run.
func Run(ctx context.Context, cfg Config, onStartedLeading func(ctx context.Context), onStoppedLeading func()) error {
	e, err := New(cfg)
	if err != nil {
		return err
	}
	return e.Run(ctx, onStartedLeading, onStoppedLeading)
}

// IsLeader reports whether this candidate holds the lease now.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Leader returns the holder of the lease as last observed ("" if none or unknown).
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.observed == nil {
		return ""
	}
	return api.Deref(e.observed.Spec.HolderIdentity, "")
}

// Run campaigns until ctx ends. Each time it acquires the lease it calls onStartedLeading in a
// new goroutine with a context that is cancelled when leadership is lost or ctx ends; it waits
// for onStartedLeading to return (it must return promptly once its context is cancelled), then
// calls onStoppedLeading (may be nil), and, unless ctx has ended, campaigns again. When ctx ends
// while leading, it releases the lease so another candidate can take over at once. It returns
// nil when ctx ends.
func (e *Elector) Run(ctx context.Context, onStartedLeading func(ctx context.Context), onStoppedLeading func()) error {
	for ctx.Err() == nil {
		if !e.acquire(ctx) {
			break
		}
		e.lead(ctx, onStartedLeading)
		if onStoppedLeading != nil {
			onStoppedLeading()
		}
	}
	return nil
}

// acquire tries every RetryPeriod until it holds the lease (true) or ctx ends (false).
func (e *Elector) acquire(ctx context.Context) bool {
	t := time.NewTicker(e.cfg.RetryPeriod)
	defer t.Stop()
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, e.cfg.RenewDeadline)
		ok := e.tryAcquireOrRenew(attemptCtx)
		cancelAttempt()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// lead runs the leader's callback and renews until renewal fails for RenewDeadline, another
// holder is seen, or ctx ends (then it releases the lease).
func (e *Elector) lead(ctx context.Context, onStartedLeading func(ctx context.Context)) {
	e.setLeading(true)
	defer e.setLeading(false)
	leadCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { onStartedLeading(leadCtx) })
	defer wg.Wait()
	defer cancel()

	t := time.NewTicker(e.cfg.RetryPeriod)
	defer t.Stop()
	lastRenew := e.now()
	for {
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait() // stop the work before giving the lease away
			e.release()
			return
		case <-t.C:
		}
		// An attempt may not outlive the renew deadline: a hung API server must not keep a
		// leader that can no longer prove it holds the lease.
		attemptCtx, cancelAttempt := context.WithDeadline(ctx, lastRenew.Add(e.cfg.RenewDeadline))
		ok := e.tryAcquireOrRenew(attemptCtx)
		cancelAttempt()
		if ok {
			lastRenew = e.now()
			continue
		}
		if e.heldByOther() || e.now().Sub(lastRenew) >= e.cfg.RenewDeadline {
			return
		}
	}
}

func (e *Elector) setLeading(v bool) {
	e.mu.Lock()
	e.leading = v
	e.mu.Unlock()
}

// heldByOther reports whether the last observed lease names another holder.
func (e *Elector) heldByOther() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := ""
	if e.observed != nil {
		h = api.Deref(e.observed.Spec.HolderIdentity, "")
	}
	return h != "" && h != e.cfg.Identity
}

// tryAcquireOrRenew makes one attempt, bounded by ctx, to take or renew the lease.
func (e *Elector) tryAcquireOrRenew(ctx context.Context) bool {
	now := e.now()
	lease, err := e.leases.Get(ctx, e.cfg.Name)
	switch {
	case api.IsNotFound(err):
		l := &api.Lease{
			ObjectMeta: api.ObjectMeta{Name: e.cfg.Name, Namespace: e.cfg.Namespace},
			Spec:       e.spec(nil, now),
		}
		created, err := e.leases.Create(ctx, l)
		if err != nil {
			return false
		}
		e.observe(created, e.now())
		return true
	case err != nil:
		return false
	}
	e.observe(lease, now)
	holder := api.Deref(lease.Spec.HolderIdentity, "")
	if holder != "" && holder != e.cfg.Identity && !e.expired(now) {
		return false
	}
	lease.Spec = e.spec(lease, now)
	updated, err := e.leases.Update(ctx, lease) // carries the resourceVersion read above
	if err != nil {
		return false
	}
	e.observe(updated, e.now())
	return true
}

// spec is the lease spec naming this candidate, carrying over acquireTime while it renews and
// counting a transition when the holder changes.
func (e *Elector) spec(prev *api.Lease, now time.Time) api.LeaseSpec {
	t := api.NewMicroTime(now)
	s := api.LeaseSpec{
		HolderIdentity:       api.Ptr(e.cfg.Identity),
		LeaseDurationSeconds: api.Ptr(durationSeconds(e.cfg.LeaseDuration)),
		AcquireTime:          &t,
		RenewTime:            &t,
		LeaseTransitions:     api.Ptr(int32(0)),
	}
	if prev == nil {
		return s
	}
	transitions := api.Deref(prev.Spec.LeaseTransitions, 0)
	if api.Deref(prev.Spec.HolderIdentity, "") == e.cfg.Identity {
		if prev.Spec.AcquireTime != nil {
			s.AcquireTime = prev.Spec.AcquireTime
		}
	} else {
		transitions++
	}
	s.LeaseTransitions = api.Ptr(transitions)
	return s
}

// observe records the lease; observedAt moves only when the lease changed.
func (e *Elector) observe(l *api.Lease, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.observed == nil || e.observed.ResourceVersion != l.ResourceVersion {
		e.observed = l
		e.observedAt = now
	}
}

// expired reports whether the observed lease has not changed for its duration.
func (e *Elector) expired(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := time.Duration(api.Deref(e.observed.Spec.LeaseDurationSeconds, 0)) * time.Second
	return !now.Before(e.observedAt.Add(d))
}

// release gives the lease up if this candidate still holds it, so that another can take it at
// once. It uses a fresh context: the caller's has ended.
func (e *Elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RenewDeadline)
	defer cancel()
	lease, err := e.leases.Get(ctx, e.cfg.Name)
	if err != nil || api.Deref(lease.Spec.HolderIdentity, "") != e.cfg.Identity {
		return
	}
	t := api.NewMicroTime(e.now())
	lease.Spec.HolderIdentity = api.Ptr("")
	lease.Spec.LeaseDurationSeconds = api.Ptr(int32(1))
	lease.Spec.RenewTime = &t
	lease.Spec.AcquireTime = &t
	if updated, err := e.leases.Update(ctx, lease); err == nil {
		e.observe(updated, e.now())
	}
}

func durationSeconds(d time.Duration) int32 {
	s := math.Ceil(d.Seconds())
	if s < 1 {
		return 1
	}
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(s)
}
