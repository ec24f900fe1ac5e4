package policy

import (
	"fmt"
	"testing"
)

// TestPodKey: which expressions get a pod key, and which pods share one.
func TestPodKey(t *testing.T) {
	env := newTestEnv(t, Config{})
	withLabels := func(l map[string]string) *PodInput {
		p := testPod()
		p.Labels = l
		return env.NewPodInput(p)
	}
	a := withLabels(map[string]string{"zone": "a", "app": "web"})
	a2 := withLabels(map[string]string{"zone": "a", "app": "db"})
	b := withLabels(map[string]string{"zone": "b", "app": "web"})
	none := withLabels(map[string]string{"app": "web"})
	empty := withLabels(map[string]string{"zone": "", "app": "web"})
	for _, tc := range []struct {
		name, filter, score string
		keyed               bool
		same, differ        [][2]*PodInput
	}{
		{"node only", `node.requested.pods < 100`, `double(node.requested.memory)`, true,
			[][2]*PodInput{{a, b}, {a, none}}, nil},
		{"one label", exampleFilter, "", true,
			[][2]*PodInput{{a, a2}}, [][2]*PodInput{{a, b}, {a, none}, {none, empty}}},
		{"index", `node.metadata.labels.zone == pod.metadata.labels["zone"]`, "", true,
			[][2]*PodInput{{a, a2}}, [][2]*PodInput{{a, b}, {a, none}}},
		{"optional", `pod.metadata.labels.?zone.orValue("x") == "a"`, "", true,
			[][2]*PodInput{{a, a2}}, [][2]*PodInput{{a, b}, {none, empty}}},
		{"whole map", `"zone" in pod.metadata.labels`, "", true,
			nil, [][2]*PodInput{{a, a2}, {a, b}}},
		{"object field", `pod.spec.nodeName == node.metadata.name`, "", true,
			[][2]*PodInput{{a, b}}, nil},
		{"two paths", exampleFilter, `pod.metadata.labels.app == "web" ? 1 : 0`, true,
			[][2]*PodInput{{a, withLabels(map[string]string{"zone": "a", "app": "web", "x": "y"})}}, [][2]*PodInput{{a, a2}}},
		{"scan of containers", `pod.spec.containers.all(c, c.image != "")`, "", false, nil, nil},
		{"whole pod", `[pod].size() == 1`, "", false, nil, nil},
		{"list of objects", `pod.spec.containers.size() > 1`, "", false, nil, nil},
		{"pod shadowed", `node.metadata.labels.all(pod, pod != "")`, "", false, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prg, err := env.Compile(tc.filter, tc.score)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := prg.PodKey(a); ok != tc.keyed {
				t.Fatalf("PodKey ok = %v, want %v", ok, tc.keyed)
			}
			key := func(p *PodInput) string {
				k, ok := prg.PodKey(p)
				if !ok {
					t.Fatal("PodKey not ok")
				}
				return k
			}
			for _, pair := range tc.same {
				if key(pair[0]) != key(pair[1]) {
					t.Errorf("keys differ: %q, %q", key(pair[0]), key(pair[1]))
				}
			}
			for _, pair := range tc.differ {
				if key(pair[0]) == key(pair[1]) {
					t.Errorf("keys equal: %q", key(pair[0]))
				}
			}
		})
	}
}

// TestPodKeySameResults: pods with equal keys get the same results on every node, values and
// errors alike.
func TestPodKeySameResults(t *testing.T) {
	env := newTestEnv(t, Config{})
	prg, err := env.Compile(`has(pod.metadata.labels.zone) ? node.metadata.labels[pod.metadata.labels.zone + "-ok"] == "y" : true`,
		`pod.metadata.labels.?app.orValue("") == "web" ? 1.0 : 0.0`)
	if err != nil {
		t.Fatal(err)
	}
	var pods []*PodInput
	for _, zone := range []string{"", "a", "b", "-"} {
		for _, app := range []string{"", "web", "db"} {
			p := testPod()
			p.Labels = map[string]string{"n": fmt.Sprint(len(pods))}
			if zone != "-" {
				p.Labels["zone"] = zone
			}
			if app != "" {
				p.Labels["app"] = app
			}
			pods = append(pods, env.NewPodInput(p))
		}
	}
	var nodes []*NodeInput
	for _, l := range []map[string]string{nil, {"a-ok": "y"}, {"b-ok": "n", "-ok": "y"}} {
		n := testNode("n", "")
		n.Labels = l
		nodes = append(nodes, env.NewNodeInput(n, Requested{}))
	}
	type result struct {
		ok     bool
		score  float64
		ferr   string
		scored bool
	}
	seen := map[string]map[int]result{}
	for _, p := range pods {
		k, ok := prg.PodKey(p)
		if !ok {
			t.Fatal("PodKey not ok")
		}
		for i, n := range nodes {
			var r result
			var err error
			if r.ok, err = prg.Filter(p, n); err != nil {
				r.ferr = err.Error()
			}
			r.score, err = prg.Score(p, n)
			r.scored = err == nil
			if seen[k] == nil {
				seen[k] = map[int]result{}
			}
			if prev, ok := seen[k][i]; ok && prev != r {
				t.Fatalf("key %q node %d: %+v and %+v", k, i, prev, r)
			}
			seen[k][i] = r
		}
	}
	if len(seen) != 12 {
		t.Fatalf("%d keys for 4 zones x 3 apps", len(seen))
	}
}
