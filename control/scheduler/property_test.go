package scheduler

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/policy"
)

// randomPod builds a pod that uses every kind of placement rule some of the time.
func randomPod(rng *rand.Rand, name string, zones, apps []string) *api.Pod {
	var sel map[string]string
	if rng.IntN(4) == 0 {
		sel = map[string]string{"zone": zones[rng.IntN(len(zones))]}
	}
	p := pod(name, fmt.Sprintf("%dm", rng.IntN(2000)), fmt.Sprintf("%dMi", rng.IntN(1024)), sel)
	app := apps[rng.IntN(len(apps))]
	p.Labels = map[string]string{"app": app, "zone": zones[rng.IntN(len(zones))]}
	if rng.IntN(2) == 0 {
		p.Labels["tier"] = "web"
	}
	if rng.IntN(2) == 0 {
		p.Spec.Tolerations = []api.Toleration{{Key: "dedicated", Operator: "Exists"}}
	}
	a := &api.Affinity{}
	term := func() api.PodAffinityTerm {
		keys := []string{"zone", api.LabelHostname}
		return api.PodAffinityTerm{LabelSelector: selector(map[string]string{"app": apps[rng.IntN(len(apps))]}), TopologyKey: keys[rng.IntN(2)]}
	}
	if rng.IntN(4) == 0 {
		a.NodeAffinity = &api.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{NodeSelectorTerms: []api.NodeSelectorTerm{
				{MatchExpressions: []api.NodeSelectorRequirement{expr("zone", "NotIn", zones[rng.IntN(len(zones))])}}}},
			PreferredDuringSchedulingIgnoredDuringExecution: []api.PreferredSchedulingTerm{
				{Weight: int32(1 + rng.IntN(100)), Preference: api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{expr("zone", "In", zones[rng.IntN(len(zones))])}}}},
		}
	}
	if rng.IntN(4) == 0 {
		a.PodAntiAffinity = &api.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{term()},
			PreferredDuringSchedulingIgnoredDuringExecution: []api.WeightedPodAffinityTerm{{Weight: 10, PodAffinityTerm: term()}}}
	}
	if rng.IntN(4) == 0 {
		a.PodAffinity = &api.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{term()},
			PreferredDuringSchedulingIgnoredDuringExecution: []api.WeightedPodAffinityTerm{{Weight: 10, PodAffinityTerm: term()}}}
	}
	p.Spec.Affinity = a
	if rng.IntN(3) == 0 {
		whens := []string{api.DoNotSchedule, api.ScheduleAnyway}
		p.Spec.TopologySpreadConstraints = []api.TopologySpreadConstraint{{MaxSkew: int32(1 + rng.IntN(2)), TopologyKey: "zone",
			WhenUnsatisfiable: whens[rng.IntN(2)], LabelSelector: selector(map[string]string{"app": app})}}
	}
	return p
}

