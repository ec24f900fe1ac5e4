package controller

import (
	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
)

// ControllerRef is the owner reference a controller puts on what it creates or adopts:
// controller=true and blockOwnerDeletion=true, as Kubernetes' NewControllerRef.
func ControllerRef(owner *api.ObjectMeta, apiVersion, kind string) api.OwnerReference {
	return api.OwnerReference{
		APIVersion:         apiVersion,
		Kind:               kind,
		Name:               owner.Name,
		UID:                owner.UID,
		Controller:         api.Ptr(true),
		BlockOwnerDeletion: api.Ptr(true),
	}
}

// Claimed is how ClaimObjects splits a controller's candidates.
type Claimed[T api.Object] struct {
	// Owned are controlled by the owner and still selected, plus the orphans in Adopt: what the
	// owner manages once the adoptions are written.
	Owned []T
	// Adopt are orphans the owner selects; the caller writes a controller reference onto each.
	Adopt []T
	// Release are controlled by the owner but no longer selected; the caller removes the
	// owner's reference from each.
	Release []T
}

// ClaimObjects decides, for objects in the owner's namespace, which the owner controls, as
// Kubernetes' ControllerRefManager.ClaimObject does: objects controlled by someone else are
// ignored; an owner being deleted neither adopts nor releases; objects being deleted are not
// adopted. It does no I/O: the caller writes the adoptions and releases.
func ClaimObjects[T api.Object](owner *api.ObjectMeta, sel labels.Selector, objs []T) Claimed[T] {
	var c Claimed[T]
	deleting := owner.DeletionTimestamp != nil
	for _, o := range objs {
		m := o.GetObjectMeta()
		if owner.Namespace != "" && m.Namespace != owner.Namespace {
			continue
		}
		match := sel.Matches(labels.Set(m.Labels))
		if ref := api.ControllerOf(m); ref != nil {
			if ref.UID != owner.UID {
				continue
			}
			if match {
				c.Owned = append(c.Owned, o)
			} else if !deleting {
				c.Release = append(c.Release, o)
			}
			continue
		}
		if deleting || !match || m.DeletionTimestamp != nil {
			continue
		}
		c.Adopt = append(c.Adopt, o)
		c.Owned = append(c.Owned, o)
	}
	return c
}

// Adopted returns the owner references of m with ref added (replacing any reference to the
// same UID), for an adoption write.
func Adopted(m *api.ObjectMeta, ref api.OwnerReference) []api.OwnerReference {
	out := make([]api.OwnerReference, 0, len(m.OwnerReferences)+1)
	for _, r := range m.OwnerReferences {
		if r.UID != ref.UID {
			out = append(out, r)
		}
	}
	return append(out, ref)
}

// Released returns the owner references of m without those to uid, for a release write.
func Released(m *api.ObjectMeta, uid string) []api.OwnerReference {
	var out []api.OwnerReference
	for _, r := range m.OwnerReferences {
		if r.UID != uid {
			out = append(out, r)
		}
	}
	return out
}

// HasFinalizer reports whether m carries finalizer f.
func HasFinalizer(m *api.ObjectMeta, f string) bool {
	for _, x := range m.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}

// WithoutFinalizer returns m's finalizers without f.
func WithoutFinalizer(list []string, f string) []string {
	var out []string
	for _, x := range list {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}
