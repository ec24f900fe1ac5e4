// Package gc owns the garbage collector: it keeps a graph of ownerReferences across every
// kind the API serves and deletes dependents whose owners are gone (background deletion),
// deletes the blocking dependents of an owner deleted in the foreground before removing the
// owner's foregroundDeletion finalizer, and removes an orphaning owner's references from its
// dependents before removing its orphan finalizer, as Kubernetes' garbage collector. It
// confirms that an owner is gone with a live GET before it deletes anything.
package gc

import (
	"sort"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
)

// Ref names an object the collector tracks.
type Ref struct {
	// Resource is the plural resource name with its group ("deployments.apps", "pods").
	Resource  string
	Namespace string
	Name      string
	UID       string
}

// Item is what the collector knows of one object.
type Item struct {
	Ref
	Owners     []api.OwnerReference
	Deleting   bool
	Finalizers []string
}

// ItemOf reduces obj, of resource r, to an Item.
func ItemOf(r *api.ResourceInfo, obj api.Object) Item {
	m := obj.GetObjectMeta()
	return Item{
		Ref:        Ref{Resource: resourceName(r), Namespace: m.Namespace, Name: m.Name, UID: m.UID},
		Owners:     append([]api.OwnerReference(nil), m.OwnerReferences...),
		Deleting:   m.DeletionTimestamp != nil,
		Finalizers: append([]string(nil), m.Finalizers...),
	}
}

func resourceName(r *api.ResourceInfo) string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// deletingDependents reports whether the item waits for its blocking dependents to go.
func (it *Item) deletingDependents() bool {
	return it.Deleting && hasString(it.Finalizers, api.FinalizerDeleteDependents)
}

func (it *Item) orphaning() bool {
	return it.Deleting && hasString(it.Finalizers, api.FinalizerOrphanDependents)
}

func hasString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Graph indexes items by UID and, for every UID named as an owner, its dependents. It is
// safe for concurrent use.
type Graph struct {
	mu         sync.RWMutex
	items      map[string]*Item
	dependents map[string]map[string]bool
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{items: map[string]*Item{}, dependents: map[string]map[string]bool{}}
}

// Put adds or replaces an item. It returns the UIDs the change concerns: the item itself, the
// owners it gained or lost, and, when its deletion state changed, its dependents.
func (g *Graph) Put(it Item) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.items[it.UID]
	c := it
	g.items[it.UID] = &c
	touched := []string{it.UID}
	oldOwners := map[string]bool{}
	if old != nil {
		for _, o := range old.Owners {
			oldOwners[o.UID] = true
		}
	}
	newOwners := map[string]bool{}
	for _, o := range it.Owners {
		newOwners[o.UID] = true
		if !oldOwners[o.UID] {
			g.link(o.UID, it.UID)
		}
	}
	for uid := range oldOwners {
		if !newOwners[uid] {
			g.unlink(uid, it.UID)
			touched = append(touched, uid)
		}
	}
	if old == nil || old.Deleting != it.Deleting || !sameStrings(old.Finalizers, it.Finalizers) {
		for uid := range g.dependents[it.UID] {
			touched = append(touched, uid)
		}
		for uid := range newOwners {
			touched = append(touched, uid)
		}
	}
	return touched
}

// Remove drops the item with uid. It returns the UIDs the removal concerns: its dependents
// (whose owner may now be gone) and its owners (which may wait for it).
func (g *Graph) Remove(uid string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.items[uid]
	if old == nil {
		return nil
	}
	delete(g.items, uid)
	var touched []string
	for _, o := range old.Owners {
		g.unlink(o.UID, uid)
		touched = append(touched, o.UID)
	}
	for d := range g.dependents[uid] {
		touched = append(touched, d)
	}
	return touched
}

func (g *Graph) link(owner, dep string) {
	m := g.dependents[owner]
	if m == nil {
		m = map[string]bool{}
		g.dependents[owner] = m
	}
	m[dep] = true
}

func (g *Graph) unlink(owner, dep string) {
	if m := g.dependents[owner]; m != nil {
		delete(m, dep)
		if len(m) == 0 {
			delete(g.dependents, owner)
		}
	}
}

// Get returns a copy of the item with uid.
func (g *Graph) Get(uid string) (Item, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	it, ok := g.items[uid]
	if !ok {
		return Item{}, false
	}
	return *it, true
}

// Dependents returns copies of the items that name uid as an owner, by name.
func (g *Graph) Dependents(uid string) []Item {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []Item
	for d := range g.dependents[uid] {
		if it, ok := g.items[d]; ok {
			out = append(out, *it)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Len is the number of items.
func (g *Graph) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.items)
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
