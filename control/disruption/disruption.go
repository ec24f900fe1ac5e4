// Package disruption owns the disruption controller: it keeps the status of every
// PodDisruptionBudget (expected, healthy and desired pods, the disruptions allowed now, the
// DisruptionAllowed condition) as Kubernetes' pkg/controller/disruption does, and expires
// the disruptedPods entries that the pods/eviction subresource records. Compute is the pure
// core; Controller is the loop around it. It evicts nothing itself: the API server's
// eviction subresource spends the budget this controller computes.
package disruption

import (
	"fmt"
	"maps"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

// DeletionTimeout is how long an eviction's disruptedPods entry counts its pod as gone
// before the pod is seen deleted; past it the pod counts again (Kubernetes' 2 minutes).
const DeletionTimeout = 2 * time.Minute

// Workload is the scale of a pod's controller: the replicas it wants.
type Workload struct {
	UID   string
	Scale int32
}

// Snapshot is what Compute reads.
type Snapshot struct {
	PDB *api.PodDisruptionBudget
	// Pods are the pods of the PDB's namespace that its selector matches.
	Pods []*api.Pod
	// ScaleOf finds the workload that controls a pod (its ReplicaSet's Deployment, the
	// ReplicaSet, a Job), ok false when there is none it knows.
	ScaleOf func(pod *api.Pod, ref *api.OwnerReference) (w Workload, ok bool)
	Now     time.Time
}

// Result is the status to write and when to look again.
type Result struct {
	Status api.PodDisruptionBudgetStatus
	// RecheckAfter, when positive, is when the first disruptedPods entry expires.
	RecheckAfter time.Duration
	// Err is why the status could not be computed: the status then allows no disruption
	// (Kubernetes' failSafe) with the SyncFailed reason.
	Err error
}

// Compute is the status Kubernetes' disruption controller writes for s.PDB.
func Compute(s Snapshot) Result {
	pdb := s.PDB
	expected, desired, err := expectedPods(s)
	if err != nil {
		st := pdb.Status
		st.DisruptionsAllowed = 0
		st.DisruptedPods = maps.Clone(st.DisruptedPods)
		st.Conditions = append([]api.Condition(nil), st.Conditions...)
		api.SetCondition(&st.Conditions, api.Condition{Type: api.DisruptionAllowedCondition, Status: api.ConditionFalse,
			Reason: api.SyncFailedReason, Message: err.Error(), ObservedGeneration: st.ObservedGeneration}, api.NewTime(s.Now))
		return Result{Status: st, Err: err}
	}
	disrupted, recheck := disruptedPods(s.Pods, pdb.Status.DisruptedPods, s.Now)
	healthy := int32(0)
	for _, p := range s.Pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if _, ok := disrupted[p.Name]; ok {
			continue
		}
		if controller.IsPodReady(p) {
			healthy++
		}
	}
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	st := api.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		DisruptedPods:      disrupted,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
		Conditions:         append([]api.Condition(nil), pdb.Status.Conditions...),
	}
	c := api.Condition{Type: api.DisruptionAllowedCondition, Status: api.ConditionFalse,
		Reason: api.InsufficientPodsReason, ObservedGeneration: st.ObservedGeneration}
	if allowed > 0 {
		c.Status, c.Reason = api.ConditionTrue, api.SufficientPodsReason
	}
	api.SetCondition(&st.Conditions, c, api.NewTime(s.Now))
	r := Result{Status: st}
	if recheck != nil {
		r.RecheckAfter = recheck.Sub(s.Now)
	}
	return r
}

// expectedPods is Kubernetes' getExpectedPodCount: an integer minAvailable counts the
// matched pods; a percentage, or maxUnavailable, counts the scale of their controllers.
func expectedPods(s Snapshot) (expected, desired int32, err error) {
	spec := &s.PDB.Spec
	switch {
	case spec.MaxUnavailable != nil:
		if expected, err = expectedScale(s); err != nil {
			return 0, 0, err
		}
		n, err := spec.MaxUnavailable.ScaledValue(int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		desired = max(expected-int32(n), 0)
	case spec.MinAvailable != nil && !spec.MinAvailable.IsString:
		desired = spec.MinAvailable.IntVal
		expected = int32(len(s.Pods))
	case spec.MinAvailable != nil:
		if expected, err = expectedScale(s); err != nil {
			return 0, 0, err
		}
		n, err := spec.MinAvailable.ScaledValue(int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		desired = int32(n)
	}
	return expected, desired, nil
}

// expectedScale sums the scale of every controller of the pods, each once. A pod without a
// controller counts as one pod (Kubernetes counts it as none and warns; see RATIONALE.md).
func expectedScale(s Snapshot) (int32, error) {
	scales := map[string]int32{} // by workload UID: a Deployment's ReplicaSets count once
	bare := int32(0)
	for _, p := range s.Pods {
		ref := api.ControllerOf(&p.ObjectMeta)
		if ref == nil {
			bare++
			continue
		}
		w, ok := s.ScaleOf(p, ref)
		if !ok {
			return 0, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		scales[w.UID] = w.Scale
	}
	total := bare
	for _, n := range scales {
		total += n
	}
	return total, nil
}

// disruptedPods keeps the entries of pods not yet seen deleted whose timeout has not
// passed, and returns when the first of them expires.
func disruptedPods(pods []*api.Pod, recorded map[string]api.Time, now time.Time) (map[string]api.Time, *time.Time) {
	out := map[string]api.Time{}
	if len(recorded) == 0 {
		return out, nil
	}
	var recheck *time.Time
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		at, ok := recorded[p.Name]
		if !ok {
			continue
		}
		expires := at.Add(DeletionTimeout)
		if expires.Before(now) {
			continue
		}
		if recheck == nil || expires.Before(*recheck) {
			recheck = &expires
		}
		out[p.Name] = at
	}
	return out, recheck
}

// SameStatus reports whether writing b over a would change nothing.
func SameStatus(a, b *api.PodDisruptionBudgetStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.DisruptionsAllowed != b.DisruptionsAllowed ||
		a.CurrentHealthy != b.CurrentHealthy || a.DesiredHealthy != b.DesiredHealthy ||
		a.ExpectedPods != b.ExpectedPods || len(a.Conditions) != len(b.Conditions) ||
		len(a.DisruptedPods) != len(b.DisruptedPods) {
		return false
	}
	for k, v := range a.DisruptedPods {
		if w, ok := b.DisruptedPods[k]; !ok || !w.Equal(v.Time) {
			return false
		}
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message ||
			x.ObservedGeneration != y.ObservedGeneration || !x.LastTransitionTime.Equal(y.LastTransitionTime.Time) {
			return false
		}
	}
	return true
}
