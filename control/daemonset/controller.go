// Package daemonset owns the DaemonSet controller (apps/v1): one pod on every node the
// DaemonSet's template may run on, as Kubernetes' daemonset controller. Pods are created with
// a required node affinity for their node's name and bound by the scheduler; they are
// deleted from nodes that no longer qualify (a NoExecute taint they do not tolerate, a label
// that no longer matches), failed ones are replaced after a back-off, and a template change
// is rolled out node by node within maxUnavailable or maxSurge (or, with OnDelete, only to
// pods deleted by hand). Compute is the pure core; Controller is the loop around it.
//
// Revisions are told apart by the controller-revision-hash label (the template's hash) and
// the pod-template-generation label; ControllerRevision objects are not kept, so there is no
// rollout history or undo for DaemonSets.
package daemonset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/deployment"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/control/replicaset"
)

// Name is the controller's name in logs and its event source.
const Name = "daemonset-controller"

// Event reasons, as Kubernetes words them.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDaemonPod  = "FailedDaemonPod"
)

// Back-off of replacing a failed pod on one node, as Kubernetes' failedPodsBackoff.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 15 * time.Minute
)

// BurstPods bounds the pods created or deleted in one reconcile (Kubernetes' BurstReplicas).
const BurstPods = 250

// DaemonSets is the typed client of DaemonSets.
func DaemonSets(c *client.Client) *client.Resource[*api.DaemonSet] {
	return client.For[*api.DaemonSet](c, "daemonsets")
}

// TemplateHash is the controller-revision-hash of a DaemonSet's current template.
func TemplateHash(ds *api.DaemonSet) string {
	return deployment.TemplateHash(&ds.Spec.Template, ds.Status.CollisionCount)
}

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes pods and DaemonSet status. Required.
	Client *client.Client
	// Informers are the shared caches (pods, nodes, daemonsets). Required.
	Informers *controller.Informers
	// Recorder receives events (none when nil).
	Recorder *client.Recorder
	// BackoffBase is the delay before a failed pod on a node is replaced again (1s); it
	// doubles with each failure there up to BackoffMax (15m).
	BackoffBase, BackoffMax time.Duration
	// Workers is how many DaemonSets are reconciled in parallel (2).
	Workers int
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the DaemonSet controller loop.
type Controller struct {
	cfg   Config
	ctrl  *controller.Controller
	exp   *controller.Expectations
	pods  *informer.Informer[*api.Pod]
	nodes *informer.Informer[*api.Node]
	dss   *informer.Informer[*api.DaemonSet]

	mu      sync.Mutex
	backoff map[string]backoff // by "namespace/name/node"
}

type backoff struct {
	delay time.Duration
	until time.Time
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("daemonset controller: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Controller{
		cfg:     cfg,
		exp:     controller.NewExpectations(controller.DefaultExpectationsTTL),
		pods:    cfg.Informers.Pods,
		nodes:   cfg.Informers.Nodes,
		dss:     cfg.Informers.DaemonSets,
		backoff: map[string]backoff{},
	}
	c.ctrl = controller.New(controller.Config{
		Name: "daemonset", Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.pods, c.nodes, c.dss},
	})
	c.dss.AddHandler(informer.Handler[*api.DaemonSet]{
		OnAdd:    func(ds *api.DaemonSet) { c.ctrl.Enqueue(informer.KeyOf(ds)) },
		OnUpdate: func(_, ds *api.DaemonSet) { c.ctrl.Enqueue(informer.KeyOf(ds)) },
		OnDelete: func(ds *api.DaemonSet) { c.forget(informer.KeyOf(ds)) },
	})
	c.pods.AddHandler(informer.Handler[*api.Pod]{
		OnAdd: func(p *api.Pod) {
			if key, ok := owner(p); ok {
				if p.DeletionTimestamp == nil {
					c.exp.CreationObserved(key)
				} else {
					c.exp.DeletionObserved(key, informer.KeyOf(p))
				}
				c.ctrl.Enqueue(key)
			} else {
				c.enqueueMatching(p)
			}
		},
		OnUpdate: func(old, p *api.Pod) {
			if key, ok := owner(p); ok {
				if p.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
					c.exp.DeletionObserved(key, informer.KeyOf(p))
				}
				c.ctrl.Enqueue(key)
			} else {
				c.enqueueMatching(p)
			}
			if key, ok := owner(old); ok {
				if now, _ := owner(p); now != key {
					c.ctrl.Enqueue(key) // released
				}
			}
		},
		OnDelete: func(p *api.Pod) {
			if key, ok := owner(p); ok {
				c.exp.DeletionObserved(key, informer.KeyOf(p))
				c.ctrl.Enqueue(key)
			}
		},
	})
	c.nodes.AddHandler(informer.Handler[*api.Node]{
		OnAdd: func(*api.Node) { c.enqueueAll() },
		OnUpdate: func(old, n *api.Node) {
			if nodeChanged(old, n) {
				c.enqueueAll()
			}
		},
		OnDelete: func(*api.Node) { c.enqueueAll() },
	})
	return c, nil
}