// TestScheduleMatchesBruteForce holds Schedule, with every built-in plugin and policies,
// against a plain search: the chosen node passes every filter and no feasible node scores
// higher; with no feasible node, none is chosen. It also holds the bounded search to the same
// rule over the nodes it examined.
func TestScheduleMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	env := newEnv(t, policy.DefaultConfig())
	ps := newPolicies(t, env,
		schedPolicy("same-zone", map[string]string{"tier": "web"}, sameZone, "", 0),
		schedPolicy("free-memory", nil, "", `double(node.status.allocatable.memory - node.requested.memory) / 1e9`, 2),
		schedPolicy("few-pods", nil, `node.requested.pods < 4`, `-node.requested.pods`, 5))
	filters := append(DefaultFilters(), PolicyFilter{Env: env})
	zones, apps := []string{"a", "b", "c"}, []string{"web", "db", "cache"}
	for iter := 0; iter < 400; iter++ {
		s := NewSnapshot()
		for i := 0; i < 1+rng.IntN(30); i++ {
			name := fmt.Sprintf("n%02d", i)
			n := node(name, fmt.Sprint(1+rng.IntN(4)), fmt.Sprintf("%dMi", 256*(1+rng.IntN(8))),
				int64(1+rng.IntN(8)), rng.IntN(10) > 0, map[string]string{"zone": zones[rng.IntN(3)], api.LabelHostname: name})
			n.Spec.Unschedulable = rng.IntN(20) == 0
			switch rng.IntN(6) {
			case 0:
				n.Spec.Taints = []api.Taint{{Key: "dedicated", Value: "x", Effect: api.TaintNoSchedule}}
			case 1:
				n.Spec.Taints = []api.Taint{{Key: "spot", Effect: api.TaintPreferNoSchedule}}
			}
			if rng.IntN(3) == 0 {
				n.Annotations = map[string]string{ModulesAnnotation: "m:v1"}
			}
			s.SetNode(n)
			for j := 0; j < rng.IntN(4); j++ {
				s.PlacePod(NewPodInfo(randomPod(rng, fmt.Sprintf("x%d-%d", i, j), zones, apps)), name)
			}
		}
		scoring := []string{ScoringLeastAllocated, ScoringMostAllocated}[rng.IntN(2)]
		scorers := append(ScorersFor(scoring), WeightedScorer{Scorer: PolicyFilter{Env: env}, Weight: 1})
		p := NewPodInfo(randomPod(rng, "p", zones, apps))
		ps.Prepare(p)
		s.Prepare(p)
		nodes := s.Nodes()
		want, start := 0, 0
		if iter%2 == 1 {
			want, start = 1+rng.IntN(5), rng.IntN(len(nodes))
		}
		d := ScheduleSample(p, nodes, filters, scorers, rng, start, want)

		best, feasible := -1e300, 0
		scores := map[string]float64{}
		for i := 0; i < d.Examined; i++ {
			n := nodes[(start+i)%len(nodes)]
			ok := true
			for _, f := range filters {
				if pass, _ := f.Filter(p, n); !pass {
					ok = false
				}
			}
			if !ok {
				continue
			}
			feasible++
			var sc float64
			for _, ws := range scorers {
				sc += ws.Weight * ws.Score(p, n)
			}
			scores[n.Name] = sc
			best = max(best, sc)
		}
		if want == 0 && d.Examined != len(nodes) {
			t.Fatalf("iter %d: examined %d of %d nodes", iter, d.Examined, len(nodes))
		}
		if d.Feasible != feasible {
			t.Fatalf("iter %d: feasible = %d, brute force %d", iter, d.Feasible, feasible)
		}
		if feasible == 0 {
			if d.Node != "" {
				t.Fatalf("iter %d: chose %s with no feasible node", iter, d.Node)
			}
			continue
		}
		if sc, ok := scores[d.Node]; !ok || sc != best {
			t.Fatalf("iter %d: chose %s (feasible %v, score %v), best %v", iter, d.Node, ok, sc, best)
		}
	}
}

// benchCluster is 5,000 nodes in three zones with 10,000 pods placed, three policies, and a
// pod that two of them select.
func benchCluster(b *testing.B) (*Snapshot, *Policies, *policy.SchedulingEnv) {
	env := newEnv(b, policy.DefaultConfig())
	ps := newPolicies(b, env,
		schedPolicy("same-zone", map[string]string{"tier": "web"}, sameZone, "", 0),
		schedPolicy("free-memory", nil, "", `double(node.status.allocatable.memory - node.requested.memory) / 1e9`, 2),
		schedPolicy("not-full", nil, `node.requested.pods < 100`, "", 0))
	s := NewSnapshot()
	zones := []string{"a", "b", "c"}
	for i := 0; i < 5000; i++ {
		s.SetNode(node(fmt.Sprintf("n%04d", i), "4", "8Gi", 110, true, map[string]string{"zone": zones[i%3]}))
	}
	for i := 0; i < 10000; i++ {
		p := pod(fmt.Sprintf("x%d", i), "10m", "16Mi", nil)
		p.Labels = map[string]string{"app": fmt.Sprintf("app%d", i%50)}
		s.PlacePod(NewPodInfo(p), fmt.Sprintf("n%04d", i%5000))
	}
	return s, ps, env
}

