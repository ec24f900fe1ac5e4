package scheduler

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func node(name string, cpu, mem string, pods int64, ready bool, labels map[string]string) *api.Node {
	st := api.ConditionFalse
	if ready {
		st = api.ConditionTrue
	}
	return &api.Node{
		ObjectMeta: api.ObjectMeta{Name: name, Labels: labels},
		Status: api.NodeStatus{
			Allocatable: api.ResourceList{
				api.ResourceCPU:    api.MustParseQuantity(cpu),
				api.ResourceMemory: api.MustParseQuantity(mem),
				api.ResourcePods:   api.NewQuantity(pods),
			},
			Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: st}},
		},
	}
}

func pod(name, cpu, mem string, sel map[string]string) *api.Pod {
	req := api.ResourceList{}
	if cpu != "" {
		req[api.ResourceCPU] = api.MustParseQuantity(cpu)
	}
	if mem != "" {
		req[api.ResourceMemory] = api.MustParseQuantity(mem)
	}
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec: api.PodSpec{NodeSelector: sel, Containers: []api.Container{{Name: "c", Image: "m:v1",
			Resources: api.ResourceRequirements{Requests: req}}}},
	}
}

func TestFilters(t *testing.T) {
	cordoned := node("n", "1", "1Gi", 10, true, nil)
	cordoned.Spec.Unschedulable = true
	full := NewNodeInfo(node("n", "1", "1Gi", 1, true, nil))
	full.AddPod("default/other", Resources{Pods: 1})
	busy := NewNodeInfo(node("n", "1", "1Gi", 10, true, nil))
	busy.AddPod("default/other", Resources{MilliCPU: 900, Memory: 900 << 20, Pods: 1})
	bound := pod("p", "", "", nil)
	bound.Spec.NodeName = "elsewhere"
	for _, tc := range []struct {
		name   string
		filter Filter
		pod    *api.Pod
		node   *NodeInfo
		reason string // "" = passes
	}{
		{"ready", NodeReady{}, pod("p", "", "", nil), NewNodeInfo(node("n", "1", "1Gi", 10, true, nil)), ""},
		{"not ready", NodeReady{}, pod("p", "", "", nil), NewNodeInfo(node("n", "1", "1Gi", 10, false, nil)), ReasonNotReady},
		{"cordoned", NodeReady{}, pod("p", "", "", nil), NewNodeInfo(cordoned), ReasonUnschedulable},
		{"selector match", NodeSelector{}, pod("p", "", "", map[string]string{"zone": "a"}), NewNodeInfo(node("n", "1", "1Gi", 10, true, map[string]string{"zone": "a"})), ""},
		{"selector mismatch", NodeSelector{}, pod("p", "", "", map[string]string{"zone": "a"}), NewNodeInfo(node("n", "1", "1Gi", 10, true, map[string]string{"zone": "b"})), ReasonNodeSelector},
		{"selector missing label", NodeSelector{}, pod("p", "", "", map[string]string{"zone": "a"}), NewNodeInfo(node("n", "1", "1Gi", 10, true, nil)), ReasonNodeSelector},
		{"fits", ResourcesFit{}, pod("p", "100m", "100Mi", nil), busy, ""},
		{"insufficient cpu", ResourcesFit{}, pod("p", "200m", "10Mi", nil), busy, "Insufficient cpu"},
		{"insufficient memory", ResourcesFit{}, pod("p", "10m", "200Mi", nil), busy, "Insufficient memory"},
		{"too many pods", ResourcesFit{}, pod("p", "", "", nil), full, ReasonTooManyPods},
		{"no requests fit anywhere", ResourcesFit{}, pod("p", "", "", nil), busy, ""},
		{"node name match", NodeName{}, bound, NewNodeInfo(node("elsewhere", "1", "1Gi", 10, true, nil)), ""},
		{"node name mismatch", NodeName{}, bound, NewNodeInfo(node("n", "1", "1Gi", 10, true, nil)), ReasonNodeName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := tc.filter.Filter(NewPodInfo(tc.pod), tc.node)
			if ok != (tc.reason == "") || reason != tc.reason {
				t.Fatalf("Filter = %v, %q; want reason %q", ok, reason, tc.reason)
			}
		})
	}
}

