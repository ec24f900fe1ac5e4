package scheduler

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// prioPod is a pod of the given priority requesting mem (and cpu when given), created at
// second created.
func prioPod(name string, priority int32, cpu, mem string, created int) *api.Pod {
	p := pod(name, cpu, mem, nil)
	p.Spec.Priority = api.Ptr(priority)
	p.UID = "uid-" + name
	p.CreationTimestamp = api.NewTime(time.Date(2026, 1, 1, 0, 0, created, 0, time.UTC))
	return p
}

// preemptCluster builds a snapshot of 1-cpu 1Gi nodes (10 pod slots) holding the given pods.
func preemptCluster(nodes []*api.Node, placed map[string][]*api.Pod) *Snapshot {
	s := NewSnapshot()
	for _, n := range nodes {
		s.SetNode(n)
	}
	for n, pods := range placed {
		for _, p := range pods {
			p.Spec.NodeName = n
			s.PlacePod(NewPodInfo(p), n)
		}
	}
	return s
}

func std(name string) *api.Node { return node(name, "1", "1Gi", 10, true, nil) }

func TestPreemptVictims(t *testing.T) {
	terminating := prioPod("going", 1, "", "1Gi", 1)
	terminating.DeletionTimestamp = api.Ptr(api.NewTime(time.Now()))
	tainted := std("tainted")
	tainted.Spec.Taints = []api.Taint{{Key: "dedicated", Effect: api.TaintNoSchedule}}
	for _, tc := range []struct {
		name    string
		nodes   []*api.Node
		placed  map[string][]*api.Pod
		pod     *api.Pod
		node    string   // "" : no candidate
		victims []string // most important first
		reasons map[string]int
	}{
		{"lowest priority victims win",
			[]*api.Node{std("n1"), std("n2")},
			map[string][]*api.Pod{"n1": {prioPod("ten", 10, "", "1Gi", 1)}, "n2": {prioPod("five", 5, "", "1Gi", 1)}},
			prioPod("p", 100, "", "512Mi", 9), "n2", []string{"five"}, nil},
		{"fewest victims",
			[]*api.Node{std("n1"), std("n2")},
			map[string][]*api.Pod{
				"n1": {prioPod("a1", 1, "", "256Mi", 1), prioPod("a2", 1, "", "256Mi", 2), prioPod("a3", 1, "", "256Mi", 3), prioPod("a4", 1, "", "256Mi", 4)},
				"n2": {prioPod("b1", 1, "", "512Mi", 1), prioPod("b2", 1, "", "512Mi", 2)}},
			prioPod("p", 100, "", "512Mi", 9), "n2", []string{"b2"}, nil},
		{"highest victim priority before count",
			[]*api.Node{std("n1"), std("n2")},
			map[string][]*api.Pod{
				"n1": {prioPod("mid", 5, "", "1Gi", 1)},
				"n2": {prioPod("low1", 1, "", "512Mi", 1), prioPod("low2", 1, "", "512Mi", 2)}},
			prioPod("p", 100, "", "1Gi", 9), "n2", []string{"low1", "low2"}, nil},
		{"sum of priorities breaks ties",
			[]*api.Node{std("n1"), std("n2")},
			map[string][]*api.Pod{
				"n1": {prioPod("a3", 3, "", "512Mi", 1), prioPod("a2", 2, "", "512Mi", 2)},
				"n2": {prioPod("b3", 3, "", "512Mi", 1), prioPod("b1", 1, "", "512Mi", 2)}},
			prioPod("p", 100, "", "1Gi", 9), "n2", []string{"b3", "b1"}, nil},
		{"most important pods reprieved",
			[]*api.Node{std("n1")},
			map[string][]*api.Pod{"n1": {prioPod("c3", 3, "", "512Mi", 1), prioPod("b2", 2, "", "256Mi", 2), prioPod("a1", 1, "", "256Mi", 3)}},
			prioPod("p", 100, "", "256Mi", 9), "n1", []string{"a1"}, nil},
		{"older pod of equal priority reprieved",
			[]*api.Node{std("n1")},
			map[string][]*api.Pod{"n1": {prioPod("young", 1, "", "512Mi", 5), prioPod("old", 1, "", "512Mi", 1)}},
			prioPod("p", 100, "", "512Mi", 9), "n1", []string{"young"}, nil},
		{"cpu and memory both freed",
			[]*api.Node{std("n1")},
			map[string][]*api.Pod{"n1": {prioPod("cpu", 1, "800m", "", 1), prioPod("mem", 1, "", "800Mi", 2), prioPod("small", 1, "100m", "100Mi", 3)}},
			prioPod("p", 100, "500m", "500Mi", 9), "n1", []string{"cpu", "mem"}, nil},
		{"equal or higher priority is never a victim",
			[]*api.Node{std("n1"), std("n2")},
			map[string][]*api.Pod{"n1": {prioPod("same", 100, "", "1Gi", 1)}, "n2": {prioPod("higher", 200, "", "1Gi", 1)}},
			prioPod("p", 100, "", "512Mi", 9), "", nil, map[string]int{ReasonNoVictims: 2}},
		{"terminating pods are not victims",
			[]*api.Node{std("n1")},
			map[string][]*api.Pod{"n1": {terminating}},
			prioPod("p", 100, "", "512Mi", 9), "", nil, map[string]int{ReasonNoVictims: 1}},
		{"evicting every lower pod is not enough",
			[]*api.Node{std("n1")},
			map[string][]*api.Pod{"n1": {prioPod("low", 1, "", "512Mi", 1), prioPod("high", 500, "", "512Mi", 2)}},
			prioPod("p", 100, "", "1Gi", 9), "", nil, map[string]int{ReasonNoVictims: 1}},
		{"unresolvable nodes are skipped",
			[]*api.Node{tainted, node("notready", "1", "1Gi", 10, false, nil), std("n1")},
			map[string][]*api.Pod{"tainted": {prioPod("t", 1, "", "1Gi", 1)}, "notready": {prioPod("r", 1, "", "1Gi", 1)}, "n1": {prioPod("x", 1, "", "1Gi", 1)}},
			prioPod("p", 100, "", "1Gi", 9), "n1", []string{"x"}, nil},
		{"pod slots freed",
			[]*api.Node{node("n1", "1", "1Gi", 2, true, nil)},
			map[string][]*api.Pod{"n1": {prioPod("s1", 1, "", "", 1), prioPod("s2", 2, "", "", 2)}},
			prioPod("p", 100, "", "", 9), "n1", []string{"s1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := preemptCluster(tc.nodes, tc.placed)
			pi := NewPodInfo(tc.pod)
			s.Prepare(pi)
			pre := s.Preempt(pi, DefaultFilters(), 0)
			var victims []string
			for _, v := range pre.Victims {
				victims = append(victims, v.Name)
			}
			if pre.Node != tc.node || !slices.Equal(victims, tc.victims) {
				t.Fatalf("Preempt = node %q victims %v, want %q %v (reasons %v)", pre.Node, victims, tc.node, tc.victims, pre.Reasons)
			}
			if tc.node == "" && fmt.Sprint(pre.Reasons) != fmt.Sprint(tc.reasons) {
				t.Fatalf("reasons %v, want %v", pre.Reasons, tc.reasons)
			}
		})
	}
}

