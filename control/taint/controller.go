package taint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Name is the controller's event source.
const Name = "taint-eviction-controller"

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client deletes pods. Required.
	Client *client.Client
	// Informers are the shared caches (nodes, pods by node name). Required.
	Informers *controller.Informers
	// Recorder receives TaintManagerEviction events (none when nil).
	Recorder *client.Recorder
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller evicts pods from nodes with NoExecute taints they do not tolerate. Its queue keys
// are node names.
type Controller struct {
	cfg   Config
	ctrl  *controller.Controller
	nodes *informer.Informer[*api.Node]
	pods  *informer.Informer[*api.Pod]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("taint eviction controller: Client and Informers are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{cfg: cfg, nodes: cfg.Informers.Nodes, pods: cfg.Informers.Pods}
	c.ctrl = controller.New(controller.Config{Name: "taint", Reconciler: c, Workers: 2, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.nodes, c.pods}})
	node := func(n *api.Node) {
		for i := range n.Spec.Taints {
			if n.Spec.Taints[i].Effect == api.TaintNoExecute {
				c.ctrl.Enqueue(n.Name)
				return
			}
		}
	}
	c.nodes.AddHandler(informer.Handler[*api.Node]{OnAdd: node, OnUpdate: func(_, n *api.Node) { node(n) }})
	pod := func(p *api.Pod) {
		if p.Spec.NodeName == "" {
			return
		}
		if n, ok := c.nodes.Get("", p.Spec.NodeName); ok {
			node(n)
		}
	}
	c.pods.AddHandler(informer.Handler[*api.Pod]{OnAdd: pod, OnUpdate: func(_, p *api.Pod) { pod(p) }})
	return c, nil
}

// disruption is the status patch of an evicted pod's DisruptionTarget condition.
func disruption(now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []any{map[string]any{
		"type": api.DisruptionTarget, "status": api.ConditionTrue, "reason": "DeletionByTaintManager",
		"message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": api.NewTime(now),
	}}}})
	return b
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Reconcile evicts the pods of one node whose time has come and requeues the node for the
// next.
func (c *Controller) Reconcile(ctx context.Context, name string) error {
	node, ok := c.nodes.Get("", name)
	if !ok {
		return nil
	}
	now := c.cfg.Now()
	var errs []error
	var next time.Duration
	for _, ev := range Plan(node, c.pods.ByIndex(informer.NodeNameIndex, name), now) {
		if wait := ev.At.Sub(now); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		p := ev.Pod
		pods := client.Pods(c.cfg.Client).Namespace(p.Namespace)
		// As Kubernetes does, the pod is marked DisruptionTarget first, so whoever owns it
		// can tell an eviction from a crash.
		if _, err := pods.Patch(ctx, p.Name, client.StrategicMergePatch, disruption(c.cfg.Now()), "status"); err != nil && !api.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("mark pod %s/%s for eviction from tainted node %s: %w", p.Namespace, p.Name, name, err))
			continue
		}
		err := pods.Delete(ctx, p.Name, &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr(p.UID)}})
		switch {
		case err == nil:
			if c.cfg.Recorder != nil {
				c.cfg.Recorder.Eventf(p, api.EventNormal, "TaintManagerEviction", "Marking for deletion Pod %s/%s", p.Namespace, p.Name)
			}
		case !api.IsNotFound(err) && !api.IsConflict(err):
			errs = append(errs, fmt.Errorf("evict pod %s/%s from tainted node %s: %w", p.Namespace, p.Name, name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if next > 0 {
		c.ctrl.EnqueueAfter(name, next+10*time.Millisecond)
	}
	return nil
}
