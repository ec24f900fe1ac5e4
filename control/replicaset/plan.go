package replicaset

import (
	"fmt"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/controller"
)

// BurstReplicas bounds the pods created or deleted in one reconcile, as in Kubernetes.
const BurstReplicas = 500

// Snapshot is what the replicaset controller sees of one ReplicaSet.
type Snapshot struct {
	RS *api.ReplicaSet
	// Pods are the pods of the ReplicaSet's namespace; Plan ignores those it may not claim.
	Pods []*api.Pod
	// Related are the pods of the ReplicaSet and its siblings (same controlling owner), used to
	// spread what remains after a scale-down; nil means the ReplicaSet's own pods.
	Related []*api.Pod
	// Manage is false while earlier creations or deletions have not been observed yet; the plan
	// then neither creates nor deletes, so a stale snapshot cannot overshoot.
	Manage bool
	Now    time.Time
}

// Plan is what the controller must write for one ReplicaSet. Applying it and planning again
// from the resulting state yields an empty plan.
type Plan struct {
	// Selector is the ReplicaSet's parsed selector; nil when it is invalid (Err says why).
	Selector labels.Selector
	// Owned are the active pods the ReplicaSet controls once Adopt and Release are written.
	Owned []*api.Pod
	// Adopt are orphans to take over; Release are controlled pods that stopped matching.
	Adopt, Release []*api.Pod
	// Create is how many pods to create from the template.
	Create int
	// Delete are the pods to delete, best candidates first.
	Delete []*api.Pod
	// RequeueAfter, when positive, is when a ready pod becomes available (minReadySeconds).
	RequeueAfter time.Duration
	// Err is set when the ReplicaSet cannot be managed (an invalid selector).
	Err error
}

// Compute decides what should change for s.RS, as Kubernetes' syncReplicaSet: claim the active
// pods of the namespace that the selector matches, then create or delete the difference to
// spec.replicas (at most BurstReplicas) when s.Manage, deleting the best candidates first.
func Compute(s Snapshot) Plan {
	rs := s.RS
	var p Plan
	sel, err := api.SelectorOf(rs.Spec.Selector)
	if err != nil {
		p.Err = fmt.Errorf("parse selector of replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
		return p
	}
	p.Selector = sel
	var active []*api.Pod
	for _, pod := range s.Pods {
		if controller.IsPodActive(pod) {
			active = append(active, pod)
		}
	}
	c := controller.ClaimObjects(&rs.ObjectMeta, sel, active)
	p.Owned, p.Adopt, p.Release = c.Owned, c.Adopt, c.Release

	if s.Manage && rs.DeletionTimestamp == nil {
		diff := len(p.Owned) - int(api.Deref(rs.Spec.Replicas, 1))
		switch {
		case diff < 0:
			p.Create = min(-diff, BurstReplicas)
		case diff > 0:
			related := s.Related
			if related == nil {
				related = p.Owned
			}
			p.Delete = PodsToDelete(p.Owned, related, min(diff, BurstReplicas), s.Now)
		}
	}
	if rs.Spec.MinReadySeconds > 0 {
		for _, pod := range p.Owned {
			if d := controller.AvailableIn(pod, rs.Spec.MinReadySeconds, s.Now); d > 0 && (p.RequeueAfter == 0 || d < p.RequeueAfter) {
				p.RequeueAfter = d
			}
		}
	}
	return p
}

// Condition reasons of the ReplicaFailure condition.
const (
	ReasonFailedCreate = "FailedCreate"
	ReasonFailedDelete = "FailedDelete"
)

// Status computes the status of rs from the pods it owns, as Kubernetes' calculateStatus:
// replicas, fully labeled (all template labels), ready, available (ready for minReadySeconds),
// observedGeneration; a ReplicaFailure condition while manageErr is set, removed once it is not.
func Status(rs *api.ReplicaSet, owned []*api.Pod, manageErr error, now time.Time) api.ReplicaSetStatus {
	st := api.ReplicaSetStatus{
		ObservedGeneration: rs.Generation,
		Conditions:         append([]api.ReplicaSetCondition(nil), rs.Status.Conditions...),
	}
	tmpl := labels.SelectorFromSet(rs.Spec.Template.Labels)
	for _, pod := range owned {
		st.Replicas++
		if tmpl.Matches(labels.Set(pod.Labels)) {
			st.FullyLabeledReplicas++
		}
		if controller.IsPodReady(pod) {
			st.ReadyReplicas++
			if controller.IsPodAvailable(pod, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
	}
	i := conditionIndex(st.Conditions, api.DeploymentReplicaFailure)
	switch {
	case manageErr != nil && i < 0:
		reason := ""
		if diff := len(owned) - int(api.Deref(rs.Spec.Replicas, 1)); diff < 0 {
			reason = ReasonFailedCreate
		} else if diff > 0 {
			reason = ReasonFailedDelete
		}
		st.Conditions = append(st.Conditions, api.ReplicaSetCondition{
			Type: api.DeploymentReplicaFailure, Status: api.ConditionTrue,
			LastTransitionTime: api.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && i >= 0:
		st.Conditions = append(st.Conditions[:i:i], st.Conditions[i+1:]...)
	}
	if len(st.Conditions) == 0 {
		st.Conditions = nil
	}
	return st
}

func conditionIndex(cs []api.ReplicaSetCondition, t string) int {
	for i := range cs {
		if cs[i].Type == t {
			return i
		}
	}
	return -1
}

// NewPod is the pod rs creates: its template, named "<rs>-" plus what the API server
// generates, controlled by rs.
func NewPod(rs *api.ReplicaSet) *api.Pod {
	t := controller.Clone(&rs.Spec.Template)
	return &api.Pod{
		TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []api.OwnerReference{controller.ControllerRef(&rs.ObjectMeta, "apps/v1", "ReplicaSet")},
		},
		Spec: t.Spec,
	}
}

// SlowStartBatches splits n creations into batches of 1, 2, 4, ... as Kubernetes'
// slowStartBatch, so a template that cannot be created fails once, not n times.
func SlowStartBatches(n int) []int {
	var out []int
	for size := 1; n > 0; size *= 2 {
		b := min(size, n)
		out = append(out, b)
		n -= b
	}
	return out
}
