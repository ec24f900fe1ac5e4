package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/policy"
)

func tainted(n *api.Node, taints ...api.Taint) *api.Node {
	n.Spec.Taints = taints
	return n
}

func withTolerations(p *api.Pod, ts ...api.Toleration) *api.Pod {
	p.Spec.Tolerations = ts
	return p
}

func TestTaintToleration(t *testing.T) {
	noSched := api.Taint{Key: "gpu", Value: "yes", Effect: api.TaintNoSchedule}
	noExec := api.Taint{Key: "dying", Effect: api.TaintNoExecute}
	prefer := api.Taint{Key: "spot", Value: "1", Effect: api.TaintPreferNoSchedule}
	for _, tc := range []struct {
		name   string
		pod    *api.Pod
		taints []api.Taint
		reason string
		score  float64
	}{
		{"no taints", pod("p", "", "", nil), nil, "", MaxScore},
		{"untolerated NoSchedule", pod("p", "", "", nil), []api.Taint{noSched}, "node(s) had untolerated taint {gpu: yes}", 0},
		{"untolerated NoExecute", pod("p", "", "", nil), []api.Taint{noExec}, "node(s) had untolerated taint {dying: }", 0},
		{"equal", withTolerations(pod("p", "", "", nil), api.Toleration{Key: "gpu", Operator: "Equal", Value: "yes"}), []api.Taint{noSched}, "", MaxScore},
		{"equal wrong value", withTolerations(pod("p", "", "", nil), api.Toleration{Key: "gpu", Value: "no"}), []api.Taint{noSched}, "node(s) had untolerated taint {gpu: yes}", 0},
		{"exists", withTolerations(pod("p", "", "", nil), api.Toleration{Key: "gpu", Operator: "Exists"}), []api.Taint{noSched}, "", MaxScore},
		{"wrong effect", withTolerations(pod("p", "", "", nil), api.Toleration{Key: "gpu", Operator: "Exists", Effect: api.TaintNoExecute}), []api.Taint{noSched}, "node(s) had untolerated taint {gpu: yes}", 0},
		{"tolerate all", withTolerations(pod("p", "", "", nil), api.Toleration{Operator: "Exists"}), []api.Taint{noSched, noExec, prefer}, "", MaxScore},
		{"prefer passes but scores low", pod("p", "", "", nil), []api.Taint{prefer}, "", MaxScore / 2},
		{"prefer tolerated", withTolerations(pod("p", "", "", nil), api.Toleration{Key: "spot", Operator: "Exists"}), []api.Taint{prefer}, "", MaxScore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNodeInfo(tainted(node("n", "1", "1Gi", 10, true, nil), tc.taints...))
			ok, reason := TaintToleration{}.Filter(NewPodInfo(tc.pod), n)
			if ok != (tc.reason == "") || reason != tc.reason {
				t.Fatalf("Filter = %v %q, want %q", ok, reason, tc.reason)
			}
			if tc.reason == "" {
				if s := (TaintToleration{}).Score(NewPodInfo(tc.pod), n); s != tc.score {
					t.Fatalf("Score = %v, want %v", s, tc.score)
				}
			}
		})
	}
}

func withNodeAffinity(p *api.Pod, req []api.NodeSelectorTerm, pref ...api.PreferredSchedulingTerm) *api.Pod {
	na := &api.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: pref}
	if req != nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &api.NodeSelector{NodeSelectorTerms: req}
	}
	p.Spec.Affinity = &api.Affinity{NodeAffinity: na}
	return p
}

func expr(key, op string, vals ...string) api.NodeSelectorRequirement {
	return api.NodeSelectorRequirement{Key: key, Operator: op, Values: vals}
}

