package scheduler

import (
	"cmp"
	"slices"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestPreemptBudgets: a PodDisruptionBudget steers preemption as in kube-scheduler, before
// the victims' priorities: the node whose victims violate fewer budgets wins, and on a node
// the pods whose eviction would violate one are the first given back.
func TestPreemptBudgets(t *testing.T) {
	labeled := func(p *api.Pod, app string) *api.Pod { p.Labels = map[string]string{"app": app}; return p }
	budget := func(app string, allowed int32, disrupted ...string) *api.PodDisruptionBudget {
		b := &api.PodDisruptionBudget{ObjectMeta: api.ObjectMeta{Name: app, Namespace: "default"},
			Spec:   api.PodDisruptionBudgetSpec{Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": app}}},
			Status: api.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, DisruptedPods: map[string]api.Time{}}}
		for _, d := range disrupted {
			b.Status.DisruptedPods[d] = api.Now()
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		placed  map[string][]*api.Pod
		budgets []*api.PodDisruptionBudget
		node    string
		victims []string
		mem     string // the incoming pod's request: 1Gi when empty
	}{
		{"without budgets the lower priority victim wins",
			map[string][]*api.Pod{"n1": {labeled(prioPod("db", 1, "", "1Gi", 1), "db")}, "n2": {labeled(prioPod("web", 5, "", "1Gi", 1), "web")}},
			nil, "n1", []string{"db"}, ""},
		{"a budget that allows nothing steers away, despite priority",
			map[string][]*api.Pod{"n1": {labeled(prioPod("db", 1, "", "1Gi", 1), "db")}, "n2": {labeled(prioPod("web", 5, "", "1Gi", 1), "web")}},
			[]*api.PodDisruptionBudget{budget("db", 0)}, "n2", []string{"web"}, ""},
		{"a budget that allows the disruption does not",
			map[string][]*api.Pod{"n1": {labeled(prioPod("db", 1, "", "1Gi", 1), "db")}, "n2": {labeled(prioPod("web", 5, "", "1Gi", 1), "web")}},
			[]*api.PodDisruptionBudget{budget("db", 1)}, "n1", []string{"db"}, ""},
		{"a pod the API server already counted spends nothing",
			map[string][]*api.Pod{"n1": {labeled(prioPod("db", 1, "", "1Gi", 1), "db")}, "n2": {labeled(prioPod("web", 5, "", "1Gi", 1), "web")}},
			[]*api.PodDisruptionBudget{budget("db", 0, "db")}, "n1", []string{"db"}, ""},
		{"on a node, the budgeted pod is reprieved first",
			map[string][]*api.Pod{"n1": {labeled(prioPod("guarded", 1, "", "512Mi", 1), "db"), labeled(prioPod("free", 2, "", "512Mi", 2), "web")},
				"n2": {prioPod("vip", 1000, "", "1Gi", 1)}},
			[]*api.PodDisruptionBudget{budget("db", 0)}, "n1", []string{"free"}, "512Mi"},
		{"on a node, without budgets the more important pod is reprieved",
			map[string][]*api.Pod{"n1": {labeled(prioPod("guarded", 1, "", "512Mi", 1), "db"), labeled(prioPod("free", 2, "", "512Mi", 2), "web")},
				"n2": {prioPod("vip", 1000, "", "1Gi", 1)}},
			nil, "n1", []string{"guarded"}, "512Mi"},
		{"fewest violations when every node violates",
			map[string][]*api.Pod{
				"n1": {labeled(prioPod("a1", 1, "", "512Mi", 1), "db"), labeled(prioPod("a2", 1, "", "512Mi", 2), "db")},
				"n2": {labeled(prioPod("b1", 9, "", "512Mi", 1), "db"), labeled(prioPod("b2", 9, "", "512Mi", 2), "web")}},
			[]*api.PodDisruptionBudget{budget("db", 0)}, "n2", []string{"b1", "b2"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := preemptCluster([]*api.Node{std("n1"), std("n2")}, tc.placed)
			s.SetBudgets(tc.budgets)
			pi := NewPodInfo(prioPod("p", 100, "", cmp.Or(tc.mem, "1Gi"), 9))
			s.Prepare(pi)
			pre := s.Preempt(pi, DefaultFilters(), 0)
			var got []string
			for _, v := range pre.Victims {
				got = append(got, v.Name)
			}
			if pre.Node != tc.node || !slices.Equal(got, tc.victims) {
				t.Fatalf("Preempt = %s %v, want %s %v", pre.Node, got, tc.node, tc.victims)
			}
		})
	}
}
