// Package deployment owns the deployment controller: it rolls a Deployment's pod template out
// through ReplicaSets named "<deployment>-<pod-template-hash>", as Kubernetes' deployment
// controller does: RollingUpdate within maxSurge and maxUnavailable (old pods go only as new
// ones become available), Recreate (old pods gone before new ones start), proportional
// scaling when spec.replicas changes mid-rollout, pausing, revision annotations (an undo that
// brings an old template back re-uses its ReplicaSet under a new revision), history cleanup,
// and status with the Available and Progressing conditions. Compute is the pure core;
// Controller is the loop around it. It does not manage pods: the replicaset controller does.
package deployment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Name is the controller's event source.
const Name = "deployment-controller"

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes ReplicaSets and Deployments. Required.
	Client *client.Client
	// Informers are the shared caches (deployments, replicasets, pods). Required.
	Informers *controller.Informers
	// Recorder receives events (none when nil).
	Recorder *client.Recorder
	// Workers is how many Deployments are reconciled in parallel (5).
	Workers int
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the deployment controller loop.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	ds   *informer.Informer[*api.Deployment]
	rss  *informer.Informer[*api.ReplicaSet]
	pods *informer.Informer[*api.Pod]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("deployment controller: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{cfg: cfg, ds: cfg.Informers.Deployments, rss: cfg.Informers.ReplicaSets, pods: cfg.Informers.Pods}
	c.ctrl = controller.New(controller.Config{
		Name: "deployment", Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.ds, c.rss, c.pods},
	})
	enqueue := func(d *api.Deployment) { c.ctrl.Enqueue(informer.KeyOf(d)) }
	c.ds.AddHandler(informer.Handler[*api.Deployment]{
		OnAdd: enqueue, OnUpdate: func(_, d *api.Deployment) { enqueue(d) }, OnDelete: enqueue,
	})
	c.rss.AddHandler(informer.Handler[*api.ReplicaSet]{
		OnAdd: c.rsChanged,
		OnUpdate: func(old, cur *api.ReplicaSet) {
			if ref := api.ControllerOf(&old.ObjectMeta); ref != nil && !api.IsControlledBy(&cur.ObjectMeta, ref.UID) {
				c.rsChanged(old)
			}
			c.rsChanged(cur)
		},
		OnDelete: c.rsChanged,
	})
	c.pods.AddHandler(informer.Handler[*api.Pod]{OnDelete: c.podDeleted})
	return c, nil
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// owner is the Deployment controlling rs, if it exists.
func (c *Controller) owner(m *api.ObjectMeta) (*api.Deployment, bool) {
	ref := api.ControllerOf(m)
	if ref == nil || ref.Kind != "Deployment" {
		return nil, false
	}
	d, ok := c.ds.Get(m.Namespace, ref.Name)
	if !ok || d.UID != ref.UID {
		return nil, false
	}
	return d, true
}

func (c *Controller) rsChanged(rs *api.ReplicaSet) {
	if d, ok := c.owner(&rs.ObjectMeta); ok {
		c.ctrl.Enqueue(informer.KeyOf(d))
		return
	}
	if api.ControllerOf(&rs.ObjectMeta) != nil {
		return
	}
	// An orphan: every Deployment that selects it may adopt it.
	for _, d := range c.ds.ListNamespace(rs.Namespace, nil) {
		sel, err := api.SelectorOf(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.ctrl.Enqueue(informer.KeyOf(d))
		}
	}
}

// podDeleted wakes a Recreate Deployment once its old pods are gone.
func (c *Controller) podDeleted(p *api.Pod) {
	ref := api.ControllerOf(&p.ObjectMeta)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, ok := c.rss.Get(p.Namespace, ref.Name)
	if !ok || rs.UID != ref.UID {
		return
	}
	if d, ok := c.owner(&rs.ObjectMeta); ok && d.Spec.Strategy.Type == api.RecreateStrategy {
		c.ctrl.Enqueue(informer.KeyOf(d))
	}
}

// Reconcile takes one step for one Deployment and writes the result.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	d, ok := c.ds.Get(ns, name)
	if !ok {
		return nil
	}
	rss := c.rss.ListNamespace(ns, nil)
	pods := map[string][]*api.Pod{}
	for _, rs := range rss {
		if api.IsControlledBy(&rs.ObjectMeta, d.UID) {
			pods[rs.UID] = c.pods.ByIndex(informer.ControllerUIDIndex, rs.UID)
		}
	}
	plan := Compute(Snapshot{Deployment: d, ReplicaSets: rss, Pods: pods, Now: c.cfg.Now()})
	if err := c.apply(ctx, d, &plan); err != nil {
		return err
	}
	for _, e := range plan.Events {
		c.event(d, e.Type, e.Reason, "%s", e.Message)
	}
	if plan.RequeueAfter > 0 {
		c.ctrl.EnqueueAfter(key, plan.RequeueAfter)
	}
	return nil
}