// nodeChanged reports whether a node update may change where daemon pods run: its labels,
// taints, readiness or schedulability, not its heartbeats (Kubernetes' shouldIgnoreNodeUpdate;
// readiness stands for the condition taints Kubernetes' nodes carry).
func nodeChanged(old, n *api.Node) bool {
	return !maps.Equal(old.Labels, n.Labels) || !reflect.DeepEqual(old.Spec.Taints, n.Spec.Taints) ||
		old.Spec.Unschedulable != n.Spec.Unschedulable || readyStatus(old) != readyStatus(n)
}

// enqueueMatching queues the DaemonSets that may adopt p, an orphan.
func (c *Controller) enqueueMatching(p *api.Pod) {
	if api.ControllerOf(&p.ObjectMeta) != nil || p.DeletionTimestamp != nil {
		return
	}
	for _, ds := range c.dss.List() {
		if ds.Namespace != p.Namespace {
			continue
		}
		if sel, err := api.SelectorOf(ds.Spec.Selector); err == nil && sel.Matches(labels.Set(p.Labels)) {
			c.ctrl.Enqueue(informer.KeyOf(ds))
		}
	}
}

func (c *Controller) enqueueAll() {
	for _, ds := range c.dss.List() {
		c.ctrl.Enqueue(informer.KeyOf(ds))
	}
}