func TestEligible(t *testing.T) {
	never := prioPod("p", 100, "", "512Mi", 9)
	never.Spec.PreemptionPolicy = api.Ptr(api.PreemptNever)
	going := prioPod("going", 1, "", "1Gi", 1)
	going.DeletionTimestamp = api.Ptr(api.NewTime(time.Now()))
	for _, tc := range []struct {
		name      string
		pod       *api.Pod
		placed    []*api.Pod
		nominated string
		want      string // "" : eligible
	}{
		{"default policy", prioPod("p", 100, "", "512Mi", 9), nil, "", ""},
		{"never", never, nil, "", NotEligibleNever},
		{"victim still terminating on nominated node", prioPod("p", 100, "", "512Mi", 9), []*api.Pod{going}, "n1", NotEligibleTerminating},
		{"terminating pod elsewhere", prioPod("p", 100, "", "512Mi", 9), []*api.Pod{going}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := preemptCluster([]*api.Node{std("n1")}, map[string][]*api.Pod{"n1": tc.placed})
			pi := NewPodInfo(tc.pod)
			if tc.nominated != "" {
				s.Nominate(pi.Key, tc.nominated, pi.Priority, pi.Requests)
			}
			ok, why := s.Eligible(pi)
			if ok != (tc.want == "") || why != tc.want {
				t.Fatalf("Eligible = %v %q, want %q", ok, why, tc.want)
			}
		})
	}
}

// TestNominatedRoom checks that a pod nominated to a node keeps its room from pods of no
// higher priority, not from more important ones, and that placing it ends the nomination.
func TestNominatedRoom(t *testing.T) {
	s := preemptCluster([]*api.Node{std("n1")}, map[string][]*api.Pod{"n1": {prioPod("half", 0, "", "512Mi", 1)}})
	nominee := NewPodInfo(prioPod("nominee", 100, "", "512Mi", 2))
	s.Nominate(nominee.Key, "n1", nominee.Priority, nominee.Requests)
	n1, _ := s.Node("n1")
	for _, tc := range []struct {
		name string
		pod  *PodInfo
		fits bool
	}{
		{"lower priority kept out", NewPodInfo(prioPod("low", 50, "", "512Mi", 3)), false},
		{"equal priority kept out", NewPodInfo(prioPod("peer", 100, "", "512Mi", 3)), false},
		{"higher priority fits", NewPodInfo(prioPod("vip", 1000, "", "512Mi", 3)), true},
		{"the nominee fits", nominee, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, reason := (ResourcesFit{}).Filter(tc.pod, n1); ok != tc.fits {
				t.Fatalf("Filter = %v %q, want %v", ok, reason, tc.fits)
			}
		})
	}
	if got := s.Displace("n1", 1000); !slices.Equal(got, []string{nominee.Key}) || s.NominatedNode(nominee.Key) != "" {
		t.Fatalf("Displace = %v, nomination %q", got, s.NominatedNode(nominee.Key))
	}
	s.Nominate(nominee.Key, "n1", nominee.Priority, nominee.Requests)
	s.PlacePod(nominee, "n1")
	if s.NominatedNode(nominee.Key) != "" || len(n1.nominated) != 0 {
		t.Fatalf("placed pod still nominated: %v", n1.nominated)
	}
}