func benchDecisions(b *testing.B, pct int) {
	s, ps, env := benchCluster(b)
	filters := append(DefaultFilters(), PolicyFilter{Env: env})
	scorers := append(DefaultScorers(), WeightedScorer{Scorer: PolicyFilter{Env: env}, Weight: 1})
	rng := rand.New(rand.NewPCG(1, 1))
	nodes := s.Nodes()
	want := NodesToFind(len(nodes), pct, 100)
	if pct > 0 && pct < 100 {
		want = NodesToFind(len(nodes), pct, 1)
	}
	next := 0
	p := pod("p", "100m", "64Mi", nil)
	p.Labels = map[string]string{"tier": "web", "zone": "b", "app": "app7"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pi := NewPodInfo(p)
		ps.Prepare(pi)
		s.Prepare(pi)
		d := ScheduleSample(pi, nodes, filters, scorers, rng, next, want)
		if d.Node == "" {
			b.Fatal(d.Message())
		}
		next = d.Next
	}
}

// BenchmarkSchedule5000Nodes is one decision at 5,000 nodes with 3 policies, two of which
// select the pod: examining every node, Kubernetes' adaptive bound (500 feasible nodes), and
// the bound wk bench scheduler uses by default (1%: 50 feasible nodes).
func BenchmarkSchedule5000Nodes(b *testing.B) {
	b.Run("all", func(b *testing.B) { benchDecisions(b, 100) })
	b.Run("adaptive", func(b *testing.B) { benchDecisions(b, 0) })
	b.Run("1pct", func(b *testing.B) { benchDecisions(b, 1) })
}

// BenchmarkSchedule5000Adaptive is one decision as the scheduler loop makes it at 5,000 nodes
// with 3 policies and Kubernetes' adaptive bound (500 feasible nodes): pods as wk bench
// scheduler creates them (zones a, b, c; every other one tier=web, which the same-zone policy
// selects), each placed on the chosen node so the next decision sees it. "cold" evicts the
// CPU caches between decisions, as the API server and etcd sharing the process do in the
// real loop.
func BenchmarkSchedule5000Adaptive(b *testing.B) {
	b.Run("warm", func(b *testing.B) { benchAdaptive(b, false) })
	b.Run("cold", func(b *testing.B) { benchAdaptive(b, true) })
}

func benchAdaptive(b *testing.B, cold bool) {
	s, ps, env := benchCluster(b)
	filters := append(DefaultFilters(), PolicyFilter{Env: env})
	scorers := append(DefaultScorers(), WeightedScorer{Scorer: PolicyFilter{Env: env}, Weight: 1})
	rng := rand.New(rand.NewPCG(1, 1))
	zones := []string{"a", "b", "c"}
	var pods []*api.Pod
	for i := 0; i < 6; i++ {
		p := pod("p", "10m", "16Mi", nil)
		p.Labels = map[string]string{"wk-bench": "scheduler", "zone": zones[i%3]}
		if i%2 == 0 {
			p.Labels["tier"] = "web"
		}
		pods = append(pods, p)
	}
	var flush []byte
	if cold {
		flush = make([]byte, 64<<20)
	}
	next := 0
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if cold {
			b.StopTimer()
			for j := 0; j < len(flush); j += 64 {
				flush[j]++
			}
			b.StartTimer()
		}
		p := *pods[i%len(pods)]
		p.Name = fmt.Sprintf("p%d", i)
		pi := NewPodInfo(&p)
		ps.Prepare(pi)
		c0 := threadCPU()
		s.Prepare(pi)
		nodes := s.Nodes()
		d := ScheduleSample(pi, nodes, filters, scorers, rng, next, NodesToFind(len(nodes), 0, 100))
		cpu += threadCPU() - c0
		if d.Node == "" {
			b.Fatal(d.Message())
		}
		next = d.Next
		s.PlacePod(pi, d.Node)
	}
	// decide-cpu-ns is the CPU time of what Stats.DecideTime counts in the scheduler loop
	// (Snapshot.Prepare and the search), per decision.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "decide-cpu-ns/op")
}
