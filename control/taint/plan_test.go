package taint

import (
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestPlan(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	added := api.NewTime(now.Add(-30 * time.Second))
	noExec := api.Taint{Key: "dying", Effect: api.TaintNoExecute, TimeAdded: &added}
	noSched := api.Taint{Key: "gpu", Effect: api.TaintNoSchedule}
	pod := func(tols ...api.Toleration) *api.Pod {
		return &api.Pod{ObjectMeta: api.ObjectMeta{Name: "p", Namespace: "default"}, Spec: api.PodSpec{Tolerations: tols}}
	}
	secs := func(s int64) *int64 { return &s }
	for _, tc := range []struct {
		name   string
		taints []api.Taint
		pod    *api.Pod
		evict  bool
		at     time.Time
	}{
		{"no taints", nil, pod(), false, time.Time{}},
		{"NoSchedule does not evict", []api.Taint{noSched}, pod(), false, time.Time{}},
		{"untolerated", []api.Taint{noExec}, pod(), true, now},
		{"tolerated forever", []api.Taint{noExec}, pod(api.Toleration{Key: "dying", Operator: "Exists"}), false, time.Time{}},
		{"tolerated 60s", []api.Taint{noExec}, pod(api.Toleration{Key: "dying", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: secs(60)}),
			true, now.Add(30 * time.Second)},
		{"tolerated 10s, overdue", []api.Taint{noExec}, pod(api.Toleration{Key: "dying", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: secs(10)}),
			true, now.Add(-20 * time.Second)},
		{"first match decides: forever", []api.Taint{noExec}, pod(api.Toleration{Key: "dying", Operator: "Exists"},
			api.Toleration{Key: "dying", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: secs(60)}), false, time.Time{}},
		{"first match decides: bounded", []api.Taint{noExec}, pod(api.Toleration{Key: "dying", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: secs(60)},
			api.Toleration{Key: "dying", Operator: "Exists"}), true, now.Add(30 * time.Second)},
		{"zero seconds", []api.Taint{noExec}, pod(api.Toleration{Key: "dying", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: secs(0)}),
			true, now},
		{"terminal pod left", []api.Taint{noExec}, func() *api.Pod { p := pod(); p.Status.Phase = api.PodSucceeded; return p }(), false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n"}, Spec: api.NodeSpec{Taints: tc.taints}}
			got := Plan(n, []*api.Pod{tc.pod}, now)
			if (len(got) == 1) != tc.evict {
				t.Fatalf("Plan = %+v, want evict %v", got, tc.evict)
			}
			if tc.evict && !got[0].At.Equal(tc.at) {
				t.Fatalf("evict at %v, want %v", got[0].At, tc.at)
			}
		})
	}
}
