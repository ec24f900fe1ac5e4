// Package hollow owns hollow runners: simulated nodes that stand in for real Wasm runners in
// tests and scale benchmarks, behind the same API, as Kubernetes' hollow kubelet does. One
// Runner runs many hollow nodes in one process: it registers each Node, renews each node's
// Lease, and reports the pods bound to its nodes Running and Ready at once (or after
// StartupDelay) without running anything; a pod being deleted is deleted for good, as the
// kubelet's final delete does.
//
// Node registration and lease renewal are runner/node's NodeAgent, one per node, shared with
// the real runner. Everything a hollow node reports is on loopback: nodes at 127.1.x.y, pods at
// unique addresses from 127.2.0.1 up (see NodeAddress).
//
// It does not run Wasm, serve Services, probe, restart or finish anything: hollow containers
// start and never stop. It does not delete its Nodes when it stops: their leases simply expire.
package hollow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/control/queue"
	"github.com/wasmkube/wasmkube/runner/node"
)

// LabelHollow marks hollow nodes, with the value "true".
const LabelHollow = "wasmkube.io/hollow"

// ErrAlreadyRunning is returned by Run when the Runner was run before.
var ErrAlreadyRunning = errors.New("hollow runner is already running")

// Config configures a Runner. Zero fields take the defaults given in their comments.
type Config struct {
	// Client reaches the API server. Required.
	Client *client.Client
	// Nodes is how many hollow nodes to run, 1 to MaxNodes. Required.
	Nodes int
	// NamePrefix starts every node name ("hollow-"); node i is NamePrefix and i in five digits
	// (hollow-00000, hollow-00001, ...), so names sort in order and a Runner restarted with a
	// different count keeps the names it had.
	NamePrefix string
	// Capacity is each node's capacity and allocatable (cpu 4, memory 8Gi, pods 110).
	Capacity api.ResourceList
	// Labels are put on every node, besides kubernetes.io/hostname, kubernetes.io/os,
	// kubernetes.io/arch and wasmkube.io/hollow=true.
	Labels map[string]string
	// NodeLabels, when set, returns further labels for node i (a zone, a rack), so one
	// Runner, with one pod watch and one node watch, can stand in for a varied fleet. It
	// must be a pure function of i.
	NodeLabels func(i int) map[string]string
	// LeaseDuration is each node lease's leaseDurationSeconds (40s).
	LeaseDuration time.Duration
	// RenewInterval is how often each lease is renewed (10s); the nodes' renewals are spread
	// evenly over it. It must be shorter than LeaseDuration.
	RenewInterval time.Duration
	// Workers is how many goroutines write pod statuses and deletes (16); as many renew
	// leases.
	Workers int
	// StartupDelay is how long a pod stays Pending on its node before it is reported Running
	// (0: at once).
	StartupDelay time.Duration
	// TerminationDelay is how long a pod being deleted lingers before its node deletes it for
	// good (0: at once).
	TerminationDelay time.Duration
	// Now is the clock of the timestamps written (time.Now). The delays above are measured on
	// the system's monotonic clock.
	Now func() time.Time
	// Logger receives errors that are retried (discarded when nil).
	Logger *slog.Logger
}

