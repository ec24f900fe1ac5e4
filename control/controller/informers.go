package controller

import (
	"context"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Informers are the caches the controllers share, one per resource the API serves, so that
// the cluster is listed and watched once however many controllers read it. Cached objects
// must not be mutated (Clone first).
type Informers struct {
	// Pods are indexed by controller UID (informer.ControllerUIDIndex) and node name
	// (informer.NodeNameIndex).
	Pods *informer.Informer[*api.Pod]
	// ReplicaSets are indexed by controller UID.
	ReplicaSets *informer.Informer[*api.ReplicaSet]
	Deployments *informer.Informer[*api.Deployment]
	Services    *informer.Informer[*api.Service]
	Endpoints   *informer.Informer[*api.Endpoints]
	Nodes       *informer.Informer[*api.Node]
	Namespaces  *informer.Informer[*api.Namespace]
	Leases      *informer.Informer[*api.Lease]
	Events      *informer.Informer[*api.Event]
	// Jobs are indexed by controller UID.
	Jobs *informer.Informer[*api.Job]
	// DaemonSets are indexed by nothing: their pods are found by controller UID.
	DaemonSets *informer.Informer[*api.DaemonSet]
	// CronJobs are indexed by nothing: their Jobs are found by controller UID.
	CronJobs *informer.Informer[*api.CronJob]
	// Others covers every other resource in api.Resources(), by plural resource name, so that
	// the garbage collector sees kinds added later. They are best effort: their sources are
	// marked Generic and nothing waits for them to sync, so a kind without a typed informer
	// here never blocks a controller.
	Others map[string]*informer.Informer[api.Object]

	sources []Source
}

// NewInformers builds (but does not run) the shared informers of c.
func NewInformers(c *client.Client) *Informers {
	i := &Informers{
		Pods: informer.New(client.Pods(c), client.ListOptions{}, map[string]informer.IndexFunc[*api.Pod]{
			informer.ControllerUIDIndex: informer.ByControllerUID[*api.Pod](),
			informer.NodeNameIndex:      informer.PodsByNodeName,
		}),
		ReplicaSets: informer.New(client.ReplicaSets(c), client.ListOptions{}, map[string]informer.IndexFunc[*api.ReplicaSet]{
			informer.ControllerUIDIndex: informer.ByControllerUID[*api.ReplicaSet](),
		}),
		Deployments: informer.New(client.Deployments(c), client.ListOptions{}, nil),
		Services:    informer.New(client.Services(c), client.ListOptions{}, nil),
		Endpoints:   informer.New(client.Endpoints(c), client.ListOptions{}, nil),
		Nodes:       informer.New(client.Nodes(c), client.ListOptions{}, nil),
		Namespaces:  informer.New(client.Namespaces(c), client.ListOptions{}, nil),
		Leases:      informer.New(client.Leases(c), client.ListOptions{}, nil),
		Events:      informer.New(client.Events(c), client.ListOptions{}, nil),
		Jobs: informer.New(client.For[*api.Job](c, "jobs"), client.ListOptions{}, map[string]informer.IndexFunc[*api.Job]{
			informer.ControllerUIDIndex: informer.ByControllerUID[*api.Job](),
		}),
		DaemonSets: informer.New(client.For[*api.DaemonSet](c, "daemonsets"), client.ListOptions{}, nil),
		CronJobs:   informer.New(client.For[*api.CronJob](c, "cronjobs"), client.ListOptions{}, nil),
		Others:     map[string]*informer.Informer[api.Object]{},
	}
	typed := map[string]Source{
		"pods":        SourceOf(i.Pods),
		"replicasets": SourceOf(i.ReplicaSets),
		"deployments": SourceOf(i.Deployments),
		"services":    SourceOf(i.Services),
		"endpoints":   SourceOf(i.Endpoints),
		"nodes":       SourceOf(i.Nodes),
		"namespaces":  SourceOf(i.Namespaces),
		"leases":      SourceOf(i.Leases),
		"events":      SourceOf(i.Events),
		"jobs":        SourceOf(i.Jobs),
		"daemonsets":  SourceOf(i.DaemonSets),
		"cronjobs":    SourceOf(i.CronJobs),
	}
	for _, ri := range api.Resources() {
		s, ok := typed[ri.Resource]
		if !ok {
			inf := informer.New(client.For[api.Object](c, ri.Resource), client.ListOptions{}, nil)
			i.Others[ri.Resource] = inf
			s = SourceOf(inf)
			s.Generic = true
		}
		s.Info = ri
		i.sources = append(i.sources, s)
	}
	return i
}

// Sources returns every informer seen through api.Object, with its resource, in discovery
// order.
func (i *Informers) Sources() []Source { return i.sources }

// Run runs every informer until ctx ends and returns once all have stopped.
func (i *Informers) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range i.sources {
		wg.Go(func() { s.run(ctx) })
	}
	wg.Wait()
}

// WaitForSync waits until every typed informer has synced, or ctx ends; it reports which.
func (i *Informers) WaitForSync(ctx context.Context) bool {
	for _, s := range i.sources {
		if !s.Generic && !s.WaitForSync(ctx) {
			return false
		}
	}
	return true
}

// Source is one informer seen through api.Object, for controllers that handle every kind
// (the garbage collector).
type Source struct {
	// Info is the resource the informer caches.
	Info api.ResourceInfo
	// Generic marks an informer of api.Object (a kind without a typed informer): best effort.
	Generic bool
	// AddHandler registers a handler, as Informer.AddHandler.
	AddHandler func(h informer.Handler[api.Object])
	// WaitForSync waits for the first list, as Informer.WaitForSync.
	WaitForSync func(ctx context.Context) bool
	// List returns the cached objects.
	List func() []api.Object
	// Get returns the cached object ns/name.
	Get func(ns, name string) (api.Object, bool)
	run func(ctx context.Context)
}

// SourceOf adapts a typed informer to a Source (Info is left for the caller to fill).
func SourceOf[T api.Object](inf *informer.Informer[T]) Source {
	return Source{
		AddHandler: func(h informer.Handler[api.Object]) {
			var th informer.Handler[T]
			if h.OnAdd != nil {
				th.OnAdd = func(o T) { h.OnAdd(o) }
			}
			if h.OnUpdate != nil {
				th.OnUpdate = func(a, b T) { h.OnUpdate(a, b) }
			}
			if h.OnDelete != nil {
				th.OnDelete = func(o T) { h.OnDelete(o) }
			}
			inf.AddHandler(th)
		},
		WaitForSync: inf.WaitForSync,
		List: func() []api.Object {
			items := inf.List()
			out := make([]api.Object, len(items))
			for k, o := range items {
				out[k] = o
			}
			return out
		},
		Get: func(ns, name string) (api.Object, bool) {
			o, ok := inf.Get(ns, name)
			if !ok {
				return nil, false
			}
			return o, true
		},
		run: func(ctx context.Context) { _ = inf.Run(ctx) },
	}
}