func (c *Controller) forget(key string) {
	c.exp.Forget(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.backoff {
		if len(k) > len(key) && k[:len(key)] == key && k[len(key)] == '/' {
			delete(c.backoff, k)
		}
	}
}

// owner is the key of the DaemonSet controlling p.
func owner(p *api.Pod) (string, bool) {
	ref := api.ControllerOf(&p.ObjectMeta)
	if ref == nil || ref.Kind != "DaemonSet" {
		return "", false
	}
	return informer.Key(p.Namespace, ref.Name), true
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Reconcile brings one DaemonSet's pods and status to what Compute says.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	ds, ok := c.dss.Get(ns, name)
	if !ok || ds.DeletionTimestamp != nil {
		c.forget(key)
		return nil
	}
	now := c.cfg.Now()
	pods, err := c.claim(ctx, ds)
	if err != nil {
		return err
	}
	hash := TemplateHash(ds)
	plan := Compute(Snapshot{DaemonSet: ds, Nodes: c.nodes.List(), Pods: pods, Hash: hash,
		Manage: c.exp.Satisfied(key, now), BackoffUntil: c.backoffs(key), Now: now})
	c.noteFailures(key, plan.FailedOn, now)

	create, del := plan.Create, plan.Delete
	if len(create) > BurstPods {
		create = create[:BurstPods]
	}
	if len(del) > BurstPods {
		del = del[:BurstPods]
	}
	var manageErr error
	if len(create)+len(del) > 0 {
		keys := make([]string, len(del))
		for i, p := range del {
			keys[i] = informer.KeyOf(p)
		}
		c.exp.Expect(key, len(create), keys, now)
		manageErr = errors.Join(c.delete(ctx, key, ds, del, keys), c.create(ctx, key, ds, create, hash))
	}
	if !reflect.DeepEqual(ds.Status, plan.Status) {
		up := controller.Clone(ds)
		up.Status = plan.Status
		if _, err := DaemonSets(c.cfg.Client).Namespace(ns).UpdateStatus(ctx, up); err != nil && !api.IsNotFound(err) {
			return errors.Join(manageErr, fmt.Errorf("update status of daemonset %s: %w", key, err))
		}
	}
	if manageErr != nil {
		return manageErr
	}
	if len(create) < len(plan.Create) || len(del) < len(plan.Delete) {
		c.ctrl.Enqueue(key)
	}
	if plan.RequeueAfter > 0 {
		c.ctrl.EnqueueAfter(key, plan.RequeueAfter)
	}
	return nil
}

// claim returns the pods ds controls, after adopting the orphans its selector matches and
// releasing the pods it controls that no longer match, as Kubernetes' ClaimPods (an
// adoption first checks with a live read that ds is still the one cached and not being
// deleted).
func (c *Controller) claim(ctx context.Context, ds *api.DaemonSet) ([]*api.Pod, error) {
	sel, err := api.SelectorOf(ds.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	candidates := c.pods.ByIndex(informer.ControllerUIDIndex, ds.UID)
	for _, p := range c.pods.ListNamespace(ds.Namespace, sel) {
		if api.ControllerOf(&p.ObjectMeta) == nil {
			candidates = append(candidates, p)
		}
	}
	claimed := controller.ClaimObjects(&ds.ObjectMeta, sel, candidates)
	if len(claimed.Adopt)+len(claimed.Release) == 0 {
		return claimed.Owned, nil
	}
	pods := client.Pods(c.cfg.Client).Namespace(ds.Namespace)
	if len(claimed.Adopt) > 0 {
		fresh, err := DaemonSets(c.cfg.Client).Namespace(ds.Namespace).Get(ctx, ds.Name)
		if err != nil {
			return nil, fmt.Errorf("recheck daemonset %s/%s before adopting: %w", ds.Namespace, ds.Name, err)
		}
		if fresh.UID != ds.UID || fresh.DeletionTimestamp != nil {
			return nil, fmt.Errorf("adopt pods into daemonset %s/%s: it was deleted or replaced", ds.Namespace, ds.Name)
		}
		ref := controller.ControllerRef(&ds.ObjectMeta, "apps/v1", "DaemonSet")
		for _, p := range claimed.Adopt {
			up := controller.Clone(p)
			up.OwnerReferences = controller.Adopted(&up.ObjectMeta, ref)
			if _, err := pods.Update(ctx, up); err != nil {
				return nil, fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
			}
		}
	}
	for _, p := range claimed.Release {
		up := controller.Clone(p)
		up.OwnerReferences = controller.Released(&up.ObjectMeta, ds.UID)
		if _, err := pods.Update(ctx, up); err != nil && !api.IsNotFound(err) {
			return nil, fmt.Errorf("release pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return claimed.Owned, nil
}

func (c *Controller) backoffs(key string) map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m map[string]time.Time
	for k, b := range c.backoff {
		if len(k) > len(key) && k[:len(key)] == key && k[len(key)] == '/' {
			if m == nil {
				m = map[string]time.Time{}
			}
			m[k[len(key)+1:]] = b.until
		}
	}
	return m
}

// noteFailures doubles the back-off of the nodes whose failed pod is being replaced.
func (c *Controller) noteFailures(key string, nodes []string, now time.Time) {
	if len(nodes) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		k := key + "/" + n
		b, ok := c.backoff[k]
		switch {
		case !ok || now.Sub(b.until) > 2*c.cfg.BackoffMax:
			b.delay = c.cfg.BackoffBase
		default:
			b.delay = min(2*b.delay, c.cfg.BackoffMax)
		}
		b.until = now.Add(b.delay)
		c.backoff[k] = b
	}
}

// create makes pods for nodes in batches of 1, 2, 4, ..., stopping at the first batch with
// an error; creations not attempted are marked observed so the expectations clear.
func (c *Controller) create(ctx context.Context, key string, ds *api.DaemonSet, nodes []string, hash string) error {
	pods := client.Pods(c.cfg.Client).Namespace(ds.Namespace)
	var errs []error
	done := 0
	for _, n := range replicaset.SlowStartBatches(len(nodes)) {
		if len(errs) > 0 {
			break
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, node := range nodes[done : done+n] {
			wg.Go(func() {
				pod, err := pods.Create(ctx, NewPod(ds, node, hash))
				if err != nil {
					c.exp.CreationObserved(key)
					c.event(ds, api.EventWarning, ReasonFailedCreate, "Error creating: %v", err)
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				c.event(ds, api.EventNormal, ReasonSuccessfulCreate, "Created pod: %s", pod.Name)
			})
		}
		wg.Wait()
		done += n
	}
	for range nodes[done:] {
		c.exp.CreationObserved(key)
	}
	if len(errs) > 0 {
		return fmt.Errorf("create pods of daemonset %s: %w", key, errors.Join(errs...))
	}
	return nil
}

func (c *Controller) delete(ctx context.Context, key string, ds *api.DaemonSet, victims []*api.Pod, keys []string) error {
	pods := client.Pods(c.cfg.Client).Namespace(ds.Namespace)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i, p := range victims {
		wg.Go(func() {
			if p.Status.Phase == api.PodFailed {
				c.event(ds, api.EventWarning, ReasonFailedDaemonPod,
					"Found failed daemon pod %s on node %s, will try to kill it", keys[i], p.Spec.NodeName)
			}
			err := pods.Delete(ctx, p.Name, &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr(p.UID)}})
			if err != nil {
				c.exp.DeletionObserved(key, keys[i])
				if !api.IsNotFound(err) && !api.IsConflict(err) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				return
			}
			c.event(ds, api.EventNormal, ReasonSuccessfulDelete, "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("delete pods of daemonset %s: %w", key, errors.Join(errs...))
	}
	return nil
}

func (c *Controller) event(obj api.Object, typ, reason, format string, args ...any) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(obj, typ, reason, format, args...)
	}
}
