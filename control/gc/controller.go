package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Config configures a Collector. Zero fields take the defaults in their comments.
type Config struct {
	// Client reads owners live and deletes and updates dependents. Required.
	Client *client.Client
	// Informers are the shared caches; every one of them feeds the graph. Required.
	Informers *controller.Informers
	// Workers is how many items are processed in parallel (10).
	Workers int
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Collector is the garbage collector loop. Its queue keys are object UIDs.
type Collector struct {
	cfg    Config
	ctrl   *controller.Controller
	graph  *Graph
	table  *api.ResourceTable
	byName map[string]*api.ResourceInfo
}

// New builds the collector and feeds every shared informer into its graph; Run starts it.
func New(cfg Config) (*Collector, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("garbage collector: Client and Informers are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 10
	}
	g := &Collector{cfg: cfg, graph: NewGraph(), table: api.NewResourceTable(api.Resources()), byName: map[string]*api.ResourceInfo{}}
	for _, ri := range g.table.All() {
		g.byName[resourceName(&ri)] = &ri
	}
	var waits []controller.Syncer
	for _, s := range cfg.Informers.Sources() {
		info := s.Info
		if !s.Generic {
			waits = append(waits, syncer(s.WaitForSync))
		}
		s.AddHandler(informer.Handler[api.Object]{
			OnAdd: func(o api.Object) { g.enqueue(g.graph.Put(ItemOf(&info, o))) },
			OnUpdate: func(old, cur api.Object) {
				before, after := ItemOf(&info, old), ItemOf(&info, cur)
				touched := g.graph.Put(after)
				if !sameItem(&before, &after) {
					g.enqueue(touched)
				}
			},
			OnDelete: func(o api.Object) { g.enqueue(g.graph.Remove(o.GetObjectMeta().UID)) },
		})
	}
	g.ctrl = controller.New(controller.Config{Name: "garbagecollector", Reconciler: g, Workers: cfg.Workers,
		Logger: cfg.Logger, WaitFor: waits})
	return g, nil
}

type syncer func(ctx context.Context) bool

func (s syncer) WaitForSync(ctx context.Context) bool { return s(ctx) }

func sameItem(a, b *Item) bool {
	if a.Deleting != b.Deleting || !sameStrings(a.Finalizers, b.Finalizers) || len(a.Owners) != len(b.Owners) {
		return false
	}
	for i := range a.Owners {
		x, y := a.Owners[i], b.Owners[i]
		if x.UID != y.UID || api.Deref(x.BlockOwnerDeletion, false) != api.Deref(y.BlockOwnerDeletion, false) {
			return false
		}
	}
	return true
}

func (g *Collector) enqueue(uids []string) {
	for _, u := range uids {
		g.ctrl.Enqueue(u)
	}
}

// Graph is the collector's owner graph, for tests and diagnostics.
func (g *Collector) Graph() *Graph { return g.graph }

// Run collects until ctx ends and returns once every worker has stopped.
func (g *Collector) Run(ctx context.Context) error { return g.ctrl.Run(ctx) }

// ownerStates classifies it's owners from the graph, or (live) from the API.
func (g *Collector) ownerStates(ctx context.Context, it *Item, live bool) (map[string]OwnerState, error) {
	states := make(map[string]OwnerState, len(it.Owners))
	for _, ref := range it.Owners {
		r, ns, ok, invalid := OwnerResource(g.table, ref, it.Namespace)
		switch {
		case invalid:
			states[ref.UID] = OwnerAbsent
			continue
		case !ok:
			states[ref.UID] = OwnerPresent // a kind we cannot look up: never collect for it
			continue
		}
		if !live {
			owner, found := g.graph.Get(ref.UID)
			switch {
			case !found:
				states[ref.UID] = OwnerAbsent
			case owner.deletingDependents():
				states[ref.UID] = OwnerWaiting
			default:
				states[ref.UID] = OwnerPresent
			}
			continue
		}
		obj, err := client.For[api.Object](g.cfg.Client, r.Resource).Namespace(ns).Get(ctx, ref.Name)
		switch {
		case api.IsNotFound(err):
			states[ref.UID] = OwnerAbsent
		case err != nil:
			return nil, fmt.Errorf("look up owner %s %s of %s %s/%s: %w", ref.Kind, ref.Name, it.Resource, it.Namespace, it.Name, err)
		case obj.GetObjectMeta().UID != ref.UID:
			states[ref.UID] = OwnerAbsent
		default:
			m := obj.GetObjectMeta()
			if m.DeletionTimestamp != nil && controller.HasFinalizer(m, api.FinalizerDeleteDependents) {
				states[ref.UID] = OwnerWaiting
			} else {
				states[ref.UID] = OwnerPresent
			}
		}
	}
	return states, nil
}

func (g *Collector) resource(it *Item) (*client.Resource[api.Object], error) {
	ri, ok := g.byName[it.Resource]
	if !ok {
		return nil, fmt.Errorf("garbage collect %s %s/%s: unknown resource", it.Resource, it.Namespace, it.Name)
	}
	return client.For[api.Object](g.cfg.Client, ri.Resource).Namespace(it.Namespace), nil
}

// Reconcile decides about one object (by UID) and acts.
func (g *Collector) Reconcile(ctx context.Context, uid string) error {
	it, ok := g.graph.Get(uid)
	if !ok {
		return nil
	}
	deps := g.graph.Dependents(uid)
	states, err := g.ownerStates(ctx, &it, false)
	if err != nil {
		return err
	}
	act := Decide(it, states, deps)
	switch act.Kind {
	case None:
		return nil
	case WaitForDependents:
		for _, d := range act.Dependents {
			g.ctrl.Enqueue(d.UID)
		}
		return nil
	}
	// Act only on the object as it is now, never on a cache that may lag.
	res, err := g.resource(&it)
	if err != nil {
		return err
	}
	latest, err := res.Get(ctx, it.Name)
	if api.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("garbage collect %s %s/%s: %w", it.Resource, it.Namespace, it.Name, err)
	}
	lm := latest.GetObjectMeta()
	if lm.UID != it.UID {
		return nil
	}
	var info api.ResourceInfo
	if ri, ok := g.byName[it.Resource]; ok {
		info = *ri
	}
	fresh := ItemOf(&info, latest)
	if act.Kind == Delete || act.Kind == RemoveOwners {
		if states, err = g.ownerStates(ctx, &fresh, true); err != nil {
			return err
		}
	}
	act = Decide(fresh, states, deps)
	switch act.Kind {
	case Delete:
		if act.Unblock {
			for i := range lm.OwnerReferences {
				r := &lm.OwnerReferences[i]
				if states[r.UID] == OwnerWaiting {
					r.BlockOwnerDeletion = api.Ptr(false)
				}
			}
			if latest, err = res.Update(ctx, latest); err != nil {
				return fmt.Errorf("unblock owners of %s %s/%s: %w", it.Resource, it.Namespace, it.Name, err)
			}
		}
		err := res.Delete(ctx, it.Name, &api.DeleteOptions{PropagationPolicy: api.Ptr(act.Policy),
			Preconditions: &api.Preconditions{UID: api.Ptr(it.UID)}})
		if err != nil && !api.IsNotFound(err) && !api.IsConflict(err) {
			return fmt.Errorf("delete %s %s/%s whose owners are gone: %w", it.Resource, it.Namespace, it.Name, err)
		}
	case RemoveOwners:
		drop := map[string]bool{}
		for _, u := range act.OwnerUIDs {
			drop[u] = true
		}
		var keep []api.OwnerReference
		for _, r := range lm.OwnerReferences {
			if !drop[r.UID] {
				keep = append(keep, r)
			}
		}
		lm.OwnerReferences = keep
		if _, err := res.Update(ctx, latest); err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("remove dangling owner references of %s %s/%s: %w", it.Resource, it.Namespace, it.Name, err)
		}
	case RemoveFinalizer:
		return g.removeFinalizer(ctx, res, latest, act.Finalizer)
	case Orphan:
		for _, d := range act.Dependents {
			if err := g.orphan(ctx, &d, it.UID); err != nil {
				return err
			}
		}
		return g.removeFinalizer(ctx, res, latest, act.Finalizer)
	case WaitForDependents:
		for _, d := range act.Dependents {
			g.ctrl.Enqueue(d.UID)
		}
	}
	return nil
}

func (g *Collector) removeFinalizer(ctx context.Context, res *client.Resource[api.Object], obj api.Object, f string) error {
	m := obj.GetObjectMeta()
	m.Finalizers = controller.WithoutFinalizer(m.Finalizers, f)
	if _, err := res.Update(ctx, obj); err != nil && !api.IsNotFound(err) {
		return fmt.Errorf("remove finalizer %s from %s/%s: %w", f, m.Namespace, m.Name, err)
	}
	return nil
}

// orphan removes d's references to owner, reading d live.
func (g *Collector) orphan(ctx context.Context, d *Item, owner string) error {
	res, err := g.resource(d)
	if err != nil {
		return err
	}
	obj, err := res.Get(ctx, d.Name)
	if api.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("orphan %s %s/%s: %w", d.Resource, d.Namespace, d.Name, err)
	}
	m := obj.GetObjectMeta()
	if m.UID != d.UID {
		return nil
	}
	m.OwnerReferences = controller.Released(m, owner)
	if _, err := res.Update(ctx, obj); err != nil && !api.IsNotFound(err) {
		return fmt.Errorf("orphan %s %s/%s: %w", d.Resource, d.Namespace, d.Name, err)
	}
	return nil
}
