package disruption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Name is the controller's name in logs.
const Name = "disruption-controller"

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes PodDisruptionBudget status. Required.
	Client *client.Client
	// Informers are the shared caches (pods, replicasets, deployments, jobs, and the
	// poddisruptionbudgets among Others). Required.
	Informers *controller.Informers
	// Workers is how many budgets are computed in parallel (2).
	Workers int
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the disruption controller loop.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	inf  *controller.Informers
	pdbs *informer.Informer[api.Object]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("disruption controller: Client and Informers are required")
	}
	pdbs := cfg.Informers.Others["poddisruptionbudgets"]
	if pdbs == nil {
		return nil, errors.New("disruption controller: the informers have no poddisruptionbudgets")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	inf := cfg.Informers
	c := &Controller{cfg: cfg, inf: inf, pdbs: pdbs}
	c.ctrl = controller.New(controller.Config{
		Name: "disruption", Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{inf.Pods, inf.ReplicaSets, inf.Deployments, inf.Jobs, pdbs},
	})
	enqueue := func(o api.Object) { c.ctrl.Enqueue(informer.KeyOf(o)) }
	pdbs.AddHandler(informer.Handler[api.Object]{OnAdd: enqueue, OnUpdate: func(_, o api.Object) { enqueue(o) }, OnDelete: enqueue})
	inf.Pods.AddHandler(informer.Handler[*api.Pod]{
		OnAdd: c.podChanged,
		OnUpdate: func(old, cur *api.Pod) {
			c.podChanged(cur)
			if !maps.Equal(old.Labels, cur.Labels) {
				c.podChanged(old)
			}
		},
		OnDelete: c.podChanged,
	})
	// A workload's scale is the denominator of percentages and maxUnavailable.
	inf.ReplicaSets.AddHandler(informer.Handler[*api.ReplicaSet]{OnUpdate: func(_, rs *api.ReplicaSet) { c.namespaceChanged(rs.Namespace) }})
	inf.Deployments.AddHandler(informer.Handler[*api.Deployment]{OnUpdate: func(_, d *api.Deployment) { c.namespaceChanged(d.Namespace) }})
	inf.Jobs.AddHandler(informer.Handler[*api.Job]{OnUpdate: func(_, j *api.Job) { c.namespaceChanged(j.Namespace) }})
	return c, nil
}

// Run computes budgets until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// podChanged queues the budgets that select pod.
func (c *Controller) podChanged(pod *api.Pod) {
	for _, o := range c.pdbs.ListNamespace(pod.Namespace, nil) {
		pdb := o.(*api.PodDisruptionBudget)
		sel, err := api.SelectorOf(pdb.Spec.Selector)
		if err == nil && sel.Matches(labels.Set(pod.Labels)) {
			c.ctrl.Enqueue(informer.KeyOf(pdb))
		}
	}
}

func (c *Controller) namespaceChanged(ns string) {
	for _, o := range c.pdbs.ListNamespace(ns, nil) {
		c.ctrl.Enqueue(informer.KeyOf(o))
	}
}

// Reconcile computes one budget's status and writes it if it changed. The write carries
// the cached resourceVersion: an eviction that spent the budget meanwhile makes it a
// conflict, and the budget is computed again.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	o, ok := c.pdbs.Get(ns, name)
	if !ok {
		return nil
	}
	pdb := o.(*api.PodDisruptionBudget)
	var pods []*api.Pod
	if sel, err := api.SelectorOf(pdb.Spec.Selector); err == nil && !sel.Empty() {
		pods = c.inf.Pods.ListNamespace(ns, sel)
	}
	res := Compute(Snapshot{PDB: pdb, Pods: pods, ScaleOf: c.scaleOf, Now: c.cfg.Now()})
	if res.Err != nil {
		c.cfg.Logger.Warn("poddisruptionbudget not computed", "key", key, "err", res.Err)
	}
	if !SameStatus(&pdb.Status, &res.Status) {
		up := controller.Clone(pdb)
		up.Status = res.Status
		_, err := client.For[*api.PodDisruptionBudget](c.cfg.Client, "poddisruptionbudgets").Namespace(ns).UpdateStatus(ctx, up)
		if err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("update status of poddisruptionbudget %s: %w", key, err)
		}
	}
	if res.Err != nil {
		return res.Err
	}
	if res.RecheckAfter > 0 {
		c.ctrl.EnqueueAfter(key, res.RecheckAfter)
	}
	return nil
}

// scaleOf finds the replicas a pod's controller wants: its ReplicaSet's (or, for a
// ReplicaSet of a Deployment, the Deployment's), or a Job's parallelism.
func (c *Controller) scaleOf(pod *api.Pod, ref *api.OwnerReference) (Workload, bool) {
	switch ref.Kind {
	case "ReplicaSet":
		rs, ok := c.inf.ReplicaSets.Get(pod.Namespace, ref.Name)
		if !ok || rs.UID != ref.UID {
			return Workload{}, false
		}
		if dref := api.ControllerOf(&rs.ObjectMeta); dref != nil && dref.Kind == "Deployment" {
			d, ok := c.inf.Deployments.Get(pod.Namespace, dref.Name)
			if !ok || d.UID != dref.UID {
				return Workload{}, false
			}
			return Workload{UID: d.UID, Scale: api.Deref(d.Spec.Replicas, 1)}, true
		}
		return Workload{UID: rs.UID, Scale: api.Deref(rs.Spec.Replicas, 1)}, true
	case "Job":
		j, ok := c.inf.Jobs.Get(pod.Namespace, ref.Name)
		if !ok || j.UID != ref.UID {
			return Workload{}, false
		}
		return Workload{UID: j.UID, Scale: api.Deref(j.Spec.Parallelism, 1)}, true
	}
	return Workload{}, false
}
