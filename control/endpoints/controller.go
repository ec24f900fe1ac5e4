package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes Endpoints. Required.
	Client *client.Client
	// Informers are the shared caches (services, endpoints, pods). Required.
	Informers *controller.Informers
	// Workers is how many Services are reconciled in parallel (5).
	Workers int
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the endpoints controller loop. Its queue keys are Service keys; an Endpoints
// object whose Service is gone is deleted.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	svcs *informer.Informer[*api.Service]
	eps  *informer.Informer[*api.Endpoints]
	pods *informer.Informer[*api.Pod]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("endpoints controller: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	c := &Controller{cfg: cfg, svcs: cfg.Informers.Services, eps: cfg.Informers.Endpoints, pods: cfg.Informers.Pods}
	c.ctrl = controller.New(controller.Config{
		Name: "endpoints", Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{c.svcs, c.eps, c.pods},
	})
	c.svcs.AddHandler(informer.Handler[*api.Service]{
		OnAdd:    func(s *api.Service) { c.ctrl.Enqueue(informer.KeyOf(s)) },
		OnUpdate: func(_, s *api.Service) { c.ctrl.Enqueue(informer.KeyOf(s)) },
		OnDelete: func(s *api.Service) { c.ctrl.Enqueue(informer.KeyOf(s)) },
	})
	c.eps.AddHandler(informer.Handler[*api.Endpoints]{
		// A new or changed Endpoints may be left over from a deleted Service, or edited by
		// hand: look at its Service again.
		OnAdd:    func(e *api.Endpoints) { c.ctrl.Enqueue(informer.KeyOf(e)) },
		OnUpdate: func(_, e *api.Endpoints) { c.ctrl.Enqueue(informer.KeyOf(e)) },
		OnDelete: func(e *api.Endpoints) { c.ctrl.Enqueue(informer.KeyOf(e)) },
	})
	c.pods.AddHandler(informer.Handler[*api.Pod]{
		OnAdd: c.podChanged,
		OnUpdate: func(old, cur *api.Pod) {
			if !endpointsChanged(old, cur) {
				return
			}
			if !sameLabels(old.Labels, cur.Labels) {
				c.podChanged(old)
			}
			c.podChanged(cur)
		},
		OnDelete: c.podChanged,
	})
	return c, nil
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// podChanged queues the Services that select pod.
func (c *Controller) podChanged(pod *api.Pod) {
	for _, svc := range c.svcs.ListNamespace(pod.Namespace, nil) {
		if Manages(svc) && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			c.ctrl.Enqueue(informer.KeyOf(svc))
		}
	}
}

// endpointsChanged reports whether a pod update can change any Endpoints.
func endpointsChanged(old, cur *api.Pod) bool {
	return !sameLabels(old.Labels, cur.Labels) || old.Status.PodIP != cur.Status.PodIP ||
		old.Status.HostIP != cur.Status.HostIP || old.Spec.NodeName != cur.Spec.NodeName ||
		old.Status.Phase != cur.Status.Phase || (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		controller.IsPodReady(old) != controller.IsPodReady(cur)
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Reconcile writes the Endpoints of one Service, or deletes them when the Service is gone.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	epAPI := client.Endpoints(c.cfg.Client).Namespace(ns)
	stored, exists := c.eps.Get(ns, name)
	svc, ok := c.svcs.Get(ns, name)
	if !ok {
		if !exists {
			return nil
		}
		if _, err := client.Services(c.cfg.Client).Namespace(ns).Get(ctx, name); !api.IsNotFound(err) {
			return err // the Service exists after all (the cache lags), or the read failed
		}
		if err := epAPI.Delete(ctx, name, &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr(stored.UID)}}); err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s of a deleted service: %w", key, err)
		}
		return nil
	}
	if !Manages(svc) {
		return nil
	}
	want := Desired(svc, c.pods.ListNamespace(ns, nil))
	if exists && !NeedsWrite(stored, want) {
		return nil
	}
	if !exists {
		if _, err := epAPI.Create(ctx, want); err != nil {
			return fmt.Errorf("create endpoints %s: %w", key, err)
		}
		return nil
	}
	up := controller.Clone(stored)
	up.Subsets, up.Labels = want.Subsets, want.Labels
	if _, err := epAPI.Update(ctx, up); err != nil {
		return fmt.Errorf("update endpoints %s: %w", key, err)
	}
	return nil
}
