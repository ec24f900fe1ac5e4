// Package namespace owns the namespace controller: when a Namespace is being deleted it
// deletes everything namespaced in it, waits until nothing is left, then removes the
// "kubernetes" finalizer so the API server removes the Namespace, as Kubernetes' namespace
// controller does. Compute is the pure core; Controller is the loop around it. It does not
// create namespaces or refuse content in terminating ones (the API server does).
package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Content is one object left in a namespace.
type Content struct {
	Resource *api.ResourceInfo
	Name     string
	UID      string
	Deleting bool
}

// Plan is what the controller must do for a namespace.
type Plan struct {
	// Delete are the objects left that are not yet being deleted.
	Delete []Content
	// Wait is true while anything is left: look again later.
	Wait bool
	// Finalize is true when the namespace is empty and its "kubernetes" finalizer must go.
	Finalize bool
}

// Compute decides what to do for ns given everything namespaced still in it.
func Compute(ns *api.Namespace, left []Content) Plan {
	var p Plan
	if ns.DeletionTimestamp == nil || !hasString(ns.Spec.Finalizers, api.FinalizerKubernetes) {
		return p
	}
	for _, c := range left {
		if !c.Deleting {
			p.Delete = append(p.Delete, c)
		}
	}
	p.Wait = len(left) > 0
	p.Finalize = !p.Wait
	return p
}

func hasString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client lists and deletes content and finalizes namespaces. Required.
	Client *client.Client
	// Informers are the shared caches (namespaces). Required.
	Informers *controller.Informers
	// Workers is how many namespaces are emptied in parallel (2).
	Workers int
	// Recheck is how often a namespace whose content is still going is listed again (1s).
	Recheck time.Duration
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller is the namespace controller loop. Its queue keys are namespace names.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	nss  *informer.Informer[*api.Namespace]
}

// New builds the controller and registers its informer handlers; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("namespace controller: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = time.Second
	}
	c := &Controller{cfg: cfg, nss: cfg.Informers.Namespaces}
	c.ctrl = controller.New(controller.Config{Name: "namespace", Reconciler: c, Workers: cfg.Workers,
		Logger: cfg.Logger, WaitFor: []controller.Syncer{c.nss}})
	c.nss.AddHandler(informer.Handler[*api.Namespace]{
		OnAdd: func(n *api.Namespace) {
			if n.DeletionTimestamp != nil {
				c.ctrl.Enqueue(n.Name)
			}
		},
		OnUpdate: func(_, n *api.Namespace) {
			if n.DeletionTimestamp != nil {
				c.ctrl.Enqueue(n.Name)
			}
		},
	})
	return c, nil
}

// Run reconciles until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Reconcile empties one terminating namespace, reading its content live.
func (c *Controller) Reconcile(ctx context.Context, name string) error {
	ns, ok := c.nss.Get("", name)
	if !ok || ns.DeletionTimestamp == nil {
		return nil
	}
	var left []Content
	if hasString(ns.Spec.Finalizers, api.FinalizerKubernetes) {
		var err error
		if left, err = c.contents(ctx, name); err != nil {
			return err
		}
	}
	p := Compute(ns, left)
	var errs []error
	for _, x := range p.Delete {
		err := client.For[api.Object](c.cfg.Client, x.Resource.Resource).Namespace(name).Delete(ctx, x.Name,
			&api.DeleteOptions{PropagationPolicy: api.Ptr(api.DeletePropagationBackground), Preconditions: &api.Preconditions{UID: api.Ptr(x.UID)}})
		if err != nil && !api.IsNotFound(err) && !api.IsConflict(err) {
			errs = append(errs, fmt.Errorf("delete %s %s/%s: %w", x.Resource.Resource, name, x.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if p.Wait {
		c.ctrl.EnqueueAfter(name, c.cfg.Recheck)
		return nil
	}
	if p.Finalize {
		return c.finalize(ctx, ns)
	}
	return nil
}

// contents lists everything namespaced in ns.
func (c *Controller) contents(ctx context.Context, ns string) ([]Content, error) {
	var out []Content
	for _, ri := range api.Resources() {
		if !ri.Namespaced {
			continue
		}
		raw, err := client.Dynamic(c.cfg.Client, &ri, ns).List(ctx, client.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s in terminating namespace %s: %w", ri.Resource, ns, err)
		}
		var list api.List[api.PartialObjectMetadata]
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("list %s in terminating namespace %s: decode: %w", ri.Resource, ns, err)
		}
		for _, o := range list.Items {
			out = append(out, Content{Resource: &ri, Name: o.Name, UID: o.UID, Deleting: o.DeletionTimestamp != nil})
		}
	}
	return out, nil
}

// finalize removes the "kubernetes" finalizer through the namespace's finalize subresource.
func (c *Controller) finalize(ctx context.Context, ns *api.Namespace) error {
	up := controller.Clone(ns)
	var keep []string
	for _, f := range up.Spec.Finalizers {
		if f != api.FinalizerKubernetes {
			keep = append(keep, f)
		}
	}
	up.Spec.Finalizers = keep
	up.TypeMeta = api.TypeMeta{Kind: "Namespace", APIVersion: "v1"}
	body, err := json.Marshal(up)
	if err != nil {
		return fmt.Errorf("finalize namespace %s: %w", ns.Name, err)
	}
	_, err = c.cfg.Client.Do(ctx, client.Request{Method: http.MethodPut, Path: "/api/v1/namespaces/" + url.PathEscape(ns.Name) + "/finalize", Body: body})
	if err != nil && !api.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", ns.Name, err)
	}
	return nil
}
