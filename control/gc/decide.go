package gc

import "github.com/wasmkube/wasmkube/control/api"

// OwnerState is what the collector knows of one owner of an item.
type OwnerState int

// Owner states, as Kubernetes' classifyReferences sorts them.
const (
	// OwnerPresent: an object with the owner's UID exists (or its kind is unknown, so the
	// collector cannot tell and leaves the dependent alone).
	OwnerPresent OwnerState = iota
	// OwnerAbsent: no object with the owner's UID exists; the reference dangles.
	OwnerAbsent
	// OwnerWaiting: the owner is being deleted in the foreground and waits for its dependents.
	OwnerWaiting
)

// ActionKind is what Decide asks the collector to do about an item.
type ActionKind int

// The actions.
const (
	// None: nothing to do.
	None ActionKind = iota
	// Delete the item with Action.Policy (after unblocking, when Action.Unblock).
	Delete
	// RemoveOwners rewrites the item's ownerReferences without Action.OwnerUIDs.
	RemoveOwners
	// RemoveFinalizer removes Action.Finalizer from the item.
	RemoveFinalizer
	// WaitForDependents: the item is deleted in the foreground and Action.Dependents still
	// block it; each must be processed (they will find their owner waiting and delete
	// themselves).
	WaitForDependents
	// Orphan: remove the item's references from each of Action.Dependents, then its orphan
	// finalizer.
	Orphan
)

// Action is Decide's answer.
type Action struct {
	Kind       ActionKind
	Policy     string
	Unblock    bool
	OwnerUIDs  []string
	Finalizer  string
	Dependents []Item
}

// Decide says what to do about it, given the state of each of its owners (by UID; a missing
// entry counts as present) and its dependents, as Kubernetes' attemptToDeleteItem,
// processDeletingDependentsItem and orphanDependents:
//   - an item deleted in the foreground loses its foregroundDeletion finalizer once no
//     dependent blocks it (blockOwnerDeletion), and until then has its blockers processed;
//   - an item deleted with orphaning has its dependents' references to it removed, then its
//     orphan finalizer;
//   - an item with at least one present owner only loses its references to absent or waiting
//     owners;
//   - an item whose owners are all absent or waiting is deleted: in the foreground when an
//     owner waits and the item has dependents, else by its own finalizers' policy
//     (background by default).
func Decide(it Item, owners map[string]OwnerState, dependents []Item) Action {
	if it.deletingDependents() {
		var blocking []Item
		for _, d := range dependents {
			if blocks(&d, it.UID) {
				blocking = append(blocking, d)
			}
		}
		if len(blocking) == 0 {
			return Action{Kind: RemoveFinalizer, Finalizer: api.FinalizerDeleteDependents}
		}
		var todo []Item
		for _, d := range blocking {
			if !d.deletingDependents() {
				todo = append(todo, d)
			}
		}
		return Action{Kind: WaitForDependents, Dependents: todo}
	}
	if it.orphaning() {
		return Action{Kind: Orphan, Dependents: dependents, Finalizer: api.FinalizerOrphanDependents}
	}
	if it.Deleting || len(it.Owners) == 0 {
		return Action{}
	}
	var solid, dangling, waiting []string
	for _, o := range it.Owners {
		switch owners[o.UID] {
		case OwnerAbsent:
			dangling = append(dangling, o.UID)
		case OwnerWaiting:
			waiting = append(waiting, o.UID)
		default:
			solid = append(solid, o.UID)
		}
	}
	switch {
	case len(solid) > 0:
		if len(dangling)+len(waiting) == 0 {
			return Action{}
		}
		return Action{Kind: RemoveOwners, OwnerUIDs: append(dangling, waiting...)}
	case len(waiting) > 0 && len(dependents) > 0:
		unblock := false
		for _, d := range dependents {
			if d.deletingDependents() {
				unblock = true
			}
		}
		return Action{Kind: Delete, Policy: api.DeletePropagationForeground, Unblock: unblock, OwnerUIDs: waiting}
	}
	policy := api.DeletePropagationBackground
	switch {
	case hasString(it.Finalizers, api.FinalizerOrphanDependents):
		policy = api.DeletePropagationOrphan
	case hasString(it.Finalizers, api.FinalizerDeleteDependents):
		policy = api.DeletePropagationForeground
	}
	return Action{Kind: Delete, Policy: policy}
}

// blocks reports whether d's reference to owner has blockOwnerDeletion set.
func blocks(d *Item, owner string) bool {
	for _, o := range d.Owners {
		if o.UID == owner && o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// OwnerResource finds where the owner named by ref lives, for a dependent in namespace ns: its
// resource and the namespace to look in ("" for cluster-scoped owners). ok is false for a
// kind the API does not serve; invalid is true for a namespaced owner of a cluster-scoped
// dependent, which can never exist.
func OwnerResource(t *api.ResourceTable, ref api.OwnerReference, ns string) (r *api.ResourceInfo, ownerNS string, ok, invalid bool) {
	r, ok = t.ForKind(ref.APIVersion, ref.Kind)
	if !ok {
		return nil, "", false, false
	}
	if !r.Namespaced {
		return r, "", true, false
	}
	if ns == "" {
		return r, "", true, true
	}
	return r, ns, true, false
}
