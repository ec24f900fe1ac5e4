package policy

import (
	"fmt"
	"testing"
)

func BenchmarkCompile(b *testing.B) {
	env := newTestEnv(b, Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Compile(exampleFilter, exampleScore); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFilter(b *testing.B) {
	env := newTestEnv(b, Config{})
	p, err := env.Compile(exampleFilter, "")
	if err != nil {
		b.Fatal(err)
	}
	pod, node := env.NewPodInput(testPod()), env.NewNodeInput(testNode("n1", "a"), placed)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Filter(pod, node); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	env := newTestEnv(b, Config{})
	p, err := env.Compile("", exampleScore)
	if err != nil {
		b.Fatal(err)
	}
	pod, node := env.NewPodInput(testPod()), env.NewNodeInput(testNode("n1", "a"), placed)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Score(pod, node); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewPodInput(b *testing.B) {
	env := newTestEnv(b, Config{})
	pod := testPod()
	b.ReportAllocs()
	for b.Loop() {
		env.NewPodInput(pod)
	}
}

func BenchmarkNewNodeInput(b *testing.B) {
	env := newTestEnv(b, Config{})
	node := testNode("n1", "a")
	b.ReportAllocs()
	for b.Loop() {
		env.NewNodeInput(node, Requested{MilliCPU: 500})
	}
}

func BenchmarkWithRequested(b *testing.B) {
	env := newTestEnv(b, Config{})
	in := env.NewNodeInput(testNode("n1", "a"), Requested{})
	b.ReportAllocs()
	for b.Loop() {
		in.WithRequested(placed)
	}
}

func BenchmarkNewSchedulingEnv(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newTestEnv(b, Config{})
	}
}

// BenchmarkFilterFirstEval prepares a fresh pod and evaluates it once: the cost of the lazy
// conversion of the fields the expression reads, paid once per pod.
func BenchmarkFilterFirstEval(b *testing.B) {
	env := newTestEnv(b, Config{})
	p, err := env.Compile(exampleFilter, "")
	if err != nil {
		b.Fatal(err)
	}
	pod, node := testPod(), env.NewNodeInput(testNode("n1", "a"), placed)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Filter(env.NewPodInput(pod), node); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkFilterTracked is a filter with a comprehension, evaluated under the cost tracker.
func BenchmarkFilterTracked(b *testing.B) {
	env := newTestEnv(b, Config{})
	p, err := env.Compile(`pod.spec.containers.all(c, c.resources.requests.memory <= node.status.allocatable.memory - node.requested.memory)`, "")
	if err != nil {
		b.Fatal(err)
	}
	pod, node := env.NewPodInput(testPod()), env.NewNodeInput(testNode("n1", "a"), placed)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Filter(pod, node); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkDecision5000Nodes evaluates three policies (two filters, one score) for one new
// pod against 5,000 prepared nodes in three zones, filters first and scores for the nodes
// that pass: the policy share of one scheduling decision when every node is evaluated.
func BenchmarkDecision5000Nodes(b *testing.B) {
	env := newTestEnv(b, Config{})
	var progs []*Program
	for _, pol := range [][2]string{
		{exampleFilter, ""},
		{`!node.spec.unschedulable && node.status.allocatable.pods > node.requested.pods`, ""},
		{"", exampleScore},
	} {
		p, err := env.Compile(pol[0], pol[1])
		if err != nil {
			b.Fatal(err)
		}
		progs = append(progs, p)
	}
	nodes := make([]*NodeInput, 5000)
	for i := range nodes {
		nodes[i] = env.NewNodeInput(testNode(fmt.Sprintf("node-%04d", i), string(rune('a'+i%3))), placed)
	}
	pod := testPod()
	b.ReportAllocs()
	for b.Loop() {
		in := env.NewPodInput(pod)
	nextNode:
		for _, n := range nodes {
			for _, p := range progs {
				if ok, err := p.Filter(in, n); err != nil || !ok {
					continue nextNode
				}
			}
			for _, p := range progs {
				if _, err := p.Score(in, n); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
