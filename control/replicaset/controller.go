// Package replicaset owns the replicaset controller: it keeps spec.replicas pods that match a
// ReplicaSet's selector and are controlled by it, adopting matching orphans and releasing pods
// that stop matching, creating pods from the template in slow-start batches and deleting the
// best candidates first, and reports replicas, ready and available counts in the status, as
// Kubernetes' replicaset controller. Compute and Status are the pure core; Controller is the
// loop around them. It does not schedule or run pods.
package replicaset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Name is the controller's name in logs and its event source.
const Name = "replicaset-controller"

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes pods and ReplicaSet status. Required.
	Client *client.Client
	// Informers are the shared caches (pods, replicasets). Required.
	Informers *controller.Informers
	// Recorder receives events (none when nil).
	Recorder *client.Recorder
	// Workers is how many ReplicaSets are reconciled in parallel (5).
	Workers int
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the replicaset controller loop.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	exp  *controller.Expectations
	pods *informer.Informer[*api.Pod]
	rss  *informer.Informer[*api.ReplicaSet]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("replicaset controller: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{
		cfg:  cfg,
		exp:  controller.NewExpectations(controller.DefaultExpectationsTTL),
		pods: cfg.Informers.Pods,
		rss:  cfg.Informers.ReplicaSets,
	}
	c.ctrl = controller.New(controller.Config{
		Name: "replicaset", Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.pods, c.rss},
	})
	c.rss.AddHandler(informer.Handler[*api.ReplicaSet]{
		OnAdd:    func(rs *api.ReplicaSet) { c.ctrl.Enqueue(informer.KeyOf(rs)) },
		OnUpdate: func(_, rs *api.ReplicaSet) { c.ctrl.Enqueue(informer.KeyOf(rs)) },
		OnDelete: func(rs *api.ReplicaSet) {
			c.exp.Forget(informer.KeyOf(rs))
			c.ctrl.Enqueue(informer.KeyOf(rs))
		},
	})
	c.pods.AddHandler(informer.Handler[*api.Pod]{OnAdd: c.podAdded, OnUpdate: c.podUpdated, OnDelete: c.podDeleted})
	return c, nil
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Expectations exposes the controller's expectations, for tests.
func (c *Controller) Expectations() *controller.Expectations { return c.exp }

// owner is the key of pod's controlling ReplicaSet, if it is one that exists.
func (c *Controller) owner(pod *api.Pod) (string, bool) {
	ref := api.ControllerOf(&pod.ObjectMeta)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return "", false
	}
	rs, ok := c.rss.Get(pod.Namespace, ref.Name)
	if !ok || rs.UID != ref.UID {
		return "", false
	}
	return informer.KeyOf(rs), true
}

// enqueueSelecting queues every ReplicaSet of pod's namespace whose selector matches it, so an
// orphan can be adopted.
func (c *Controller) enqueueSelecting(pod *api.Pod) {
	for _, rs := range c.rss.ListNamespace(pod.Namespace, nil) {
		sel, err := api.SelectorOf(rs.Spec.Selector)
		if err == nil && sel.Matches(labels.Set(pod.Labels)) {
			c.ctrl.Enqueue(informer.KeyOf(rs))
		}
	}
}

func (c *Controller) podAdded(pod *api.Pod) {
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already terminating (a restart): count it as a deletion.
		c.podDeleted(pod)
		return
	}
	if key, ok := c.owner(pod); ok {
		c.exp.CreationObserved(key)
		c.ctrl.Enqueue(key)
		return
	}
	if api.ControllerOf(&pod.ObjectMeta) == nil {
		c.enqueueSelecting(pod)
	}
}

func (c *Controller) podUpdated(old, cur *api.Pod) {
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		c.podDeleted(cur)
	}
	oldKey, oldOK := c.owner(old)
	curKey, curOK := c.owner(cur)
	if oldOK && (!curOK || oldKey != curKey) {
		c.ctrl.Enqueue(oldKey)
	}
	if curOK {
		c.ctrl.Enqueue(curKey)
		return
	}
	if api.ControllerOf(&cur.ObjectMeta) == nil {
		c.enqueueSelecting(cur)
	}
}

func (c *Controller) podDeleted(pod *api.Pod) {
	ref := api.ControllerOf(&pod.ObjectMeta)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	key := informer.Key(pod.Namespace, ref.Name)
	c.exp.DeletionObserved(key, informer.KeyOf(pod))
	c.ctrl.Enqueue(key)
}

// Reconcile brings one ReplicaSet to its desired pods and writes its status.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	rs, ok := c.rss.Get(ns, name)
	if !ok {
		c.exp.Forget(key)
		return nil
	}
	now := c.cfg.Now()
	plan := Compute(Snapshot{
		RS:      rs,
		Pods:    c.pods.ListNamespace(ns, nil),
		Related: c.related(rs),
		Manage:  c.exp.Satisfied(key, now),
		Now:     now,
	})
	if plan.Err != nil {
		c.cfg.Logger.Warn("replicaset not managed", "key", key, "err", plan.Err)
		return nil
	}
	if err := c.claim(ctx, rs, &plan); err != nil {
		return err
	}
	var manageErr error
	switch {
	case plan.Create > 0:
		manageErr = c.create(ctx, key, rs, plan.Create, now)
	case len(plan.Delete) > 0:
		manageErr = c.delete(ctx, key, rs, plan.Delete, now)
	}
	st := Status(rs, plan.Owned, manageErr, c.cfg.Now())
	if !sameStatus(&rs.Status, &st) {
		up := controller.Clone(rs)
		up.Status = st
		if _, err := client.ReplicaSets(c.cfg.Client).Namespace(ns).UpdateStatus(ctx, up); err != nil && !api.IsNotFound(err) {
			return errors.Join(manageErr, fmt.Errorf("update status of replicaset %s: %w", key, err))
		}
	}
	if manageErr != nil {
		return manageErr
	}
	if plan.RequeueAfter > 0 {
		c.ctrl.EnqueueAfter(key, plan.RequeueAfter)
	}
	return nil
}

