package policy

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestCompileErrors(t *testing.T) {
	env := newTestEnv(t, Config{})
	nested := func(depth int) string { // depth nested scans of a 20-item list: 20^depth iterations
		list := "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]"
		expr := "true"
		for i := depth; i > 0; i-- {
			expr = fmt.Sprintf("%s.all(x%d, %s)", list, i, expr)
		}
		return expr
	}
	for _, tc := range []struct {
		name, filter, score string
		field, msg          string
	}{
		{"misspelt field", `pod.metadata.lables.zone == "a"`, "", "filter", "undefined field 'lables'"},
		{"misspelt resource", `node.status.allocatable.memroy > 0`, "", "filter", "undefined field 'memroy'"},
		{"misspelt requested", "", `double(node.requested.mem)`, "score", "undefined field 'mem'"},
		{"misspelt nested field", `pod.spec.containers.exists(c, c.imag == "x")`, "", "filter", "undefined field 'imag'"},
		{"caret under the error", `pod.metadata.lables.zone == "a"`, "", "filter", "| ............^"},
		{"filter not bool", `pod.metadata.name`, "", "filter", "must evaluate to bool, but evaluates to string"},
		{"score not a number", "", `pod.metadata.name == "x"`, "score", "must evaluate to double or int or uint, but evaluates to bool"},
		{"dyn filter", `pod.spec.containers[0].readinessProbe.httpGet.port`, "", "filter", "must evaluate to bool, but evaluates to dyn"},
		{"syntax", `pod.metadata.name ==`, "", "filter", "Syntax error"},
		{"syntax in score", `true`, `1 +`, "score", "Syntax error"},
		{"unknown variable", `request.userInfo.username == "x"`, "", "filter", "undeclared reference to 'request'"},
		{"unknown function", `pod.metadata.name.frobnicate()`, "", "filter", "undeclared reference to 'frobnicate'"},
		{"mismatched operands", `node.status.allocatable.cpu == "4"`, "", "filter", "found no matching overload for '_==_'"},
		{"no expressions", "", "", "filter", "needs a filter, a score or both"},
		{"runaway comprehension", nested(5), "", "filter", "estimated worst-case cost"},
		{"nested scan", `pod.spec.containers.all(c, c.env.all(e, e.name != ""))`, "", "filter", "exceeds the limit 10000000"},
		{"too long", `"` + strings.Repeat("x", MaxExpressionBytes) + `" == pod.metadata.name`, "", "filter", "exceeds limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.Compile(tc.filter, tc.score)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q, %q) = %v, want a *CompileError", tc.filter, tc.score, err)
			}
			want := tc.filter
			if tc.field == "score" {
				want = tc.score
			}
			if ce.Field != tc.field || ce.Expression != want || !strings.Contains(ce.Message, tc.msg) {
				t.Fatalf("CompileError{Field: %q, Message: %q}, want field %q and a message containing %q",
					ce.Field, ce.Message, tc.field, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Fatalf("Error() = %q, want it to start with the field", err)
			}
		})
	}
}

// placed is what the benchmarks and tests put on a node: 500m cpu, 1Gi memory, 3 pods.
var placed = Requested{MilliCPU: 500, Memory: 1 << 30, Pods: 3}

