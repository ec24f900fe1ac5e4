package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Name is the controller's event source.
const Name = "node-controller"

// ControllerConfig configures a Controller. Zero fields take the defaults in their comments.
type ControllerConfig struct {
	// Client writes node and pod status and deletes pods. Required.
	Client *client.Client
	// Informers are the shared caches (nodes, leases, pods). Required.
	Informers *controller.Informers
	// Config is the failure detection setting (Default()).
	Config Config
	// Recorder receives events (none when nil).
	Recorder *client.Recorder
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the node lifecycle loop. Its queue keys are node names.
type Controller struct {
	cfg    ControllerConfig
	ctrl   *controller.Controller
	nodes  *informer.Informer[*api.Node]
	leases *informer.Informer[*api.Lease]
	pods   *informer.Informer[*api.Pod]

	mu      sync.Mutex
	health  map[string]Health
	missing map[string]time.Time // node name -> when its pods were first seen without it
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg ControllerConfig) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("node lifecycle controller: Client and Informers are required")
	}
	if cfg.Config == (Config{}) {
		cfg.Config = Default()
	}
	if err := cfg.Config.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{cfg: cfg, nodes: cfg.Informers.Nodes, leases: cfg.Informers.Leases, pods: cfg.Informers.Pods,
		health: map[string]Health{}, missing: map[string]time.Time{}}
	c.ctrl = controller.New(controller.Config{
		Name: "nodelifecycle", Reconciler: c, Workers: 2, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.nodes, c.leases, c.pods},
	})
	c.nodes.AddHandler(informer.Handler[*api.Node]{
		OnAdd:    func(n *api.Node) { c.ctrl.Enqueue(n.Name) },
		OnUpdate: func(_, n *api.Node) { c.ctrl.Enqueue(n.Name) },
		OnDelete: func(n *api.Node) { c.ctrl.Enqueue(n.Name) },
	})
	lease := func(l *api.Lease) {
		if l.Namespace == api.NamespaceNodeLease {
			c.ctrl.Enqueue(l.Name)
		}
	}
	c.leases.AddHandler(informer.Handler[*api.Lease]{OnAdd: lease, OnUpdate: func(_, l *api.Lease) { lease(l) }})
	// A pod that lands on (or turns ready on) a silent node, or on a node that does not
	// exist, needs the node's verdict.
	pod := func(p *api.Pod) {
		if p.Spec.NodeName == "" {
			return
		}
		n, ok := c.nodes.Get("", p.Spec.NodeName)
		if !ok {
			c.ctrl.Enqueue(p.Spec.NodeName)
			return
		}
		if r := readyCondition(&n.Status); r != nil && r.Status == api.ConditionUnknown {
			c.ctrl.Enqueue(n.Name)
		}
	}
	c.pods.AddHandler(informer.Handler[*api.Pod]{OnAdd: pod, OnUpdate: func(_, p *api.Pod) { pod(p) }})
	return c, nil
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Reconcile judges one node and writes the verdict.
func (c *Controller) Reconcile(ctx context.Context, name string) error {
	node, ok := c.nodes.Get("", name)
	if !ok {
		return c.nodeMissing(ctx, name)
	}
	lease, _ := c.leases.Get(api.NamespaceNodeLease, name)
	now := c.cfg.Now()
	c.mu.Lock()
	var prev *Health
	if h, seen := c.health[name]; seen {
		prev = &h
	}
	h := Observe(prev, node, lease, now)
	c.health[name] = h
	delete(c.missing, name)
	c.mu.Unlock()

	plan := Compute(node, h, c.pods.ByIndex(informer.NodeNameIndex, name), now, c.cfg.Config)
	if plan.Status != nil {
		up := controller.Clone(node)
		up.Status = *plan.Status
		if _, err := client.Nodes(c.cfg.Client).UpdateStatus(ctx, up); err != nil {
			return fmt.Errorf("update status of node %s: %w", name, err)
		}
		if r := readyCondition(plan.Status); r != nil {
			if r.Status == api.ConditionTrue {
				c.event(node, api.EventNormal, "NodeReady", "Node %s status is now: NodeReady", name)
			} else {
				c.event(node, api.EventNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", name)
			}
		}
	}
	var errs []error
	for _, p := range plan.NotReady {
		if _, err := client.Pods(c.cfg.Client).Namespace(p.Namespace).UpdateStatus(ctx, p); err != nil && !api.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err))
		}
	}
	for _, p := range plan.Evict {
		err := client.Pods(c.cfg.Client).Namespace(p.Namespace).Delete(ctx, p.Name, &api.DeleteOptions{
			GracePeriodSeconds: api.Ptr[int64](0), Preconditions: &api.Preconditions{UID: api.Ptr(p.UID)}})
		switch {
		case err == nil:
			c.event(p, api.EventNormal, "NodeControllerEviction", "Deleting pod %s from node %s", p.Name, name)
		case !api.IsNotFound(err) && !api.IsConflict(err):
			errs = append(errs, fmt.Errorf("evict pod %s/%s from node %s: %w", p.Namespace, p.Name, name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if plan.RequeueAfter > 0 {
		c.ctrl.EnqueueAfter(name, plan.RequeueAfter)
	}
	return nil
}

// nodeMissing deletes (force) the pods bound to a node that does not exist, once it has been
// missing for the grace period and a live read confirms it, as Kubernetes' pod garbage
// collector does: nothing would ever run or finish them.
func (c *Controller) nodeMissing(ctx context.Context, name string) error {
	now := c.cfg.Now()
	pods := c.pods.ByIndex(informer.NodeNameIndex, name)
	c.mu.Lock()
	delete(c.health, name)
	since, seen := c.missing[name]
	if len(pods) == 0 {
		delete(c.missing, name)
	} else if !seen {
		since = now
		c.missing[name] = now
	}
	c.mu.Unlock()
	if len(pods) == 0 {
		return nil
	}
	if wait := since.Add(c.cfg.Config.GracePeriod).Sub(now); wait > 0 {
		c.ctrl.EnqueueAfter(name, wait+10*time.Millisecond)
		return nil
	}
	if _, err := client.Nodes(c.cfg.Client).Get(ctx, name); !api.IsNotFound(err) {
		return err // it exists after all (the cache lags), or the read failed
	}
	var errs []error
	for _, p := range PodsOfMissingNode(pods) {
		err := client.Pods(c.cfg.Client).Namespace(p.Namespace).Delete(ctx, p.Name, &api.DeleteOptions{
			GracePeriodSeconds: api.Ptr[int64](0), Preconditions: &api.Preconditions{UID: api.Ptr(p.UID)}})
		if err != nil && !api.IsNotFound(err) && !api.IsConflict(err) {
			errs = append(errs, fmt.Errorf("delete pod %s/%s of missing node %s: %w", p.Namespace, p.Name, name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) event(obj api.Object, typ, reason, format string, args ...any) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(obj, typ, reason, format, args...)
	}
}