func TestLeastAllocatedPrefersEmptierNode(t *testing.T) {
	empty := NewNodeInfo(node("a", "2", "2Gi", 10, true, nil))
	half := NewNodeInfo(node("b", "2", "2Gi", 10, true, nil))
	half.AddPod("default/x", Resources{MilliCPU: 1000, Memory: 1 << 30, Pods: 1})
	p := NewPodInfo(pod("p", "100m", "100Mi", nil))
	if s1, s2 := (LeastAllocated{}).Score(p, empty), (LeastAllocated{}).Score(p, half); s1 <= s2 {
		t.Fatalf("empty node scored %v, half-full node %v; want empty higher", s1, s2)
	}
	full := NewNodeInfo(node("c", "1", "1Gi", 10, true, nil))
	full.AddPod("default/x", Resources{MilliCPU: 1000, Memory: 1 << 30, Pods: 1})
	if s := (LeastAllocated{}).Score(p, full); s != 0 {
		t.Fatalf("full node scored %v, want 0", s)
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Decision
		want string
	}{
		{"none", Decision{Total: 0}, "0/0 nodes are available."},
		{"by count", Decision{Total: 5000, Reasons: map[string]int{
			"Insufficient memory": 3000, ReasonNodeSelector: 1990, ReasonNotReady: 10}},
			"0/5000 nodes are available: 3000 Insufficient memory, 1990 node(s) didn't match Pod's node affinity/selector, 10 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."},
		{"ties by reason", Decision{Total: 2, Reasons: map[string]int{"Insufficient memory": 1, "Insufficient cpu": 1}},
			"0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.Message(); got != tc.want {
				t.Fatalf("Message() =\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}

func TestScheduleExplainsFailure(t *testing.T) {
	nodes := []*NodeInfo{
		NewNodeInfo(node("a", "1", "64Mi", 10, true, nil)),
		NewNodeInfo(node("b", "1", "64Mi", 10, true, nil)),
		NewNodeInfo(node("c", "1", "1Gi", 10, false, nil)),
	}
	d := Schedule(NewPodInfo(pod("p", "", "128Mi", nil)), nodes, DefaultFilters(), DefaultScorers(), rand.New(rand.NewPCG(1, 2)))
	if d.Node != "" || d.Feasible != 0 || d.Reasons["Insufficient memory"] != 2 || d.Reasons[ReasonNotReady] != 1 {
		t.Fatalf("decision = %+v", d)
	}
}

func TestTiesAreShared(t *testing.T) {
	var nodes []*NodeInfo
	for i := 0; i < 4; i++ {
		nodes = append(nodes, NewNodeInfo(node(fmt.Sprintf("n%d", i), "1", "1Gi", 100, true, nil)))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	count := map[string]int{}
	for i := 0; i < 400; i++ {
		count[Schedule(NewPodInfo(pod("p", "", "", nil)), nodes, DefaultFilters(), DefaultScorers(), rng).Node]++
	}
	for _, n := range nodes {
		if count[n.Name] < 50 {
			t.Fatalf("equal nodes chosen unevenly: %v", count)
		}
	}
}

func TestSnapshotAccounting(t *testing.T) {
	s := NewSnapshot()
	s.SetPod("default/early", "n1", Resources{MilliCPU: 100, Pods: 1}) // seen before its node
	s.SetNode(node("n1", "1", "1Gi", 10, true, nil))
	s.SetNode(node("n2", "1", "1Gi", 10, true, nil))
	n1, _ := s.Node("n1")
	if n1.Requested.MilliCPU != 100 {
		t.Fatalf("pod seen before node not counted: %+v", n1.Requested)
	}
	s.SetPod("default/early", "n2", Resources{MilliCPU: 100, Pods: 1})
	n2, _ := s.Node("n2")
	if n1.Requested.MilliCPU != 0 || n2.Requested.MilliCPU != 100 {
		t.Fatalf("move not accounted: n1 %+v n2 %+v", n1.Requested, n2.Requested)
	}
	s.SetPod("default/early", "n2", Resources{MilliCPU: 100, Pods: 1})
	if n2.Requested.MilliCPU != 100 {
		t.Fatalf("double add counted twice: %+v", n2.Requested)
	}
	s.RemovePod("default/early")
	if n2.Requested != (Resources{}) {
		t.Fatalf("remove not accounted: %+v", n2.Requested)
	}
	if got := len(s.Nodes()); got != 2 {
		t.Fatalf("Nodes() = %d", got)
	}
}

func TestNodesInterleaveZones(t *testing.T) {
	zoned := func(name, region, zone string) *api.Node {
		n := node(name, "1", "1Gi", 10, true, nil)
		n.Labels = map[string]string{}
		if zone != "" {
			n.Labels[LabelTopologyZone] = zone
		}
		if region != "" {
			n.Labels[LabelTopologyRegion] = region
		}
		return n
	}
	for _, tc := range []struct {
		name  string
		nodes []*api.Node
		want  string
	}{
		{"no zones: by name", []*api.Node{zoned("c", "", ""), zoned("a", "", ""), zoned("b", "", "")}, "a b c"},
		{"zones in runs", []*api.Node{zoned("a1", "", "a"), zoned("a2", "", "a"), zoned("a3", "", "a"),
			zoned("b1", "", "b"), zoned("b2", "", "b"), zoned("c1", "", "c")}, "a1 b1 c1 a2 b2 a3"},
		{"regions", []*api.Node{zoned("x", "r2", "a"), zoned("y", "r1", "a"), zoned("z", "r1", "a")}, "y x z"},
		{"unlabelled among zones", []*api.Node{zoned("n1", "", ""), zoned("n2", "", ""), zoned("z1", "", "a")}, "n1 z1 n2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot()
			for _, n := range tc.nodes {
				s.SetNode(n)
			}
			var got []string
			for _, ni := range s.Nodes() {
				got = append(got, ni.Name)
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("Nodes() = %v, want %s", got, tc.want)
			}
		})
	}
}