func TestFilter(t *testing.T) {
	env := newTestEnv(t, Config{})
	noZone := testPod()
	delete(noZone.Labels, "zone")
	for _, tc := range []struct {
		name   string
		pod    *api.Pod
		node   *api.Node
		filter string
		want   bool
		err    string // when the evaluation fails
	}{
		{"same zone", testPod(), testNode("n1", "a"), exampleFilter, true, ""},
		{"other zone", testPod(), testNode("n1", "b"), exampleFilter, false, ""},
		{"pod without zone", noZone, testNode("n1", "b"), exampleFilter, true, ""},
		{"node without zone", testPod(), testNode("n1", ""), exampleFilter, false, "no such key: zone"},
		{"optional label", testPod(), testNode("n1", ""), `node.metadata.labels.?zone.orValue("") == "a"`, false, ""},
		{"key test", testPod(), testNode("n1", ""), `!("zone" in node.metadata.labels) && has(pod.metadata.labels.zone)`, true, ""},
		{"index syntax", testPod(), testNode("n1", "a"), `node.metadata.labels["kubernetes.io/os"] == pod.spec.nodeSelector["kubernetes.io/os"]`, true, ""},
		{"allocatable units", testPod(), testNode("n1", "a"),
			`node.status.allocatable.cpu == 4000 && node.status.allocatable.memory == 8589934592 && node.status.allocatable.pods == 110`, true, ""},
		{"requested", testPod(), testNode("n1", "a"),
			`node.requested.cpu == 500 && node.requested.memory == 1073741824 && node.requested.pods == 3`, true, ""},
		{"container requests", testPod(), testNode("n1", "a"),
			`pod.spec.containers[0].resources.requests.cpu == 250 && pod.spec.containers[0].resources.requests.memory == 67108864`, true, ""},
		{"missing resource is 0", testPod(), testNode("n1", "a"),
			`!has(pod.spec.containers[0].resources.limits.cpu) && pod.spec.containers[0].resources.limits.cpu == 0 && has(pod.spec.containers[0].resources.limits.memory)`, true, ""},
		{"resource list literal", testPod(), testNode("n1", "a"),
			`node.status.allocatable == api.ResourceList{cpu: 4000, memory: 8589934592, pods: 110}`, true, ""},
		{"every module fits", testPod(), testNode("n1", "a"),
			`pod.spec.containers.all(c, c.resources.requests.memory <= node.status.allocatable.memory - node.requested.memory)`, true, ""},
		{"scan containers", testPod(), testNode("n1", "a"), `pod.spec.containers.exists(c, c.image.startsWith("logship"))`, true, ""},
		{"ready condition", testPod(), testNode("n1", "a"), `node.status.conditions.exists(c, c.type == "Ready" && c.status == "True")`, true, ""},
		{"timestamp", testPod(), testNode("n1", "a"), `node.metadata.creationTimestamp > timestamp("2020-01-01T00:00:00Z")`, true, ""},
		{"unset timestamp is the epoch", testPod(), testNode("n1", "a"),
			`!has(pod.metadata.deletionTimestamp) && pod.metadata.deletionTimestamp == timestamp("1970-01-01T00:00:00Z")`, true, ""},
		{"unset string", testPod(), testNode("n1", "a"), `!has(pod.spec.nodeName) && pod.spec.nodeName == ""`, true, ""},
		{"unset pointer", testPod(), testNode("n1", "a"),
			`!has(pod.spec.containers[1].readinessProbe) && pod.spec.containers[1].readinessProbe.periodSeconds == 0 && has(pod.spec.containers[0].readinessProbe)`, true, ""},
		{"int or string", testPod(), testNode("n1", "a"), `pod.spec.containers[0].readinessProbe.httpGet.port == "http"`, true, ""},
		{"pointer to bool", testPod(), testNode("n1", "a"), `pod.metadata.ownerReferences[0].controller && !has(pod.metadata.ownerReferences[0].blockOwnerDeletion)`, true, ""},
		{"cordoned", testPod(), testNode("n1", "a"), `!node.spec.unschedulable`, true, ""},
		{"inline type meta", testPod(), testNode("n1", "a"), `pod.kind == "Pod" && node.kind == "Node" && node.apiVersion == "v1"`, true, ""},
		{"int against double", testPod(), testNode("n1", "a"), `node.status.allocatable.memory > 1e9`, true, ""},
		{"index out of range", testPod(), testNode("n1", "a"), `pod.spec.containers[5].name == "x"`, false, "index out of bounds: 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := env.Compile(tc.filter, "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Filter(env.NewPodInput(tc.pod), env.NewNodeInput(tc.node, placed))
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Filter = %v, %v; want an error containing %q", got, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("Filter: %v", err)
			case got != tc.want:
				t.Fatalf("Filter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	env := newTestEnv(t, Config{})
	pod, node := env.NewPodInput(testPod()), env.NewNodeInput(testNode("n1", "a"), placed)
	for _, tc := range []struct {
		name, score string
		want        float64
		err         string
	}{
		{"free memory in GB", exampleScore, float64(8<<30-1<<30) / 1e9, ""},
		{"int", `node.status.allocatable.cpu - node.requested.cpu`, 3500, ""},
		{"uint", `uint(node.requested.pods)`, 3, ""},
		{"ternary", `node.metadata.labels.zone == "a" ? 100 : 0`, 100, ""},
		{"division by zero", `node.requested.cpu / (node.requested.pods - 3)`, 0, "division by zero"},
		{"not a number", `0.0 / double(node.requested.pods - 3)`, 0, "not a finite number"},
		{"infinite", `1.0 / double(node.requested.pods - 3)`, 0, "not a finite number"},
		{"missing key", `node.metadata.labels.rack == "r1" ? 1 : 0`, 0, "no such key: rack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := env.Compile("", tc.score)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Score(pod, node)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Score = %v, %v; want an error containing %q", got, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("Score: %v", err)
			case math.Abs(got-tc.want) > 1e-9:
				t.Fatalf("Score = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProgramParts(t *testing.T) {
	env := newTestEnv(t, Config{})
	pod, node := env.NewPodInput(testPod()), env.NewNodeInput(testNode("n1", "b"), placed)
	for _, tc := range []struct {
		name, filter, score  string
		hasFilter, hasScore  bool
		wantFilter           bool
		wantScore            float64
		filterCost, scoreMax uint64
	}{
		{"filter only", exampleFilter, "", true, false, false, 0, 19, 0},
		{"score only", "", exampleScore, false, true, true, float64(7<<30) / 1e9, 0, 10},
		{"both", exampleFilter, exampleScore, true, true, false, float64(7<<30) / 1e9, 19, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := env.Compile(tc.filter, tc.score)
			if err != nil {
				t.Fatal(err)
			}
			if p.HasFilter() != tc.hasFilter || p.HasScore() != tc.hasScore {
				t.Fatalf("HasFilter, HasScore = %v, %v", p.HasFilter(), p.HasScore())
			}
			ok, err := p.Filter(pod, node)
			if err != nil || ok != tc.wantFilter {
				t.Fatalf("Filter = %v, %v; want %v", ok, err, tc.wantFilter)
			}
			s, err := p.Score(pod, node)
			if err != nil || s != tc.wantScore {
				t.Fatalf("Score = %v, %v; want %v", s, err, tc.wantScore)
			}
			if f, sc := p.Cost(); f != tc.filterCost || sc != tc.scoreMax {
				t.Fatalf("Cost = %d, %d; want %d, %d (doc.go quotes them)", f, sc, tc.filterCost, tc.scoreMax)
			}
		})
	}
	if _, err := (&Program{}).Filter(nil, nil); err != nil {
		t.Fatalf("a program without a filter passes every node: %v", err)
	}
	p, _ := env.Compile(exampleFilter, exampleScore)
	if _, err := p.Filter(nil, node); err == nil {
		t.Fatal("Filter with a nil pod input: want an error")
	}
	if _, err := p.Score(pod, nil); err == nil {
		t.Fatal("Score with a nil node input: want an error")
	}
}

func TestCostLimit(t *testing.T) {
	manyLabels := testPod()
	manyLabels.Labels = map[string]string{}
	for i := range 10000 {
		manyLabels.Labels[fmt.Sprintf("l%d", i)] = "v"
	}
	scan := `pod.metadata.labels.all(k, k != "")`
	annotated := testPod()
	annotated.Annotations = map[string]string{"a": strings.Repeat("x", 1000), "b": strings.Repeat("x", 1000)}
	small := Config{CostLimit: 5000, EstimatedCostLimit: 5000, MaxObjectBytes: 1024}
	for _, tc := range []struct {
		name       string
		cfg        Config
		expr       string
		pod        *api.Pod
		compileErr string
		costErr    bool
	}{
		{"default: labels scan", Config{}, scan, manyLabels, "", false},
		{"default: over the runtime limit", Config{CostLimit: 10000}, scan, manyLabels, "", true},
		// A 1 KiB object holds at most 170 labels: the scan is estimated within 5000.
		{"within the estimate", small, scan, testPod(), "", false},
		// An input larger than the estimator assumed is stopped at run time all the same.
		{"input over the assumed size", small, scan, manyLabels, "", true},
		{"refused at compile time", Config{EstimatedCostLimit: 500, MaxObjectBytes: 1024}, scan, testPod(), "exceeds the limit 500", false},
		// Without a comprehension, an estimate over the runtime limit is evaluated under it.
		{"loop-free, tracked", Config{CostLimit: 10}, `pod.metadata.annotations["a"] == pod.metadata.annotations["b"]`, annotated, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, tc.cfg)
			p, err := env.Compile(tc.expr, "")
			if tc.compileErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.compileErr) {
					t.Fatalf("Compile: %v, want an error containing %q", err, tc.compileErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ok, err := p.Filter(env.NewPodInput(tc.pod), env.NewNodeInput(testNode("n1", "a"), placed))
			if tc.costErr {
				if !errors.Is(err, ErrCostLimit) || !strings.Contains(err.Error(), "evaluate filter") {
					t.Fatalf("Filter = %v, %v; want an error wrapping ErrCostLimit", ok, err)
				}
				return
			}
			if err != nil || !ok {
				t.Fatalf("Filter = %v, %v; want true", ok, err)
			}
		})
	}
}

// TestCostTracking checks which expressions run under cel's cost tracker: those with a
// comprehension, and those whose estimate is over the runtime limit.
func TestCostTracking(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		cfg        Config
		tracked    bool
	}{
		{"example filter", exampleFilter, Config{}, false},
		{"comprehension", `pod.spec.containers.exists(c, c.name == "web")`, Config{}, true},
		{"loop-free over the runtime limit", `pod.metadata.annotations["a"].matches("` + strings.Repeat("a", 200) + `")`, Config{}, true},
		{"loop-free under a low limit", exampleFilter, Config{CostLimit: 10}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newTestEnv(t, tc.cfg).Compile(tc.expr, "")
			if err != nil {
				t.Fatal(err)
			}
			if p.filter.tracked != tc.tracked {
				t.Fatalf("tracked = %v, want %v (estimate %d)", p.filter.tracked, tc.tracked, p.filter.cost)
			}
		})
	}
}

func TestWithRequested(t *testing.T) {
	env := newTestEnv(t, Config{})
	p, err := env.Compile(exampleFilter, `double(node.requested.memory)`)
	if err != nil {
		t.Fatal(err)
	}
	pod := env.NewPodInput(testPod())
	empty := env.NewNodeInput(testNode("n1", "a"), Requested{})
	if ok, err := p.Filter(pod, empty); err != nil || !ok { // converts the labels of empty
		t.Fatalf("Filter = %v, %v", ok, err)
	}
	full := empty.WithRequested(placed)
	for _, tc := range []struct {
		name string
		in   *NodeInput
		want float64
	}{{"original unchanged", empty, 0}, {"new requested", full, 1 << 30}, {"back to zero", full.WithRequested(Requested{}), 0}} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := p.Score(pod, tc.in); err != nil || got != tc.want {
				t.Fatalf("Score = %v, %v; want %v", got, err, tc.want)
			}
			if ok, err := p.Filter(pod, tc.in); err != nil || !ok {
				t.Fatalf("Filter = %v, %v; want true", ok, err)
			}
		})
	}
}