func (c *Controller) apply(ctx context.Context, d *api.Deployment, plan *Plan) error {
	key := informer.KeyOf(d)
	rsAPI := client.ReplicaSets(c.cfg.Client).Namespace(d.Namespace)
	dAPI := client.Deployments(c.cfg.Client).Namespace(d.Namespace)
	if len(plan.Adopt)+len(plan.Release) > 0 {
		if len(plan.Adopt) > 0 {
			fresh, err := dAPI.Get(ctx, d.Name)
			if err != nil {
				return fmt.Errorf("recheck deployment %s before adopting: %w", key, err)
			}
			if fresh.UID != d.UID || fresh.DeletionTimestamp != nil {
				return fmt.Errorf("adopt replicasets into deployment %s: it was deleted or replaced", key)
			}
		}
		for _, rs := range append(plan.Adopt, plan.Release...) {
			if _, err := rsAPI.Update(ctx, rs); err != nil && !api.IsNotFound(err) {
				return fmt.Errorf("claim replicaset %s/%s for deployment %s: %w", rs.Namespace, rs.Name, key, err)
			}
		}
		c.ctrl.Enqueue(key)
		return nil
	}
	if plan.Create != nil {
		if done, err := c.create(ctx, d, plan.Create); done || err != nil {
			return err
		}
	}
	for _, rs := range plan.Update {
		if _, err := rsAPI.Update(ctx, rs); err != nil {
			return fmt.Errorf("update replicaset %s/%s of deployment %s: %w", rs.Namespace, rs.Name, key, err)
		}
	}
	for _, rs := range plan.Delete {
		err := rsAPI.Delete(ctx, rs.Name, &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr(rs.UID)}})
		if err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("clean up old replicaset %s/%s of deployment %s: %w", rs.Namespace, rs.Name, key, err)
		}
	}
	cur := d
	if plan.Annotations != nil {
		up := controller.Clone(d)
		up.Annotations = plan.Annotations
		var err error
		if cur, err = dAPI.Update(ctx, up); err != nil {
			return fmt.Errorf("update revision of deployment %s: %w", key, err)
		}
	}
	if plan.Status != nil {
		up := controller.Clone(cur)
		up.Status = *plan.Status
		if _, err := dAPI.UpdateStatus(ctx, up); err != nil {
			return fmt.Errorf("update status of deployment %s: %w", key, err)
		}
	}
	return nil
}

// create creates the new ReplicaSet. done means the reconcile must end here without error:
// the ReplicaSet already exists and the cache has not seen it yet.
func (c *Controller) create(ctx context.Context, d *api.Deployment, rs *api.ReplicaSet) (done bool, err error) {
	key := informer.KeyOf(d)
	rsAPI := client.ReplicaSets(c.cfg.Client).Namespace(d.Namespace)
	dAPI := client.Deployments(c.cfg.Client).Namespace(d.Namespace)
	_, err = rsAPI.Create(ctx, rs)
	switch {
	case err == nil:
		return false, nil
	case api.IsAlreadyExists(err):
		got, gerr := rsAPI.Get(ctx, rs.Name)
		if gerr != nil {
			return false, fmt.Errorf("read existing replicaset %s/%s: %w", rs.Namespace, rs.Name, gerr)
		}
		if api.IsControlledBy(&got.ObjectMeta, d.UID) && EqualIgnoreHash(&got.Spec.Template, &d.Spec.Template) {
			c.ctrl.Enqueue(key)
			return true, nil
		}
		// A different template hashed to the same name: count the collision so the next hash
		// differs.
		up := controller.Clone(d)
		up.Status.CollisionCount = api.Ptr(api.Deref(d.Status.CollisionCount, 0) + 1)
		if _, uerr := dAPI.UpdateStatus(ctx, up); uerr != nil {
			return false, fmt.Errorf("record hash collision of deployment %s: %w", key, uerr)
		}
		return false, fmt.Errorf("create replicaset %s/%s: hash collision: %w", rs.Namespace, rs.Name, err)
	default:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			up := controller.Clone(d)
			setCondition(&up.Status, newCondition(api.DeploymentProgressing, api.ConditionFalse, ReasonReplicaSetCreateError, msg, c.cfg.Now()))
			_, _ = dAPI.UpdateStatus(ctx, up)
		}
		c.event(d, api.EventWarning, ReasonReplicaSetCreateError, "%s", msg)
		return false, fmt.Errorf("create replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
	}
}

func (c *Controller) event(obj api.Object, typ, reason, format string, args ...any) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(obj, typ, reason, format, args...)
	}
}
