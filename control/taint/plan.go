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

// evictAt is when taints evict p: now for an untolerated taint, else the earliest end of a
// bounded toleration; evict is false when every taint is tolerated forever.
func evictAt(p *api.Pod, taints []*api.Taint, now time.Time) (at time.Time, evict bool) {
	for _, t := range taints {
		tolerated, forever := false, false
		var seconds int64 = -1
		for i := range p.Spec.Tolerations {
			tol := &p.Spec.Tolerations[i]
			if !tol.ToleratesTaint(t) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds == nil {
				forever = true
			} else if s := max(*tol.TolerationSeconds, 0); seconds < 0 || s < seconds {
				seconds = s
			}
		}
		switch {
		case !tolerated:
			return now, true
		case forever && seconds < 0:
			continue
		}
		added := now
		if t.TimeAdded != nil && !t.TimeAdded.IsZero() {
			added = t.TimeAdded.Time
		}
		end := added.Add(time.Duration(seconds) * time.Second)
		if !evict || end.Before(at) {
			at, evict = end, true
		}
	}
	return at, evict
}
