package informer

import (
	"encoding/json"
	"fmt"

	"github.com/wasmkube/wasmkube/control/api"
)

// Names of the indices the helpers below are meant to be registered under.
const (
	OwnerUIDIndex      = "ownerUID"
	ControllerUIDIndex = "controllerUID"
	NodeNameIndex      = "nodeName"
)

// ByNamespace indexes objects by metadata.namespace.
func ByNamespace[T api.Object]() IndexFunc[T] {
	return func(obj T) []string { return []string{obj.GetObjectMeta().Namespace} }
}

// ByOwnerUID indexes objects by the UID of every owner reference.
func ByOwnerUID[T api.Object]() IndexFunc[T] {
	return func(obj T) []string {
		refs := obj.GetObjectMeta().OwnerReferences
		out := make([]string, 0, len(refs))
		for _, r := range refs {
			out = append(out, r.UID)
		}
		return out
	}
}

// ByControllerUID indexes objects by the UID of their controller owner reference, if any.
func ByControllerUID[T api.Object]() IndexFunc[T] {
	return func(obj T) []string {
		if c := api.ControllerOf(obj.GetObjectMeta()); c != nil {
			return []string{c.UID}
		}
		return nil
	}
}

// PodsByNodeName indexes pods by spec.nodeName; unscheduled pods are under "".
func PodsByNodeName(p *api.Pod) []string { return []string{p.Spec.NodeName} }

// DeepCopy returns a copy of v that shares no memory with it, by a JSON round trip (API
// objects survive it unchanged). Use it before modifying an object taken from a cache. It
// panics if v cannot be encoded, which no API type can cause.
func DeepCopy[T any](v T) T {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("informer.DeepCopy %T: %v", v, err))
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("informer.DeepCopy %T: %v", v, err))
	}
	return out
}