func TestNodeAffinity(t *testing.T) {
	n := NewNodeInfo(node("n1", "1", "1Gi", 10, true, map[string]string{"zone": "a", "cores": "8"}))
	term := func(rs ...api.NodeSelectorRequirement) api.NodeSelectorTerm {
		return api.NodeSelectorTerm{MatchExpressions: rs}
	}
	for _, tc := range []struct {
		name string
		req  []api.NodeSelectorTerm
		want bool
	}{
		{"none", nil, true},
		{"in", []api.NodeSelectorTerm{term(expr("zone", "In", "a", "b"))}, true},
		{"in miss", []api.NodeSelectorTerm{term(expr("zone", "In", "b"))}, false},
		{"notin", []api.NodeSelectorTerm{term(expr("zone", "NotIn", "b"))}, true},
		{"notin absent", []api.NodeSelectorTerm{term(expr("gpu", "NotIn", "x"))}, true},
		{"exists", []api.NodeSelectorTerm{term(expr("zone", "Exists"))}, true},
		{"doesnotexist", []api.NodeSelectorTerm{term(expr("zone", "DoesNotExist"))}, false},
		{"gt", []api.NodeSelectorTerm{term(expr("cores", "Gt", "4"))}, true},
		{"lt", []api.NodeSelectorTerm{term(expr("cores", "Lt", "4"))}, false},
		{"gt not a number", []api.NodeSelectorTerm{term(expr("zone", "Gt", "4"))}, false},
		{"all of a term", []api.NodeSelectorTerm{term(expr("zone", "In", "a"), expr("cores", "Lt", "4"))}, false},
		{"any term", []api.NodeSelectorTerm{term(expr("zone", "In", "b")), term(expr("cores", "Gt", "1"))}, true},
		{"field", []api.NodeSelectorTerm{{MatchFields: []api.NodeSelectorRequirement{expr("metadata.name", "In", "n1")}}}, true},
		{"field miss", []api.NodeSelectorTerm{{MatchFields: []api.NodeSelectorRequirement{expr("metadata.name", "NotIn", "n1")}}}, false},
		{"empty term", []api.NodeSelectorTerm{{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := NodeAffinity{}.Filter(NewPodInfo(withNodeAffinity(pod("p", "", "", nil), tc.req)), n)
			if ok != tc.want || (!ok && reason != ReasonNodeSelector) {
				t.Fatalf("Filter = %v %q, want %v", ok, reason, tc.want)
			}
		})
	}
	t.Run("preferred", func(t *testing.T) {
		p := NewPodInfo(withNodeAffinity(pod("p", "", "", nil), nil,
			api.PreferredSchedulingTerm{Weight: 30, Preference: term(expr("zone", "In", "a"))},
			api.PreferredSchedulingTerm{Weight: 10, Preference: term(expr("zone", "In", "b"))}))
		if s := (NodeAffinity{}).Score(p, n); s != 75 {
			t.Fatalf("Score = %v, want 75", s)
		}
	})
}

// cluster builds a snapshot of nodes named n0.. in zones, with pods placed on them.
func cluster(zones []string, placed map[int][]*api.Pod) *Snapshot {
	s := NewSnapshot()
	for i, z := range zones {
		s.SetNode(node(fmt.Sprintf("n%d", i), "4", "8Gi", 110, true, map[string]string{"zone": z, api.LabelHostname: fmt.Sprintf("n%d", i)}))
	}
	for i, ps := range placed {
		for _, p := range ps {
			s.PlacePod(NewPodInfo(p), fmt.Sprintf("n%d", i))
		}
	}
	return s
}

func labelled(name string, l map[string]string) *api.Pod {
	p := pod(name, "", "", nil)
	p.Labels = l
	return p
}

func selector(l map[string]string) *api.LabelSelector { return &api.LabelSelector{MatchLabels: l} }

func TestInterPodAffinity(t *testing.T) {
	web := map[string]string{"app": "web"}
	db := map[string]string{"app": "db"}
	anti := func(p *api.Pod, key string, l map[string]string) *api.Pod {
		p.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{
			{LabelSelector: selector(l), TopologyKey: key}}}}
		return p
	}
	aff := func(p *api.Pod, key string, l map[string]string) *api.Pod {
		p.Spec.Affinity = &api.Affinity{PodAffinity: &api.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{
			{LabelSelector: selector(l), TopologyKey: key}}}}
		return p
	}
	zones := []string{"a", "a", "b"}
	for _, tc := range []struct {
		name   string
		placed map[int][]*api.Pod
		pod    *api.Pod
		want   []string // reason per node, "" passes
	}{
		{"anti by host", map[int][]*api.Pod{0: {labelled("w", web)}}, anti(labelled("p", web), api.LabelHostname, web),
			[]string{ReasonPodAntiAffinity, "", ""}},
		{"anti by zone", map[int][]*api.Pod{0: {labelled("w", web)}}, anti(labelled("p", web), "zone", web),
			[]string{ReasonPodAntiAffinity, ReasonPodAntiAffinity, ""}},
		{"anti other namespace", map[int][]*api.Pod{0: {func() *api.Pod { p := labelled("w", web); p.Namespace = "x"; return p }()}},
			anti(labelled("p", web), "zone", web), []string{"", "", ""}},
		{"existing pod's anti", map[int][]*api.Pod{2: {anti(labelled("d", db), "zone", web)}}, labelled("p", web),
			[]string{"", "", ReasonExistingAntiAffinity}},
		{"affinity by zone", map[int][]*api.Pod{1: {labelled("d", db)}}, aff(labelled("p", web), "zone", db),
			[]string{"", "", ReasonPodAffinity}},
		{"affinity nothing to join", nil, aff(labelled("p", web), "zone", db),
			[]string{ReasonPodAffinity, ReasonPodAffinity, ReasonPodAffinity}},
		{"affinity first of its group", nil, aff(labelled("p", web), "zone", web), []string{"", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(zones, tc.placed)
			pi := NewPodInfo(tc.pod)
			s.Prepare(pi)
			for i, n := range s.Nodes() {
				ok, reason := InterPodAffinity{}.Filter(pi, n)
				if ok != (tc.want[i] == "") || reason != tc.want[i] {
					t.Errorf("%s: %v %q, want %q", n.Name, ok, reason, tc.want[i])
				}
			}
		})
	}
	t.Run("preferred", func(t *testing.T) {
		s := cluster(zones, map[int][]*api.Pod{0: {labelled("d", db)}, 2: {labelled("w", web)}})
		p := labelled("p", web)
		p.Spec.Affinity = &api.Affinity{
			PodAffinity: &api.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []api.WeightedPodAffinityTerm{
				{Weight: 50, PodAffinityTerm: api.PodAffinityTerm{LabelSelector: selector(db), TopologyKey: "zone"}}}},
			PodAntiAffinity: &api.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []api.WeightedPodAffinityTerm{
				{Weight: 50, PodAffinityTerm: api.PodAffinityTerm{LabelSelector: selector(web), TopologyKey: "zone"}}}},
		}
		pi := NewPodInfo(p)
		s.Prepare(pi)
		want := []float64{100, 100, 0}
		for i, n := range s.Nodes() {
			if got := (InterPodAffinity{}).Score(pi, n); got != want[i] {
				t.Errorf("%s: score %v, want %v", n.Name, got, want[i])
			}
		}
	})
}