// related are the pods of rs and of the ReplicaSets that share its controller.
func (c *Controller) related(rs *api.ReplicaSet) []*api.Pod {
	ref := api.ControllerOf(&rs.ObjectMeta)
	if ref == nil {
		return nil
	}
	var out []*api.Pod
	for _, sib := range c.rss.ByIndex(informer.ControllerUIDIndex, ref.UID) {
		out = append(out, c.pods.ByIndex(informer.ControllerUIDIndex, sib.UID)...)
	}
	return out
}

// claim writes the plan's adoptions (after checking with a live read that the ReplicaSet is
// still the one in the cache and not being deleted) and releases.
func (c *Controller) claim(ctx context.Context, rs *api.ReplicaSet, plan *Plan) error {
	if len(plan.Adopt)+len(plan.Release) == 0 {
		return nil
	}
	pods := client.Pods(c.cfg.Client).Namespace(rs.Namespace)
	if len(plan.Adopt) > 0 {
		fresh, err := client.ReplicaSets(c.cfg.Client).Namespace(rs.Namespace).Get(ctx, rs.Name)
		if err != nil {
			return fmt.Errorf("recheck replicaset %s/%s before adopting: %w", rs.Namespace, rs.Name, err)
		}
		if fresh.UID != rs.UID || fresh.DeletionTimestamp != nil {
			return fmt.Errorf("adopt pods into replicaset %s/%s: it was deleted or replaced", rs.Namespace, rs.Name)
		}
		ref := controller.ControllerRef(&rs.ObjectMeta, "apps/v1", "ReplicaSet")
		for _, p := range plan.Adopt {
			up := controller.Clone(p)
			up.OwnerReferences = controller.Adopted(&up.ObjectMeta, ref)
			if _, err := pods.Update(ctx, up); err != nil {
				return fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
			}
		}
	}
	for _, p := range plan.Release {
		up := controller.Clone(p)
		up.OwnerReferences = controller.Released(&up.ObjectMeta, rs.UID)
		if _, err := pods.Update(ctx, up); err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("release pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return nil
}

// create creates n pods in slow-start batches; it stops at the first batch with a failure
// and tells the expectations that the skipped pods will never be seen.
func (c *Controller) create(ctx context.Context, key string, rs *api.ReplicaSet, n int, now time.Time) error {
	c.exp.Expect(key, n, nil, now)
	pods := client.Pods(c.cfg.Client).Namespace(rs.Namespace)
	done := 0
	var firstErr error
	for _, batch := range SlowStartBatches(n) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range batch {
			wg.Go(func() {
				pod, err := pods.Create(ctx, NewPod(rs))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					c.exp.CreationObserved(key)
					if firstErr == nil {
						firstErr = err
					}
					c.event(rs, api.EventWarning, ReasonFailedCreate, "Error creating: %v", err)
					return
				}
				c.event(rs, api.EventNormal, "SuccessfulCreate", "Created pod: %s", pod.Name)
			})
		}
		wg.Wait()
		done += batch
		if firstErr != nil {
			for range n - done {
				c.exp.CreationObserved(key)
			}
			return fmt.Errorf("create pods of replicaset %s: %w", key, firstErr)
		}
	}
	return nil
}

// delete deletes the chosen pods in parallel.
func (c *Controller) delete(ctx context.Context, key string, rs *api.ReplicaSet, victims []*api.Pod, now time.Time) error {
	keys := make([]string, len(victims))
	for i, p := range victims {
		keys[i] = informer.KeyOf(p)
	}
	c.exp.Expect(key, 0, keys, now)
	pods := client.Pods(c.cfg.Client).Namespace(rs.Namespace)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i, p := range victims {
		wg.Go(func() {
			err := pods.Delete(ctx, p.Name, &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr(p.UID)}})
			if err != nil {
				c.exp.DeletionObserved(key, keys[i])
				if api.IsNotFound(err) {
					return
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				c.event(rs, api.EventWarning, ReasonFailedDelete, "Error deleting: %v", err)
				return
			}
			c.event(rs, api.EventNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("delete pods of replicaset %s: %w", key, errors.Join(errs...))
	}
	return nil
}

func (c *Controller) event(obj api.Object, typ, reason, format string, args ...any) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(obj, typ, reason, format, args...)
	}
}

func sameStatus(a, b *api.ReplicaSetStatus) bool {
	if a.Replicas != b.Replicas || a.FullyLabeledReplicas != b.FullyLabeledReplicas ||
		a.ReadyReplicas != b.ReadyReplicas || a.AvailableReplicas != b.AvailableReplicas ||
		a.ObservedGeneration != b.ObservedGeneration || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message ||
			!x.LastTransitionTime.Equal(y.LastTransitionTime.Time) {
			return false
		}
	}
	return true
}
