package disruption

import (
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func testPods(n, ready int, owner string) []*api.Pod {
	var out []*api.Pod
	for i := range n {
		p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: fmt.Sprintf("p-%d", i), Namespace: "default"}}
		if owner != "" {
			p.OwnerReferences = []api.OwnerReference{{Kind: "ReplicaSet", Name: owner, UID: owner, Controller: api.Ptr(true)}}
		}
		st := api.ConditionFalse
		if i < ready {
			st = api.ConditionTrue
		}
		p.Status.Phase = api.PodRunning
		p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: st}}
		out = append(out, p)
	}
	return out
}

func TestCompute(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	scale := func(n int32) func(*api.Pod, *api.OwnerReference) (Workload, bool) {
		return func(_ *api.Pod, ref *api.OwnerReference) (Workload, bool) {
			return Workload{UID: "deploy", Scale: n}, true
		}
	}
	i, s := func(v int32) *api.IntOrString { return api.Ptr(api.FromInt(v)) }, func(v string) *api.IntOrString { return api.Ptr(api.FromString(v)) }
	cases := []struct {
		name                              string
		spec                              api.PodDisruptionBudgetSpec
		pods                              []*api.Pod
		scale                             int32
		disrupted                         map[string]api.Time
		expected, healthy, desired, allow int32
		recheck                           time.Duration
	}{
		{name: "minAvailable int counts pods", spec: api.PodDisruptionBudgetSpec{MinAvailable: i(3)},
			pods: testPods(4, 4, "rs"), scale: 5, expected: 4, healthy: 4, desired: 3, allow: 1},
		{name: "minAvailable percent of the scale", spec: api.PodDisruptionBudgetSpec{MinAvailable: s("50%")},
			pods: testPods(4, 4, "rs"), scale: 5, expected: 5, healthy: 4, desired: 3, allow: 1},
		{name: "maxUnavailable int", spec: api.PodDisruptionBudgetSpec{MaxUnavailable: i(1)},
			pods: testPods(4, 3, "rs"), scale: 4, expected: 4, healthy: 3, desired: 3, allow: 0},
		{name: "maxUnavailable percent rounds up", spec: api.PodDisruptionBudgetSpec{MaxUnavailable: s("30%")},
			pods: testPods(4, 4, "rs"), scale: 4, expected: 4, healthy: 4, desired: 2, allow: 2},
		{name: "bare pods count themselves", spec: api.PodDisruptionBudgetSpec{MaxUnavailable: i(1)},
			pods: testPods(3, 3, ""), expected: 3, healthy: 3, desired: 2, allow: 1},
		{name: "no pods allow nothing", spec: api.PodDisruptionBudgetSpec{MaxUnavailable: i(1)}, expected: 0, allow: 0},
		{name: "recent disruption counts as gone", spec: api.PodDisruptionBudgetSpec{MinAvailable: i(2)},
			pods: testPods(4, 4, "rs"), scale: 4, disrupted: map[string]api.Time{"p-0": api.NewTime(now.Add(-time.Minute))},
			expected: 4, healthy: 3, desired: 2, allow: 1, recheck: time.Minute},
		{name: "old disruption expires", spec: api.PodDisruptionBudgetSpec{MinAvailable: i(2)},
			pods: testPods(4, 4, "rs"), scale: 4, disrupted: map[string]api.Time{"p-0": api.NewTime(now.Add(-3 * time.Minute))},
			expected: 4, healthy: 4, desired: 2, allow: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pdb := &api.PodDisruptionBudget{ObjectMeta: api.ObjectMeta{Name: "b", Generation: 3}, Spec: c.spec}
			pdb.Status.DisruptedPods = c.disrupted
			r := Compute(Snapshot{PDB: pdb, Pods: c.pods, ScaleOf: scale(c.scale), Now: now})
			st := r.Status
			if r.Err != nil || st.ExpectedPods != c.expected || st.CurrentHealthy != c.healthy || st.DesiredHealthy != c.desired ||
				st.DisruptionsAllowed != c.allow || st.ObservedGeneration != 3 || r.RecheckAfter != c.recheck {
				t.Fatalf("got %+v recheck %v err %v", st, r.RecheckAfter, r.Err)
			}
			cond := api.FindCondition(st.Conditions, api.DisruptionAllowedCondition)
			if want := c.allow > 0; cond == nil || (cond.Status == api.ConditionTrue) != want {
				t.Fatalf("condition %+v, want allowed=%v", cond, want)
			}
			if len(st.DisruptedPods) != len(c.disrupted) && c.recheck > 0 {
				t.Fatalf("disruptedPods %v", st.DisruptedPods)
			}
		})
	}
	t.Run("unknown controller fails safe", func(t *testing.T) {
		pdb := &api.PodDisruptionBudget{Spec: api.PodDisruptionBudgetSpec{MaxUnavailable: i(1)}}
		pdb.Status.DisruptionsAllowed = 3
		r := Compute(Snapshot{PDB: pdb, Pods: testPods(2, 2, "rs"), Now: now,
			ScaleOf: func(*api.Pod, *api.OwnerReference) (Workload, bool) { return Workload{}, false }})
		c := api.FindCondition(r.Status.Conditions, api.DisruptionAllowedCondition)
		if r.Err == nil || r.Status.DisruptionsAllowed != 0 || c == nil || c.Reason != api.SyncFailedReason {
			t.Fatalf("got %+v %v", r.Status, r.Err)
		}
	})
}