// Default fills the zero fields of c with their defaults.
func (c *Config) Default() {
	if c.NamePrefix == "" {
		c.NamePrefix = "hollow-"
	}
	if c.Capacity == nil {
		c.Capacity = api.ResourceList{
			api.ResourceCPU:    api.MustParseQuantity("4"),
			api.ResourceMemory: api.MustParseQuantity("8Gi"),
			api.ResourcePods:   api.MustParseQuantity("110"),
		}
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 40 * time.Second
	}
	if c.RenewInterval == 0 {
		c.RenewInterval = 10 * time.Second
	}
	if c.Workers == 0 {
		c.Workers = 16
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first field of c that cannot be used.
func (c *Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("hollow config: Client is required")
	case c.Nodes < 1 || c.Nodes > MaxNodes:
		return fmt.Errorf("hollow config: Nodes %d must be between 1 and %d", c.Nodes, MaxNodes)
	case c.Workers < 1:
		return fmt.Errorf("hollow config: Workers %d must be at least 1", c.Workers)
	case c.LeaseDuration < time.Second:
		return fmt.Errorf("hollow config: LeaseDuration %v must be at least 1s", c.LeaseDuration)
	case c.RenewInterval <= 0 || c.RenewInterval >= c.LeaseDuration:
		return fmt.Errorf("hollow config: RenewInterval %v must be positive and shorter than LeaseDuration %v",
			c.RenewInterval, c.LeaseDuration)
	case c.StartupDelay < 0:
		return fmt.Errorf("hollow config: StartupDelay %v is negative", c.StartupDelay)
	case c.TerminationDelay < 0:
		return fmt.Errorf("hollow config: TerminationDelay %v is negative", c.TerminationDelay)
	}
	// The longest name must be a node name and a label value (kubernetes.io/hostname).
	last := c.NodeName(MaxNodes - 1)
	if msgs := append(labels.IsDNS1123Subdomain(last), labels.IsValidLabelValue(last)...); len(msgs) > 0 {
		return fmt.Errorf("hollow config: NamePrefix %q makes node names such as %q that are invalid: %s",
			c.NamePrefix, last, msgs[0])
	}
	if errs := api.ValidateLabels(c.Labels, "labels"); len(errs) > 0 {
		return fmt.Errorf("hollow config: Labels: %w", errs[0])
	}
	if c.NodeLabels != nil {
		for i := range c.Nodes {
			if errs := api.ValidateLabels(c.NodeLabels(i), "labels"); len(errs) > 0 {
				return fmt.Errorf("hollow config: NodeLabels(%d): %w", i, errs[0])
			}
		}
	}
	for name, q := range c.Capacity {
		if q.MilliValue() < 0 {
			return fmt.Errorf("hollow config: Capacity %s %s is negative", name, q)
		}
	}
	return nil
}

// NodeName returns the name of hollow node i.
func (c *Config) NodeName(i int) string { return fmt.Sprintf("%s%05d", c.NamePrefix, i) }

// node describes hollow node i as its agent registers it.
func (c *Config) node(i int) *api.Node {
	name := c.NodeName(i)
	l := maps.Clone(c.Labels)
	if l == nil {
		l = map[string]string{}
	}
	if c.NodeLabels != nil {
		maps.Copy(l, c.NodeLabels(i))
	}
	l[api.LabelHostname] = name
	l[api.LabelOS] = runtime.GOOS
	l[api.LabelArch] = runtime.GOARCH
	l[LabelHollow] = "true"
	return &api.Node{
		ObjectMeta: api.ObjectMeta{Name: name, Labels: l},
		Status: api.NodeStatus{
			Capacity:    maps.Clone(c.Capacity),
			Allocatable: maps.Clone(c.Capacity),
			Addresses: []api.NodeAddress{
				{Type: api.NodeInternalIP, Address: NodeAddress(i).String()},
				{Type: api.NodeHostName, Address: name},
			},
			NodeInfo: api.NodeSystemInfo{
				MachineID:               name,
				KernelVersion:           "hollow",
				OSImage:                 OSImage,
				ContainerRuntimeVersion: RuntimeVersion,
				KubeletVersion:          KubeletVersion,
				OperatingSystem:         runtime.GOOS,
				Architecture:            runtime.GOARCH,
			},
		},
	}
}

// Runner runs Config.Nodes hollow nodes against one API server. Construct it with New, then
// call Run once.
type Runner struct {
	cfg    Config
	agents []*node.NodeAgent
	index  map[string]int // node name -> node number
	podRes *client.Resource[*api.Pod]
	pods   *informer.Informer[*api.Pod]
	nodes  *informer.Informer[*api.Node]
	addrs  *podAddresses

	// The queues are made by Run, before the informers that feed them start.
	podQ, nodeQ *queue.Queue
	running     atomic.Bool

	mu         sync.Mutex
	noticed    map[string]noticed // pod key -> when it was first seen needing action
	registered []bool             // by node number; false until its agent registered it
}

// New builds a Runner for cfg (defaulted, then validated). It talks to nobody until Run.
func New(cfg Config) (*Runner, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{
		cfg:        cfg,
		agents:     make([]*node.NodeAgent, cfg.Nodes),
		index:      make(map[string]int, cfg.Nodes),
		podRes:     client.Pods(cfg.Client),
		addrs:      newPodAddresses(),
		noticed:    map[string]noticed{},
		registered: make([]bool, cfg.Nodes),
	}
	for i := range cfg.Nodes {
		a, err := node.NewNodeAgent(node.AgentConfig{Client: cfg.Client, Node: cfg.node(i),
			LeaseDuration: cfg.LeaseDuration, Now: cfg.Now, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("new hollow runner: %w", err)
		}
		r.agents[i] = a
		r.index[a.Name()] = i
	}
	// One informer on every bound pod: the API filters out pending pods, the handlers the
	// pods of other nodes. The other nodes' pods are still read for their addresses.
	r.pods = informer.New(r.podRes, client.ListOptions{FieldSelector: "spec.nodeName!="}, nil)
	r.pods.AddHandler(informer.Handler[*api.Pod]{
		OnAdd:    r.onPod,
		OnUpdate: func(_, p *api.Pod) { r.onPod(p) },
		OnDelete: r.onPodDeleted,
	})
	r.nodes = informer.New(client.Nodes(cfg.Client), client.ListOptions{LabelSelector: LabelHollow + "=true"}, nil)
	return r, nil
}

// NodeNames returns the names of the Runner's nodes, in order.
func (r *Runner) NodeNames() []string {
	out := make([]string, len(r.agents))
	for i, a := range r.agents {
		out[i] = a.Name()
	}
	return out
}

// Run registers the nodes, keeps their leases renewed and their pods Running until ctx ends,
// then returns nil once every goroutine it started has stopped. Failed writes are logged and
// retried with back-off, never returned. It returns ErrAlreadyRunning if called twice.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.podQ = queue.NewWithBackoff(nil, 5*time.Millisecond, 30*time.Second)
	r.nodeQ = queue.NewWithBackoff(nil, 100*time.Millisecond, r.cfg.RenewInterval)

	var wg sync.WaitGroup
	wg.Go(func() { _ = r.pods.Run(ctx) })
	wg.Go(func() { _ = r.nodes.Run(ctx) })
	for _, a := range r.agents {
		r.nodeQ.Add(a.Name())
	}
	for range r.cfg.Workers {
		wg.Go(func() { r.nodeWorker(ctx) })
	}
	// Pod workers wait for the first list, so that every address in use is known before one
	// is handed out.
	if r.pods.WaitForSync(ctx) {
		for range r.cfg.Workers {
			wg.Go(func() { r.podWorker(ctx) })
		}
	}
	<-ctx.Done()
	r.podQ.ShutDown()
	r.nodeQ.ShutDown()
	wg.Wait()
	return nil
}

// nodeWorker registers nodes and renews their leases, one node key at a time, until the queue
// shuts down. Each node is queued again for its next renewal.
func (r *Runner) nodeWorker(ctx context.Context) {
	for {
		name, shutdown := r.nodeQ.Get()
		if shutdown {
			return
		}
		if ctx.Err() == nil {
			next, err := r.syncNode(ctx, r.index[name])
			switch {
			case err == nil:
				r.nodeQ.Forget(name)
				r.nodeQ.AddAfter(name, next)
			case ctx.Err() == nil:
				r.cfg.Logger.Warn("hollow node", "node", name, "err", err)
				r.nodeQ.AddRateLimited(name)
			}
		}
		r.nodeQ.Done(name)
	}
}

// syncNode registers node i, or renews it; it returns when to come back.
func (r *Runner) syncNode(ctx context.Context, i int) (time.Duration, error) {
	a := r.agents[i]
	r.mu.Lock()
	registered := r.registered[i]
	r.mu.Unlock()
	if !registered {
		if _, err := a.Register(ctx); err != nil {
			return 0, err
		}
		r.setRegistered(i, true)
		// Spread the first renewals over one interval: nodes registered in one burst must not
		// renew in one burst forever after.
		return r.cfg.RenewInterval * time.Duration(i+1) / time.Duration(r.cfg.Nodes), nil
	}
	var observed *api.Node
	if n, ok := r.nodes.Get("", a.Name()); ok {
		observed = n
	}
	if err := a.Renew(ctx, observed); err != nil {
		if errors.Is(err, node.ErrNodeNotFound) {
			r.setRegistered(i, false) // deleted by hand: register it again, as a restart would
		}
		return 0, err
	}
	return r.cfg.RenewInterval, nil
}

func (r *Runner) setRegistered(i int, v bool) {
	r.mu.Lock()
	r.registered[i] = v
	r.mu.Unlock()
}

// IsReady reports whether node's Ready condition is True (node.IsReady).
func IsReady(n *api.Node) bool { return node.IsReady(n) }