func TestTopologySpread(t *testing.T) {
	web := map[string]string{"app": "web"}
	spread := func(skew int32, when string) *api.Pod {
		p := labelled("p", web)
		p.Spec.TopologySpreadConstraints = []api.TopologySpreadConstraint{{MaxSkew: skew, TopologyKey: "zone", WhenUnsatisfiable: when, LabelSelector: selector(web)}}
		return p
	}
	placed := map[int][]*api.Pod{0: {labelled("w0", web), labelled("w1", web)}, 1: {labelled("w2", web)}}
	zones := []string{"a", "b", "c"}
	for _, tc := range []struct {
		name  string
		pod   *api.Pod
		want  []string
		score []float64
	}{
		{"skew 1", spread(1, api.DoNotSchedule), []string{ReasonTopologySpread, ReasonTopologySpread, ""}, nil},
		{"skew 2", spread(2, api.DoNotSchedule), []string{ReasonTopologySpread, "", ""}, nil},
		{"skew 3", spread(3, api.DoNotSchedule), []string{"", "", ""}, nil},
		{"anyway", spread(1, api.ScheduleAnyway), []string{"", "", ""}, []float64{100.0 / 3, 200.0 / 3, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(zones, placed)
			pi := NewPodInfo(tc.pod)
			s.Prepare(pi)
			for i, n := range s.Nodes() {
				ok, reason := TopologySpread{}.Filter(pi, n)
				if ok != (tc.want[i] == "") || reason != tc.want[i] {
					t.Errorf("%s: %v %q, want %q", n.Name, ok, reason, tc.want[i])
				}
				if tc.score != nil {
					if got := (TopologySpread{}).Score(pi, n); math.Abs(got-tc.score[i]) > 1e-9 {
						t.Errorf("%s: score %v, want %v", n.Name, got, tc.score[i])
					}
				}
			}
		})
	}
	t.Run("missing label", func(t *testing.T) {
		s := cluster(zones, nil)
		s.SetNode(node("bare", "4", "8Gi", 110, true, nil))
		pi := NewPodInfo(spread(1, api.DoNotSchedule))
		s.Prepare(pi)
		n, _ := s.Node("bare")
		if ok, reason := (TopologySpread{}).Filter(pi, n); ok || reason != ReasonSpreadMissingLabel {
			t.Fatalf("Filter = %v %q", ok, reason)
		}
	})
}

