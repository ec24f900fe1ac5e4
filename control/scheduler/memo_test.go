package scheduler

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/policy"
)

// TestPolicyMemo: memoized policy results are used while a node is unchanged and dropped when
// its labels change, when pods are placed on it or removed (for a policy reading
// node.requested), and when the policy itself is updated.
func TestPolicyMemo(t *testing.T) {
	env := newEnv(t, policy.DefaultConfig())
	ps := newPolicies(t, env,
		schedPolicy("same-zone", map[string]string{"tier": "web"}, sameZone, "", 0),
		schedPolicy("empty", nil, `node.requested.pods < 1`, `-double(node.requested.pods)`, 1))
	s := NewSnapshot()
	for _, n := range []struct{ name, zone string }{{"a1", "a"}, {"a2", "a"}, {"b1", "b"}} {
		s.SetNode(node(n.name, "4", "8Gi", 110, true, map[string]string{"zone": n.zone}))
	}
	filters := append(DefaultFilters(), PolicyFilter{Env: env})
	scorers := append(DefaultScorers(), WeightedScorer{Scorer: PolicyFilter{Env: env}, Weight: 1})
	rng := rand.New(rand.NewPCG(1, 2))
	webA := labelled("w", map[string]string{"tier": "web", "zone": "a"})
	// feasible schedules a pod and returns the feasible nodes, sorted, and the decision; every
	// result is also checked against an evaluation without memo tables.
	feasible := func(t *testing.T, p *api.Pod) ([]string, Decision) {
		t.Helper()
		pi := NewPodInfo(p)
		ps.Prepare(pi)
		s.Prepare(pi)
		nodes := s.Nodes()
		d := Schedule(pi, nodes, filters, scorers, rng)
		var names []string
		for _, n := range nodes {
			ok, reason := PolicyFilter{Env: env}.Filter(pi, n)
			// The same node on its own, outside the snapshot: never memoized.
			fresh := NewNodeInfo(n.Node)
			for k, r := range n.Pods {
				fresh.AddPod(k, r)
			}
			wantOK, wantReason := PolicyFilter{Env: env}.Filter(pi, fresh)
			if ok != wantOK || reason != wantReason {
				t.Fatalf("node %s: memoized %v %q, evaluated %v %q", n.Name, ok, reason, wantOK, wantReason)
			}
			if got, want := (PolicyFilter{Env: env}).Score(pi, n), (PolicyFilter{Env: env}).Score(pi, fresh); got != want {
				t.Fatalf("node %s: memoized score %v, evaluated %v", n.Name, got, want)
			}
			if ok, _ := runFilters(pi, n, filters); ok {
				names = append(names, n.Name)
			}
		}
		sort.Strings(names)
		return names, d
	}
	same := func(t *testing.T, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("feasible %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("feasible %v, want %v", got, want)
			}
		}
	}

	got, _ := feasible(t, webA)
	same(t, got, "a1", "a2")
	// The results are in the memo now: the same-zone table holds a verdict for every node.
	pi := NewPodInfo(webA)
	ps.Prepare(pi)
	s.Prepare(pi)
	if len(pi.filters) != 2 || pi.filters[1].p.Name != "same-zone" || pi.filters[1].t == nil {
		t.Fatalf("policy filters %+v", pi.filters)
	}
	for _, n := range s.Nodes() {
		if e := pi.filters[1].t.entries[n.pos]; e.state&memoFiltered == 0 || e.gen != n.objGen {
			t.Fatalf("node %s: no memoized verdict (%+v)", n.Name, e)
		}
	}

	t.Run("labels change", func(t *testing.T) {
		s.SetNode(node("b1", "4", "8Gi", 110, true, map[string]string{"zone": "a"}))
		got, _ := feasible(t, webA)
		same(t, got, "a1", "a2", "b1")
		s.SetNode(node("a2", "4", "8Gi", 110, true, map[string]string{"zone": "b"}))
		got, _ = feasible(t, webA)
		same(t, got, "a1", "b1")
	})
	t.Run("pods placed and removed", func(t *testing.T) {
		s.PlacePod(NewPodInfo(labelled("x", nil)), "a1")
		got, d := feasible(t, webA)
		same(t, got, "b1")
		if d.Reasons["node(s) didn't match policy empty"] != 1 {
			t.Fatalf("reasons %v", d.Reasons)
		}
		s.RemovePod("default/x")
		got, _ = feasible(t, webA)
		same(t, got, "a1", "b1")
	})
	t.Run("policy updated", func(t *testing.T) {
		if err := ps.Set(schedPolicy("same-zone", map[string]string{"tier": "web"}, `node.metadata.labels.zone == "b"`, "", 0)); err != nil {
			t.Fatal(err)
		}
		got, _ := feasible(t, webA)
		same(t, got, "a2")
		ps.Delete("same-zone")
		got, _ = feasible(t, webA)
		same(t, got, "a1", "a2", "b1")
	})
	t.Run("node removed and added back", func(t *testing.T) {
		s.RemoveNode("a1")
		got, _ := feasible(t, webA)
		same(t, got, "a2", "b1")
		s.SetNode(node("a1", "4", "8Gi", 110, true, map[string]string{"zone": "a"}))
		s.PlacePod(NewPodInfo(labelled("y", nil)), "a1")
		got, _ = feasible(t, webA)
		same(t, got, "a2", "b1")
	})
}

// TestPolicyMemoCostLimit: a cost overrun is memoized like any result: the node stays
// excluded, with the cost reason, decision after decision.
func TestPolicyMemoCostLimit(t *testing.T) {
	env := newEnv(t, policy.Config{CostLimit: 50, EstimatedCostLimit: math.MaxUint64})
	ps := newPolicies(t, env, schedPolicy("expensive", nil, `node.metadata.labels.all(k, k + "x" != "")`, "", 0))
	big := map[string]string{}
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k20"} {
		big[k] = "v"
	}
	s := NewSnapshot()
	s.SetNode(node("big", "1", "1Gi", 10, true, big))
	s.SetNode(node("small", "1", "1Gi", 10, true, nil))
	for i := 0; i < 3; i++ {
		pi := NewPodInfo(pod("p", "", "", nil))
		ps.Prepare(pi)
		s.Prepare(pi)
		d := Schedule(pi, s.Nodes(), append(DefaultFilters(), PolicyFilter{Env: env}), DefaultScorers(), rand.New(rand.NewPCG(1, 2)))
		if d.Node != "small" || d.Reasons["node(s) exceeded the cost limit of policy expensive"] != 1 {
			t.Fatalf("decision %d: %+v", i, d)
		}
	}
}