func TestInputsOfAnotherEnv(t *testing.T) {
	a, b := newTestEnv(t, Config{}), newTestEnv(t, Config{})
	p, err := a.Compile(exampleFilter, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Filter(b.NewPodInput(testPod()), b.NewNodeInput(testNode("n1", "a"), placed))
	if err == nil || !strings.Contains(err.Error(), "got a value of type") {
		t.Fatalf("Filter with inputs of another environment = %v, want an error", err)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want Config
		err  string
	}{
		{"zero is the default", Config{}, DefaultConfig(), ""},
		{"limit kept", Config{CostLimit: 7}, Config{CostLimit: 7, EstimatedCostLimit: DefaultEstimatedCostLimit, MaxObjectBytes: DefaultMaxObjectBytes}, ""},
		{"object size too small", Config{MaxObjectBytes: 100}, Config{}, "max-object-bytes 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := NewSchedulingEnv(tc.cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("NewSchedulingEnv: %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if env.Config() != tc.want {
				t.Fatalf("Config() = %+v, want %+v", env.Config(), tc.want)
			}
		})
	}
}

// TestConcurrentEvaluation hammers one program with many goroutines sharing fresh inputs, so
// the lazy conversion of the same fields races too (run with -race).
func TestConcurrentEvaluation(t *testing.T) {
	env := newTestEnv(t, Config{})
	filter := exampleFilter + ` && pod.spec.containers.exists(c, c.name == "web")`
	p, err := env.Compile(filter, exampleScore)
	if err != nil {
		t.Fatal(err)
	}
	zones := []string{"a", "b", ""}
	const goroutines, rounds = 8, 50
	for round := range rounds {
		pod := env.NewPodInput(testPod())
		nodes := make([]*NodeInput, len(zones))
		for i, z := range zones {
			nodes[i] = env.NewNodeInput(testNode(fmt.Sprintf("n%d", i), z), Requested{Memory: int64(i) << 30})
		}
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for k := range len(zones) * 4 {
					i := (g + k) % len(zones)
					ok, err := p.Filter(pod, nodes[i])
					if wantOK, wantErr := zones[i] == "a", zones[i] == ""; ok != wantOK || (err != nil) != wantErr {
						errs <- fmt.Errorf("round %d node %d: Filter = %v, %v", round, i, ok, err)
						return
					}
					moved := nodes[i].WithRequested(Requested{Memory: 2 << 30})
					s, err := p.Score(pod, moved)
					if want := float64(6<<30) / 1e9; err != nil || s != want {
						errs <- fmt.Errorf("round %d node %d: Score = %v, %v; want %v", round, i, s, err, want)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}