func TestResourceScoring(t *testing.T) {
	empty := NewNodeInfo(node("e", "4", "4Gi", 10, true, nil))
	busy := NewNodeInfo(node("b", "4", "4Gi", 10, true, nil))
	busy.AddPod("default/x", Resources{MilliCPU: 2000, Memory: 2 << 30, Pods: 1})
	p := NewPodInfo(pod("p", "", "", nil))
	for _, tc := range []struct {
		name   string
		scorer Scorer
		better *NodeInfo
	}{
		{"least allocated spreads", LeastAllocated{}, empty},
		{"most allocated packs", MostAllocated{}, busy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			worse := empty
			if tc.better == empty {
				worse = busy
			}
			if a, b := tc.scorer.Score(p, tc.better), tc.scorer.Score(p, worse); a <= b {
				t.Fatalf("%s scored %v, %s %v", tc.better.Name, a, worse.Name, b)
			}
		})
	}
}

func TestImageLocality(t *testing.T) {
	n := node("n", "1", "1Gi", 10, true, nil)
	n.Annotations = map[string]string{ModulesAnnotation: "m:v1, other@sha256:abc"}
	two := pod("p", "", "", nil)
	two.Spec.Containers = append(two.Spec.Containers, api.Container{Name: "d", Image: "absent:v1"})
	for _, tc := range []struct {
		name string
		pod  *api.Pod
		node *api.Node
		want float64
	}{
		{"held", pod("p", "", "", nil), n, MaxScore},
		{"half", two, n, MaxScore / 2},
		{"no annotation", pod("p", "", "", nil), node("n", "1", "1Gi", 10, true, nil), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (ImageLocality{}).Score(NewPodInfo(tc.pod), NewNodeInfo(tc.node)); got != tc.want {
				t.Fatalf("Score = %v, want %v", got, tc.want)
			}
		})
	}
}

func newEnv(t testing.TB, cfg policy.Config) *policy.SchedulingEnv {
	t.Helper()
	env, err := policy.NewSchedulingEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func newPolicies(t testing.TB, env *policy.SchedulingEnv, sps ...*api.SchedulingPolicy) *Policies {
	t.Helper()
	ps := NewPolicies(env)
	for _, sp := range sps {
		if err := ps.Set(sp); err != nil {
			t.Fatal(err)
		}
	}
	return ps
}

func schedPolicy(name string, sel map[string]string, filter, score string, weight int32) *api.SchedulingPolicy {
	sp := &api.SchedulingPolicy{ObjectMeta: api.ObjectMeta{Name: name},
		Spec: api.SchedulingPolicySpec{Filter: filter, Score: score, Weight: weight}}
	if sel != nil {
		sp.Spec.PodSelector = selector(sel)
	}
	return sp
}

const sameZone = `has(pod.metadata.labels.zone) ? node.metadata.labels.zone == pod.metadata.labels.zone : true`

func TestPolicyFilter(t *testing.T) {
	env := newEnv(t, policy.DefaultConfig())
	ps := newPolicies(t, env,
		schedPolicy("same-zone", map[string]string{"tier": "web"}, sameZone, "", 0),
		schedPolicy("free-memory", nil, "", `double(node.status.allocatable.memory - node.requested.memory) / 1e9`, 2),
		schedPolicy("missing-key", map[string]string{"tier": "broken"}, `node.metadata.labels["gpu"] == "yes"`, "", 0))
	a := NewNodeInfo(node("a", "1", "2Gi", 10, true, map[string]string{"zone": "a"}))
	b := NewNodeInfo(node("b", "1", "1Gi", 10, true, map[string]string{"zone": "b"}))
	for _, tc := range []struct {
		name   string
		labels map[string]string
		node   *NodeInfo
		reason string
		score  float64
	}{
		{"selected and matching", map[string]string{"tier": "web", "zone": "a"}, a, "", 2 * float64(2<<30) / 1e9},
		{"selected, other zone", map[string]string{"tier": "web", "zone": "a"}, b, "node(s) didn't match policy same-zone", 0},
		{"not selected", map[string]string{"zone": "a"}, b, "", 2 * float64(1<<30) / 1e9},
		{"evaluation error", map[string]string{"tier": "broken"}, a, "node(s) failed evaluation of policy missing-key", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pi := NewPodInfo(labelled("p", tc.labels))
			ps.Prepare(pi)
			f := PolicyFilter{Env: env}
			ok, reason := f.Filter(pi, tc.node)
			if ok != (tc.reason == "") || reason != tc.reason {
				t.Fatalf("Filter = %v %q, want %q", ok, reason, tc.reason)
			}
			if ok {
				if got := f.Score(pi, tc.node); got != tc.score {
					t.Fatalf("Score = %v, want %v", got, tc.score)
				}
			}
		})
	}
	t.Run("requested follows placements", func(t *testing.T) {
		n := NewNodeInfo(node("c", "1", "2Gi", 10, true, nil))
		pi := NewPodInfo(labelled("p", nil))
		ps.Prepare(pi)
		before := (PolicyFilter{Env: env}).Score(pi, n)
		n.AddPod("default/x", Resources{Memory: 1 << 30, Pods: 1})
		if after := (PolicyFilter{Env: env}).Score(pi, n); after >= before {
			t.Fatalf("score %v after placing 1Gi, %v before", after, before)
		}
	})
}

