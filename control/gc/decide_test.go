package gc

import (
	"slices"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func ref(uid string, block bool) api.OwnerReference {
	return api.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "o-" + uid, UID: uid,
		Controller: api.Ptr(true), BlockOwnerDeletion: api.Ptr(block)}
}

func item(uid string, owners ...api.OwnerReference) Item {
	return Item{Ref: Ref{Resource: "pods", Namespace: "default", Name: "n-" + uid, UID: uid}, Owners: owners}
}

func deleting(it Item, finalizers ...string) Item {
	it.Deleting = true
	it.Finalizers = finalizers
	return it
}

func render(a Action) string {
	s := []string{"None", "Delete", "RemoveOwners", "RemoveFinalizer", "WaitForDependents", "Orphan"}[a.Kind]
	if a.Policy != "" {
		s += " " + a.Policy
	}
	if a.Unblock {
		s += " unblock"
	}
	if a.Kind == RemoveOwners {
		s += " " + strings.Join(a.OwnerUIDs, ",")
	}
	if a.Finalizer != "" {
		s += " " + a.Finalizer
	}
	for _, d := range a.Dependents {
		s += " " + d.UID
	}
	return s
}

func TestDecide(t *testing.T) {
	const (
		P = OwnerPresent
		A = OwnerAbsent
		W = OwnerWaiting
	)
	cases := []struct {
		name   string
		it     Item
		owners map[string]OwnerState
		deps   []Item
		want   string
	}{
		{"no owners", item("x"), nil, nil, "None"},
		{"owner present", item("x", ref("o", true)), map[string]OwnerState{"o": P}, nil, "None"},
		{"owner gone: background delete", item("x", ref("o", true)), map[string]OwnerState{"o": A}, nil, "Delete Background"},
		{"unknown owner state counts as present", item("x", ref("o", true)), nil, nil, "None"},
		{"one owner gone, one present: drop the dangling reference", item("x", ref("o1", true), ref("o2", false)),
			map[string]OwnerState{"o1": A, "o2": P}, nil, "RemoveOwners o1"},
		{"present owner plus waiting owner: drop the waiting reference", item("x", ref("o1", true), ref("o2", true)),
			map[string]OwnerState{"o1": P, "o2": W}, nil, "RemoveOwners o2"},
		{"all owners gone: own orphan finalizer decides the policy", Item{Ref: item("x").Ref, Owners: []api.OwnerReference{ref("o", true)},
			Finalizers: []string{api.FinalizerOrphanDependents}}, map[string]OwnerState{"o": A}, nil, "Delete Orphan"},
		{"owner waits, item has no dependents: background", item("x", ref("o", true)), map[string]OwnerState{"o": W}, nil, "Delete Background"},
		{"owner waits, item has dependents: foreground", item("x", ref("o", true)), map[string]OwnerState{"o": W},
			[]Item{item("d", ref("x", true))}, "Delete Foreground"},
		{"owner waits, a dependent also waits: unblock to avoid a cycle", item("x", ref("o", true)), map[string]OwnerState{"o": W},
			[]Item{deleting(item("d", ref("x", true)), api.FinalizerDeleteDependents)}, "Delete Foreground unblock"},
		{"foreground owner with blocking dependents waits for them", deleting(item("x"), api.FinalizerDeleteDependents), nil,
			[]Item{item("d1", ref("x", true)), item("d2", ref("x", false)), deleting(item("d3", ref("x", true)), api.FinalizerDeleteDependents)},
			"WaitForDependents d1"},
		{"foreground owner without blocking dependents loses its finalizer", deleting(item("x"), api.FinalizerDeleteDependents), nil,
			[]Item{item("d2", ref("x", false))}, "RemoveFinalizer foregroundDeletion"},
		{"orphaning owner", deleting(item("x"), api.FinalizerOrphanDependents), nil,
			[]Item{item("d1", ref("x", true))}, "Orphan orphan d1"},
		{"being deleted otherwise: nothing", deleting(item("x", ref("o", true))), map[string]OwnerState{"o": A}, nil, "None"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(Decide(tc.it, tc.owners, tc.deps)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGraph(t *testing.T) {
	g := NewGraph()
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return slices.Compact(s) }
	if got := sorted(g.Put(item("pod", ref("rs", true)))); !slices.Equal(got, []string{"pod", "rs"}) {
		t.Fatalf("put new item touched %v", got)
	}
	g.Put(Item{Ref: Ref{Resource: "replicasets.apps", Namespace: "default", Name: "rs", UID: "rs"}})
	if deps := g.Dependents("rs"); len(deps) != 1 || deps[0].UID != "pod" {
		t.Fatalf("dependents %v", deps)
	}
	// Changing owners touches the owner it lost.
	if got := sorted(g.Put(item("pod", ref("rs2", true)))); !slices.Contains(got, "rs") {
		t.Fatalf("owner change touched %v", got)
	}
	if len(g.Dependents("rs")) != 0 || len(g.Dependents("rs2")) != 1 {
		t.Fatal("dependents not moved")
	}
	// Deleting state changes touch dependents.
	g.Put(item("child", ref("pod", true)))
	if got := g.Put(deleting(item("pod", ref("rs2", true)), api.FinalizerDeleteDependents)); !slices.Contains(got, "child") || !slices.Contains(got, "rs2") {
		t.Fatalf("deletion touched %v", got)
	}
	if got := sorted(g.Remove("pod")); !slices.Equal(got, []string{"child", "rs2"}) {
		t.Fatalf("remove touched %v", got)
	}
	if _, ok := g.Get("pod"); ok || g.Len() != 2 {
		t.Fatalf("graph after remove has %d items", g.Len())
	}
}

func TestOwnerResource(t *testing.T) {
	tbl := api.NewResourceTable(api.Resources())
	cases := []struct {
		apiVersion, kind, ns string
		res, ownerNS         string
		ok, invalid          bool
	}{
		{"apps/v1", "Deployment", "default", "deployments", "default", true, false},
		{"v1", "Node", "kube-node-lease", "nodes", "", true, false},
		{"apps/v1", "ReplicaSet", "", "replicasets", "", true, true},
		{"example.com/v1", "Thing", "default", "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			r, ns, ok, invalid := OwnerResource(tbl, api.OwnerReference{APIVersion: tc.apiVersion, Kind: tc.kind}, tc.ns)
			res := ""
			if r != nil {
				res = r.Resource
			}
			if res != tc.res || ns != tc.ownerNS || ok != tc.ok || invalid != tc.invalid {
				t.Fatalf("got %s %q %v %v", res, ns, ok, invalid)
			}
		})
	}
}
