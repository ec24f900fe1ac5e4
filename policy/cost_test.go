package policy

import (
	"fmt"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestEstimateBoundsActualCost holds the estimator to what the runtime tracker charges, on
// inputs made large within the API's limits: an expression that Compile accepts must never
// cost more at run time than its estimate. This is what lets loop-free expressions run without
// the tracker.
func TestEstimateBoundsActualCost(t *testing.T) {
	env := newTestEnv(t, Config{})
	big := testPod()
	big.Annotations = map[string]string{"a": strings.Repeat("x", api.MaxAnnotationsBytes/2), "b": strings.Repeat("x", api.MaxAnnotationsBytes/2-2)}
	for i := range 2000 {
		big.Labels[fmt.Sprintf("example.com/label-%d", i)] = strings.Repeat("v", 63)
		big.Spec.Containers = append(big.Spec.Containers, api.Container{Name: fmt.Sprintf("c%d", i), Image: strings.Repeat("i", 100)})
	}
	pod := env.NewPodInput(big)
	node := env.NewNodeInput(testNode(strings.Repeat("n", 253), "a"), placed)
	for _, expr := range []string{
		exampleFilter,
		`double(node.status.allocatable.memory - node.requested.memory) / 1e9 > 1.0`,
		`pod.metadata.annotations["a"] == pod.metadata.annotations["b"]`,
		`pod.metadata.annotations["a"].contains("xxxxxxxxxxy")`,
		`pod.metadata.annotations["a"].matches("^x+y$")`,
		`node.metadata.name.startsWith(pod.metadata.name) || node.metadata.name + "-" == pod.metadata.namespace`,
		`pod.metadata.labels.exists(k, k.endsWith("-1999") && pod.metadata.labels[k].size() == 63)`,
		`pod.spec.containers.all(c, c.image.size() == 100 || c.name == "web" || c.name == "log")`,
		`pod.spec.containers.map(c, c.name).filter(n, n.startsWith("c1")).size() > 10`,
		`node.status.allocatable == api.ResourceList{cpu: 4000, memory: 8589934592, pods: 110}`,
		`pod.metadata.ownerReferences.exists(r, r.kind == "ReplicaSet") && "x" in pod.spec.containers[0].args`,
	} {
		t.Run(expr[:min(len(expr), 40)], func(t *testing.T) {
			p, err := env.Compile(expr, "")
			if err != nil {
				t.Fatal(err)
			}
			ast, iss := env.c.env.Compile(expr)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			tracked, err := env.c.env.Program(ast, cel.CostTracking(nil))
			if err != nil {
				t.Fatal(err)
			}
			_, det, err := tracked.Eval(&activation{pod: pod.v, node: node.v})
			if err != nil {
				t.Fatal(err)
			}
			if actual := *det.ActualCost(); actual > p.filter.cost {
				t.Fatalf("actual cost %d exceeds the estimate %d", actual, p.filter.cost)
			}
		})
	}
}