// TestPolicyCostLimit: an expression that runs over the evaluation budget at scheduling time
// excludes the node, and the reason says so.
func TestPolicyCostLimit(t *testing.T) {
	env := newEnv(t, policy.Config{CostLimit: 50, EstimatedCostLimit: math.MaxUint64})
	ps := newPolicies(t, env, schedPolicy("expensive", nil, `node.metadata.labels.all(k, k + "x" != "")`, "", 0))
	l := map[string]string{}
	for i := 0; i < 20; i++ {
		l[fmt.Sprintf("k%d", i)] = "v"
	}
	nodes := []*NodeInfo{NewNodeInfo(node("big", "1", "1Gi", 10, true, l)), NewNodeInfo(node("small", "1", "1Gi", 10, true, nil))}
	pi := NewPodInfo(pod("p", "", "", nil))
	ps.Prepare(pi)
	d := Schedule(pi, nodes, append(DefaultFilters(), PolicyFilter{Env: env}), DefaultScorers(), rand.New(rand.NewPCG(1, 2)))
	if d.Node != "small" || d.Reasons["node(s) exceeded the cost limit of policy expensive"] != 1 {
		t.Fatalf("decision %+v", d)
	}
}

// TestExplanationGolden is the explanation of the issue, word for word, from a real search
// over 5,000 nodes.
func TestExplanationGolden(t *testing.T) {
	env := newEnv(t, policy.DefaultConfig())
	ps := newPolicies(t, env, schedPolicy("same-zone", map[string]string{"tier": "web"}, sameZone, "", 0))
	s := NewSnapshot()
	for i := 0; i < 5000; i++ {
		zone, mem := "b", "8Gi"
		switch {
		case i < 3000:
			mem = "1Gi" // too small
		case i < 4990:
			zone = "c" // other zone
		}
		n := node(fmt.Sprintf("n%04d", i), "4", mem, 110, true, map[string]string{"zone": zone})
		if i >= 4990 {
			n.Spec.Taints = []api.Taint{{Key: "dedicated", Value: "batch", Effect: api.TaintNoSchedule}}
		}
		s.SetNode(n)
	}
	p := pod("p", "", "2Gi", nil)
	p.Labels = map[string]string{"tier": "web", "zone": "b"}
	pi := NewPodInfo(p)
	ps.Prepare(pi)
	s.Prepare(pi)
	d := ScheduleSample(pi, s.Nodes(), append(DefaultFilters(), PolicyFilter{Env: env}), DefaultScorers(),
		rand.New(rand.NewPCG(1, 2)), 1234, NodesToFind(5000, 0, 100))
	want := "0/5000 nodes are available: 3000 Insufficient memory, 1990 node(s) didn't match policy same-zone, 10 node(s) had untolerated taint {dedicated: batch}."
	if got := d.Message(); got != want {
		t.Fatalf("Message() =\n %q\nwant\n %q", got, want)
	}
}

func TestNodesToFind(t *testing.T) {
	for _, tc := range []struct {
		total, pct, want int
	}{
		{50, 0, 50}, {1000, 0, 420}, {5000, 0, 500}, {5000, 100, 5000}, {5000, 1, 100}, {100000, 0, 5000},
	} {
		t.Run(fmt.Sprint(tc.total, "/", tc.pct), func(t *testing.T) {
			if got := NodesToFind(tc.total, tc.pct, 100); got != tc.want {
				t.Fatalf("NodesToFind = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScheduleSampleRotates(t *testing.T) {
	var nodes []*NodeInfo
	for i := 0; i < 10; i++ {
		nodes = append(nodes, NewNodeInfo(node(fmt.Sprintf("n%d", i), "1", "1Gi", 10, true, nil)))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	next := 0
	for i := 0; i < 5; i++ {
		d := ScheduleSample(NewPodInfo(pod("p", "", "", nil)), nodes, DefaultFilters(), DefaultScorers(), rng, next, 2)
		if d.Examined != 2 || d.Feasible != 2 {
			t.Fatalf("decision %+v", d)
		}
		seen[d.Node] = true
		next = d.Next
	}
	if len(seen) != 5 {
		t.Fatalf("chose %v: the search did not move on", seen)
	}
	if !strings.HasPrefix(nodes[0].Name, "n") {
		t.Fatal("unreachable")
	}
}
