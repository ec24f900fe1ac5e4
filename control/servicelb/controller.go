package servicelb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Event reasons.
const (
	ReasonAllocated        = "IPAllocated"
	ReasonAllocationFailed = "AllocationFailed"
	ReasonReleased         = "IPReleased"
)

// Config configures a Controller.
type Config struct {
	// Client writes Service status. Required.
	Client *client.Client
	// Informers are the shared caches; the controller reads Services. Required.
	Informers *controller.Informers
	// Pool is where addresses come from. Zero means DefaultPool.
	Pool netip.Prefix
	// Recorder receives an event for each allocation, release and exhausted pool (none when
	// nil).
	Recorder *client.Recorder
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Default fills the zero fields of c.
func (c *Config) Default() {
	if !c.Pool.IsValid() {
		c.Pool = DefaultPool
	}
}

// Validate reports a field that cannot be used.
func (c *Config) Validate() error {
	if c.Client == nil || c.Informers == nil {
		return errors.New("servicelb config: Client and Informers are required")
	}
	if !c.Pool.IsValid() {
		return errors.New("servicelb config: Pool is not a prefix")
	}
	return nil
}

// Controller gives LoadBalancer Services their addresses. Its queue keys are Service keys. It
// runs one worker, so two Services are never given one address from the same stale snapshot;
// addresses it wrote but the cache does not show yet are remembered until it does.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	svcs *informer.Informer[*api.Service]

	mu      sync.Mutex
	written map[string]netip.Addr // key -> address written, not yet seen in the cache
}

// New checks cfg (after Default) and builds the controller; Run starts it.
func New(cfg Config) (*Controller, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Pool = cfg.Pool.Masked()
	c := &Controller{cfg: cfg, svcs: cfg.Informers.Services, written: map[string]netip.Addr{}}
	c.ctrl = controller.New(controller.Config{
		Name: Name, Reconciler: c, Workers: 1, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.svcs},
	})
	c.svcs.AddHandler(informer.Handler[*api.Service]{
		OnAdd: func(s *api.Service) { c.seen(s); c.changed(nil, s) },
		OnUpdate: func(old, s *api.Service) {
			c.seen(s)
			c.changed(old, s)
		},
		OnDelete: func(s *api.Service) {
			c.forget(informer.KeyOf(s))
			c.changed(s, nil)
		},
	})
	return c, nil
}

// Run reconciles until ctx ends and returns once the worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// changed queues a Service that wants or holds an address; when an address may have been
// freed, it also queues every LoadBalancer Service still waiting for one.
func (c *Controller) changed(old, cur *api.Service) {
	if cur != nil && (Wants(cur) || len(cur.Status.LoadBalancer.Ingress) > 0) {
		c.ctrl.Enqueue(informer.KeyOf(cur))
	}
	if old == nil || len(old.Status.LoadBalancer.Ingress) == 0 {
		return
	}
	if cur != nil && Wants(cur) && SameIngress(old.Status.LoadBalancer.Ingress, cur.Status.LoadBalancer.Ingress) {
		return
	}
	for _, s := range c.svcs.List() {
		if Wants(s) && len(s.Status.LoadBalancer.Ingress) == 0 {
			c.ctrl.Enqueue(informer.KeyOf(s))
		}
	}
}

// seen forgets a written address once the cache shows it.
func (c *Controller) seen(s *api.Service) {
	key := informer.KeyOf(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.written[key]; ok {
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP == a.String() {
				delete(c.written, key)
			}
		}
		if !Wants(s) {
			delete(c.written, key)
		}
	}
}

func (c *Controller) forget(key string) {
	c.mu.Lock()
	delete(c.written, key)
	c.mu.Unlock()
}

// claims is every claim on the pool: the cache's, plus addresses written but not seen yet.
func (c *Controller) claims() []Claim {
	svcs := c.svcs.List()
	claims := Claims(svcs, c.cfg.Pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, a := range c.written {
		ns, name := informer.SplitKey(key)
		s, ok := c.svcs.Get(ns, name)
		if ok && Wants(s) {
			claims = append(claims, Claim{Key: key, Created: s.CreationTimestamp, Addr: a})
		}
	}
	return claims
}

// Reconcile writes the ingress one Service should have.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	svc, ok := c.svcs.Get(ns, name)
	if !ok {
		c.forget(key)
		return nil
	}
	want, ok := Plan(svc, key, c.claims(), c.cfg.Pool)
	if !ok {
		c.event(svc, api.EventWarning, ReasonAllocationFailed,
			fmt.Sprintf("no free address in the load balancer pool %s", c.cfg.Pool))
	}
	if SameIngress(want, svc.Status.LoadBalancer.Ingress) {
		return nil
	}
	up := controller.Clone(svc)
	up.Status.LoadBalancer.Ingress = want
	// The claim is noted before the write: the watch may deliver the written status (and seen
	// forget the claim) before UpdateStatus returns.
	c.mu.Lock()
	prev, hadPrev := c.written[key]
	if len(want) > 0 {
		c.written[key] = netip.MustParseAddr(want[0].IP)
	} else {
		delete(c.written, key)
	}
	c.mu.Unlock()
	if _, err := client.Services(c.cfg.Client).Namespace(ns).UpdateStatus(ctx, up); err != nil {
		c.mu.Lock()
		if hadPrev {
			c.written[key] = prev
		} else {
			delete(c.written, key)
		}
		c.mu.Unlock()
		return fmt.Errorf("write load balancer status of service %s: %w", key, err)
	}
	switch {
	case len(want) > 0:
		c.event(svc, api.EventNormal, ReasonAllocated, "load balancer address "+want[0].IP)
	case len(svc.Status.LoadBalancer.Ingress) > 0 && !Wants(svc):
		c.event(svc, api.EventNormal, ReasonReleased, "load balancer address released")
	}
	return nil
}

func (c *Controller) event(svc *api.Service, typ, reason, msg string) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(svc, typ, reason, "%s", msg)
	}
}
