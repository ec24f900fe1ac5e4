// Package cronjob owns the CronJob controller (batch/v1): at each time a CronJob's schedule
// names it creates a Job from the jobTemplate (honouring startingDeadlineSeconds,
// concurrencyPolicy and suspend), tracks the Jobs it started in status.active, and deletes
// finished Jobs past the history limits, as Kubernetes' cronjob controller (v2). Compute is
// the pure core with the time as input; Controller is the loop around it and requeues each
// CronJob at its next scheduled time. It does not run Jobs: the job controller does.
package cronjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Name is the controller's name in logs and its event source.
const Name = "cronjob-controller"

// Event reasons of writes, as Kubernetes words them.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

// CronJobs is the typed client of CronJobs.
func CronJobs(c *client.Client) *client.Resource[*api.CronJob] {
	return client.For[*api.CronJob](c, "cronjobs")
}

func jobs(c *client.Client) *client.Resource[*api.Job] { return client.For[*api.Job](c, "jobs") }

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes Jobs and CronJob status. Required.
	Client *client.Client
	// Informers are the shared caches (jobs, cronjobs). Required.
	Informers *controller.Informers
	// Recorder receives events (none when nil).
	Recorder *client.Recorder
	// Workers is how many CronJobs are reconciled in parallel (5).
	Workers int
	// Now is the clock that decides which runs are due (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the CronJob controller loop.
type Controller struct {
	cfg      Config
	ctrl     *controller.Controller
	jobs     *informer.Informer[*api.Job]
	cronJobs *informer.Informer[*api.CronJob]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("cronjob controller: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Controller{cfg: cfg, jobs: cfg.Informers.Jobs, cronJobs: cfg.Informers.CronJobs}
	c.ctrl = controller.New(controller.Config{
		Name: "cronjob", Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.jobs, c.cronJobs},
	})
	c.cronJobs.AddHandler(informer.Handler[*api.CronJob]{
		OnAdd:    func(cj *api.CronJob) { c.ctrl.Enqueue(informer.KeyOf(cj)) },
		OnUpdate: func(_, cj *api.CronJob) { c.ctrl.Enqueue(informer.KeyOf(cj)) },
	})
	enqueueOwner := func(j *api.Job) {
		if ref := api.ControllerOf(&j.ObjectMeta); ref != nil && ref.Kind == "CronJob" {
			c.ctrl.Enqueue(informer.Key(j.Namespace, ref.Name))
		}
	}
	c.jobs.AddHandler(informer.Handler[*api.Job]{
		OnAdd:    enqueueOwner,
		OnUpdate: func(_, j *api.Job) { enqueueOwner(j) },
		OnDelete: enqueueOwner,
	})
	return c, nil
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Reconcile brings one CronJob's Jobs and status to what Compute says.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	cj, ok := c.cronJobs.Get(ns, name)
	if !ok {
		return nil
	}
	snap := Snapshot{CronJob: cj, Now: c.cfg.Now()}
	seen := map[string]bool{}
	for _, j := range c.jobs.ByIndex(informer.ControllerUIDIndex, cj.UID) {
		snap.Jobs = append(snap.Jobs, j)
		seen[j.UID] = true
	}
	// An active Job missing from the cache may be one just created: ask the server before
	// Compute takes it for gone, as Kubernetes does.
	for _, ref := range cj.Status.Active {
		if seen[ref.UID] {
			continue
		}
		j, err := jobs(c.cfg.Client).Namespace(ns).Get(ctx, ref.Name)
		switch {
		case err == nil && j.UID == ref.UID:
			snap.Jobs = append(snap.Jobs, j)
		case err != nil && !api.IsNotFound(err):
			return fmt.Errorf("get active job %s/%s of cronjob %s: %w", ns, ref.Name, key, err)
		}
	}
	plan := Compute(snap)
	for _, e := range plan.Events {
		c.event(cj, e.Type, e.Reason, "%s", e.Message)
	}
	var errs []error
	for _, j := range plan.Delete {
		err := jobs(c.cfg.Client).Namespace(ns).Delete(ctx, j.Name, &api.DeleteOptions{
			Preconditions: &api.Preconditions{UID: api.Ptr(j.UID)}, PropagationPolicy: api.Ptr("Background")})
		switch {
		case err == nil:
			c.event(cj, api.EventNormal, ReasonSuccessfulDelete, "Deleted job %v", j.Name)
		case !api.IsNotFound(err):
			c.event(cj, api.EventWarning, ReasonFailedDelete, "Deleted job: %v", err)
			errs = append(errs, fmt.Errorf("delete job %s of cronjob %s: %w", j.Name, key, err))
		}
	}
	status := plan.Status
	if plan.Create != nil && len(errs) == 0 {
		created, err := jobs(c.cfg.Client).Namespace(ns).Create(ctx, plan.Create)
		switch {
		case err == nil:
			c.event(cj, api.EventNormal, ReasonSuccessfulCreate, "Created job %v", created.Name)
			status.Active = append(status.Active, Ref(created))
		case api.IsAlreadyExists(err):
			// Created by an earlier attempt whose status write was lost: the next sync sees it.
			return fmt.Errorf("create job %s of cronjob %s: %w", plan.Create.Name, key, err)
		default:
			c.event(cj, api.EventWarning, ReasonFailedCreate, "Error creating job: %v", err)
			return errors.Join(append(errs, fmt.Errorf("create job %s of cronjob %s: %w", plan.Create.Name, key, err))...)
		}
	} else if plan.Create != nil {
		// Replace could not delete every active Job: keep the old status and retry.
		status = cj.Status
	}
	if !reflect.DeepEqual(cj.Status, status) {
		up := controller.Clone(cj)
		up.Status = status
		if _, err := CronJobs(c.cfg.Client).Namespace(ns).UpdateStatus(ctx, up); err != nil && !api.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("update status of cronjob %s: %w", key, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if plan.RequeueAfter > 0 {
		c.ctrl.EnqueueAfter(key, plan.RequeueAfter)
	}
	return nil
}

func (c *Controller) event(obj api.Object, typ, reason, format string, args ...any) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(obj, typ, reason, format, args...)
	}
}
