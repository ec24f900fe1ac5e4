// Package taint owns NoExecute taints: it evicts (deletes) the pods bound to a node that do
// not tolerate a NoExecute taint of the node, at once, or once the tolerationSeconds of the
// toleration that lets them stay have passed since the taint was added, as Kubernetes' taint
// eviction controller does. Keeping new pods off tainted nodes is the scheduler's job.
package taint

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// Eviction is a pod to evict and when.
type Eviction struct {
	Pod *api.Pod
	At  time.Time
}

// Plan returns, for the pods bound to node, the ones a NoExecute taint evicts, each with the
// time it must go (now or earlier: at once). Pods already terminal or being deleted are left
// alone. A taint without timeAdded counts as added at now.
func Plan(node *api.Node, pods []*api.Pod, now time.Time) []Eviction {
	var taints []*api.Taint
	for i := range node.Spec.Taints {
		if node.Spec.Taints[i].Effect == api.TaintNoExecute {
			taints = append(taints, &node.Spec.Taints[i])
		}
	}
	if len(taints) == 0 {
		return nil
	}
	var out []Eviction
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
			continue
		}
		if at, evict := evictAt(p, taints, now); evict {
			out = append(out, Eviction{Pod: p, At: at})
		}
	}
	return out
}

// evictAt is when taints evict p, by Kubernetes' rule: each taint is matched by the first
// toleration of the pod that tolerates it; an untolerated taint, or a matching toleration of
// zero or fewer seconds, evicts now; otherwise the shortest bounded matching toleration counts
// from when its taint was added. evict is false when every matching toleration is unbounded.
// The rule reads the pod's tolerations as they are now, so a pod update that changes
// tolerationSeconds (the only change Kubernetes allows besides adding tolerations) moves the
// eviction.
func evictAt(p *api.Pod, taints []*api.Taint, now time.Time) (at time.Time, evict bool) {
	for _, t := range taints {
		var tol *api.Toleration
		for i := range p.Spec.Tolerations {
			if p.Spec.Tolerations[i].ToleratesTaint(t) {
				tol = &p.Spec.Tolerations[i]
				break
			}
		}
		switch {
		case tol == nil:
			return now, true
		case tol.TolerationSeconds == nil:
			continue
		case *tol.TolerationSeconds <= 0:
			return now, true
		}
		added := now
		if t.TimeAdded != nil && !t.TimeAdded.IsZero() {
			added = t.TimeAdded.Time
		}
		end := added.Add(time.Duration(*tol.TolerationSeconds) * time.Second)
		if !evict || end.Before(at) {
			at, evict = end, true
		}
	}
	return at, evict
}