// TestExplanationsGolden holds the explanations of unschedulable pods, with and without
// preemption, against testdata/explanations.golden (-update rewrites it).
func TestExplanationsGolden(t *testing.T) {
	three := func() []*api.Node { return []*api.Node{std("n1"), std("n2"), std("n3")} }
	full := func(prio int32) map[string][]*api.Pod {
		m := map[string][]*api.Pod{}
		for i, n := range []string{"n1", "n2", "n3"} {
			m[n] = []*api.Pod{prioPod(fmt.Sprintf("fill-%d", i), prio, "", "1Gi", i)}
		}
		return m
	}
	never := prioPod("never", 100, "", "512Mi", 9)
	never.Spec.PreemptionPolicy = api.Ptr(api.PreemptNever)
	selector := prioPod("picky", 0, "", "512Mi", 9)
	selector.Spec.NodeSelector = map[string]string{"zone": "a"}
	mixed := three()
	mixed[0].Labels = map[string]string{"zone": "a"}
	mixed[2].Spec.Unschedulable = true
	var out strings.Builder
	for _, tc := range []struct {
		name   string
		nodes  []*api.Node
		placed map[string][]*api.Pod
		pod    *api.Pod
	}{
		{"no victims: same priority", three(), full(0), prioPod("p", 0, "", "512Mi", 9)},
		{"preemption not helpful and no victims", mixed, full(0), selector},
		{"preemption succeeds", three(), full(0), prioPod("vip", 100, "", "512Mi", 9)},
		{"preemptionPolicy Never", three(), full(0), never},
		{"too big for any node", three(), full(0), prioPod("huge", 100, "", "2Gi", 9)},
	} {
		s := preemptCluster(tc.nodes, tc.placed)
		pi := NewPodInfo(tc.pod)
		s.Prepare(pi)
		d := Schedule(pi, s.Nodes(), DefaultFilters(), DefaultScorers(), rand.New(rand.NewPCG(1, 2)))
		var pre Preemption
		if ok, why := s.Eligible(pi); !ok {
			pre.NotEligible = why
		} else {
			pre = s.Preempt(pi, DefaultFilters(), 0)
		}
		fmt.Fprintf(&out, "%s:\n  %s\n", tc.name, Explain(d, pre))
	}
	path := filepath.Join("testdata", "explanations.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Fatalf("explanations differ from %s:\n%s\nwant\n%s", path, out.String(), want)
	}
}

// BenchmarkPreempt is a preemption search over 5,000 full nodes of ten low-priority pods
// each, every node a candidate.
func BenchmarkPreempt(b *testing.B) {
	var nodes []*api.Node
	placed := map[string][]*api.Pod{}
	for i := range 5000 {
		name := fmt.Sprintf("n%04d", i)
		nodes = append(nodes, node(name, "1", "1280Mi", 110, true, map[string]string{LabelTopologyZone: fmt.Sprint(i % 3)}))
		for j := range 10 {
			placed[name] = append(placed[name], prioPod(fmt.Sprintf("low-%d-%d", i, j), int32(j), "", "128Mi", j))
		}
	}
	s := preemptCluster(nodes, placed)
	pi := NewPodInfo(prioPod("vip", 1000, "", "300Mi", 99))
	s.Prepare(pi)
	b.ResetTimer()
	for b.Loop() {
		if pre := s.Preempt(pi, DefaultFilters(), 0); pre.Node == "" || len(pre.Victims) != 3 {
			b.Fatalf("Preempt = %q, %d victims", pre.Node, len(pre.Victims))
		}
	}
}

// TestPreemptBounded checks that the search stops after NumCandidates working nodes, from
// where it starts: the best node of all is chosen only when the search reaches it.
func TestPreemptBounded(t *testing.T) {
	var nodes []*api.Node
	placed := map[string][]*api.Pod{}
	for i := range 250 {
		name := fmt.Sprintf("n%04d", i)
		nodes = append(nodes, std(name))
		prio := int32(5)
		if i == 200 {
			prio = 1
		}
		placed[name] = []*api.Pod{prioPod("low-"+name, prio, "", "1Gi", 1)}
	}
	s := preemptCluster(nodes, placed)
	pi := NewPodInfo(prioPod("vip", 1000, "", "512Mi", 9))
	s.Prepare(pi)
	for _, tc := range []struct {
		name  string
		start int
		want  string
	}{
		{"best node beyond the bound", 0, "n0000"},
		{"best node within the bound", 150, "n0200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Preempt(pi, DefaultFilters(), tc.start).Node; got != tc.want {
				t.Fatalf("Preempt from %d = %q, want %q", tc.start, got, tc.want)
			}
		})
	}
}
