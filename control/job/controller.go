// Package job owns the Job controller (batch/v1): it runs a Job's pods to completion, keeping
// min(parallelism, remaining completions) pods active, counting succeeded and failed pods,
// failing the Job past backoffLimit or activeDeadlineSeconds, marking it Complete, and
// deleting it ttlSecondsAfterFinished after it finished (the garbage collector then removes
// its pods through their ownerReferences), as Kubernetes' job and ttl-after-finished
// controllers. Compute is the pure core; Controller is the loop around it. It does not run
// pods: runners do, and report their phase.
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Name is the controller's name in logs and its event source.
const Name = "job-controller"

// Default back-off of pods replacing failed ones, as Kubernetes' job controller.
const (
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = 6 * time.Minute
)

// Event reasons, as Kubernetes words them.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonCompleted        = "Completed"
)

// Jobs is the typed client of Jobs.
func Jobs(c *client.Client) *client.Resource[*api.Job] { return client.For[*api.Job](c, "jobs") }

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes pods and Job status. Required.
	Client *client.Client
	// Informers are the shared caches (pods, jobs). Required.
	Informers *controller.Informers
	// Recorder receives events (none when nil).
	Recorder *client.Recorder
	// BackoffBase is the delay before a pod replaces a failed one (10s); it doubles with each
	// failure up to BackoffMax (6m), as in Kubernetes.
	BackoffBase, BackoffMax time.Duration
	// Workers is how many Jobs are reconciled in parallel (5).
	Workers int
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the Job controller loop.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	exp  *controller.Expectations
	pods *informer.Informer[*api.Pod]
	jobs *informer.Informer[*api.Job]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("job controller: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
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
		cfg:  cfg,
		exp:  controller.NewExpectations(controller.DefaultExpectationsTTL),
		pods: cfg.Informers.Pods,
		jobs: cfg.Informers.Jobs,
	}
	c.ctrl = controller.New(controller.Config{
		Name: "job", Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.pods, c.jobs},
	})
	c.jobs.AddHandler(informer.Handler[*api.Job]{
		OnAdd:    func(j *api.Job) { c.ctrl.Enqueue(informer.KeyOf(j)) },
		OnUpdate: func(_, j *api.Job) { c.ctrl.Enqueue(informer.KeyOf(j)) },
		OnDelete: func(j *api.Job) { c.exp.Forget(informer.KeyOf(j)) },
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
			}
		},
		OnUpdate: func(old, p *api.Pod) {
			if key, ok := owner(p); ok {
				if p.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
					c.exp.DeletionObserved(key, informer.KeyOf(p))
				}
				c.ctrl.Enqueue(key)
			}
		},
		OnDelete: func(p *api.Pod) {
			if key, ok := owner(p); ok {
				c.exp.DeletionObserved(key, informer.KeyOf(p))
				c.ctrl.Enqueue(key)
			}
		},
	})
	return c, nil
}

// owner is the key of the Job controlling p.
func owner(p *api.Pod) (string, bool) {
	ref := api.ControllerOf(&p.ObjectMeta)
	if ref == nil || ref.Kind != "Job" {
		return "", false
	}
	return informer.Key(p.Namespace, ref.Name), true
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Reconcile brings one Job's pods and status to what Compute says.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	j, ok := c.jobs.Get(ns, name)
	if !ok || j.DeletionTimestamp != nil {
		c.exp.Forget(key)
		return nil
	}
	now := c.cfg.Now()
	var pods []*api.Pod
	for _, p := range c.pods.ByIndex(informer.ControllerUIDIndex, j.UID) {
		pods = append(pods, p)
	}
	plan := Compute(Snapshot{Job: j, Pods: pods, Manage: c.exp.Satisfied(key, now), Now: now,
		Backoff: c.cfg.BackoffBase, BackoffMax: c.cfg.BackoffMax})
	if plan.DeleteJob {
		err := Jobs(c.cfg.Client).Namespace(ns).Delete(ctx, name, &api.DeleteOptions{
			Preconditions: &api.Preconditions{UID: api.Ptr(j.UID)}, PropagationPolicy: api.Ptr("Background")})
		if err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("delete finished job %s after its ttl: %w", key, err)
		}
		return nil
	}
	var manageErr error
	switch {
	case plan.Create > 0:
		manageErr = c.create(ctx, key, j, plan.Create, now)
	case len(plan.Delete) > 0:
		manageErr = c.delete(ctx, key, j, plan.Delete, now)
	}
	if !reflect.DeepEqual(j.Status, plan.Status) {
		up := controller.Clone(j)
		up.Status = plan.Status
		if _, err := Jobs(c.cfg.Client).Namespace(ns).UpdateStatus(ctx, up); err != nil && !api.IsNotFound(err) {
			return errors.Join(manageErr, fmt.Errorf("update status of job %s: %w", key, err))
		}
		if t, done := api.JobFinished(up); done {
			if _, was := api.JobFinished(j); !was {
				if t == api.JobComplete {
					c.event(j, api.EventNormal, ReasonCompleted, "Job completed")
				} else {
					c.event(j, api.EventWarning, up.Status.Conditions[len(up.Status.Conditions)-1].Reason,
						"%s", up.Status.Conditions[len(up.Status.Conditions)-1].Message)
				}
			}
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

func (c *Controller) create(ctx context.Context, key string, j *api.Job, n int, now time.Time) error {
	c.exp.Expect(key, n, nil, now)
	pods := client.Pods(c.cfg.Client).Namespace(j.Namespace)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range n {
		wg.Go(func() {
			pod, err := pods.Create(ctx, NewPod(j))
			if err != nil {
				c.exp.CreationObserved(key)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				c.event(j, api.EventWarning, ReasonFailedCreate, "Error creating: %v", err)
				return
			}
			c.event(j, api.EventNormal, ReasonSuccessfulCreate, "Created pod: %s", pod.Name)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("create pods of job %s: %w", key, errors.Join(errs...))
	}
	return nil
}

func (c *Controller) delete(ctx context.Context, key string, j *api.Job, victims []*api.Pod, now time.Time) error {
	keys := make([]string, len(victims))
	for i, p := range victims {
		keys[i] = informer.KeyOf(p)
	}
	c.exp.Expect(key, 0, keys, now)
	pods := client.Pods(c.cfg.Client).Namespace(j.Namespace)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i, p := range victims {
		wg.Go(func() {
			err := pods.Delete(ctx, p.Name, &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr(p.UID)}})
			if err != nil {
				c.exp.DeletionObserved(key, keys[i])
				if !api.IsNotFound(err) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				return
			}
			c.event(j, api.EventNormal, ReasonSuccessfulDelete, "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("delete pods of job %s: %w", key, errors.Join(errs...))
	}
	return nil
}

func (c *Controller) event(obj api.Object, typ, reason, format string, args ...any) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(obj, typ, reason, format, args...)
	}
}
