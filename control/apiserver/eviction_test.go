package apiserver_test

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

const pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"

func pdb(name string, spec map[string]any) map[string]any {
	return map[string]any{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
		"metadata": map[string]any{"name": name}, "spec": spec}
}

func TestPodDisruptionBudgetValidation(t *testing.T) {
	e := start(t)
	sel := map[string]any{"matchLabels": map[string]any{"app": "web"}}
	cases := []struct {
		name  string
		spec  map[string]any
		field string
	}{
		{"both bounds", map[string]any{"minAvailable": 1, "maxUnavailable": 1, "selector": sel}, "spec"},
		{"negative minAvailable", map[string]any{"minAvailable": -1, "selector": sel}, "spec.minAvailable"},
		{"negative maxUnavailable", map[string]any{"maxUnavailable": -2, "selector": sel}, "spec.maxUnavailable"},
		{"percent over 100", map[string]any{"minAvailable": "101%", "selector": sel}, "spec.minAvailable"},
		{"not a percent", map[string]any{"maxUnavailable": "half", "selector": sel}, "spec.maxUnavailable"},
		{"negative percent", map[string]any{"maxUnavailable": "-5%", "selector": sel}, "spec.maxUnavailable"},
		{"bad selector operator", map[string]any{"minAvailable": 1, "selector": map[string]any{
			"matchExpressions": []any{map[string]any{"key": "app", "operator": "Near", "values": []any{"x"}}}}}, "spec.selector"},
		{"bad label value", map[string]any{"minAvailable": 1, "selector": map[string]any{
			"matchLabels": map[string]any{"app": "-bad-"}}}, "spec.selector.matchLabels[app]"},
		{"unknown policy", map[string]any{"minAvailable": 1, "selector": sel, "unhealthyPodEvictionPolicy": "Sometimes"},
			"spec.unhealthyPodEvictionPolicy"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("bad-%d", i)
			st := e.must(422, "POST", pdbs, pdb(name, c.spec)).status(t)
			found := false
			for _, cause := range st.Details.Causes {
				found = found || cause.Field == c.field
			}
			if !found || st.Details.Kind != "PodDisruptionBudget" {
				t.Fatalf("causes %+v lack field %s", st.Details.Causes, c.field)
			}
			e.must(404, "GET", pdbs+"/"+name, nil)
		})
	}
	t.Run("valid", func(t *testing.T) {
		var got api.PodDisruptionBudget
		e.must(201, "POST", pdbs, pdb("ok", map[string]any{"minAvailable": "50%", "selector": sel})).decode(t, &got)
		if got.Generation != 1 {
			t.Fatalf("generation %d, want 1", got.Generation)
		}
		got.Spec.MinAvailable = api.Ptr(api.FromInt(2))
		e.must(200, "PUT", pdbs+"/ok", got).decode(t, &got)
		if got.Generation != 2 {
			t.Fatalf("generation after a spec update %d, want 2", got.Generation)
		}
		tbl := e.must(200, "GET", pdbs, nil, header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")).body
		for _, want := range []string{`"Min Available"`, `"Max Unavailable"`, `"Allowed Disruptions"`, `"N/A"`} {
			if !strings.Contains(string(tbl), want) {
				t.Fatalf("table %s lacks %s", tbl, want)
			}
		}
	})
}

// runningPod creates a pod bound to a node and Running, Ready or not.
func (e *env) runningPod(name string, lbl map[string]string, ready bool) {
	e.t.Helper()
	e.must(201, "POST", "/api/v1/namespaces/default/pods", pod(name, lbl))
	e.must(201, "POST", "/api/v1/namespaces/default/pods/"+name+"/binding",
		map[string]any{"apiVersion": "v1", "kind": "Binding", "metadata": map[string]any{"name": name},
			"target": map[string]any{"kind": "Node", "name": "node-1"}})
	var p api.Pod
	e.must(200, "GET", "/api/v1/namespaces/default/pods/"+name, nil).decode(e.t, &p)
	p.Status.Phase = api.PodRunning
	st := api.ConditionFalse
	if ready {
		st = api.ConditionTrue
	}
	p.Status.Conditions = append(p.Status.Conditions, api.PodCondition{Type: api.PodReady, Status: st})
	e.must(200, "PUT", "/api/v1/namespaces/default/pods/"+name+"/status", p)
}

// budget creates a PDB selecting app=lbl and sets its status as the controller would.
func (e *env) budget(name, app string, allowed, healthy, desired int32) {
	e.t.Helper()
	var p api.PodDisruptionBudget
	e.must(201, "POST", pdbs, pdb(name, map[string]any{"minAvailable": desired,
		"selector": map[string]any{"matchLabels": map[string]any{"app": app}}})).decode(e.t, &p)
	p.Status = api.PodDisruptionBudgetStatus{ObservedGeneration: p.Generation, DisruptionsAllowed: allowed,
		CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: healthy}
	e.must(200, "PUT", pdbs+"/"+name+"/status", p)
}

func eviction(name string) map[string]any {
	return map[string]any{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": map[string]any{"name": name},
		"deleteOptions": map[string]any{"gracePeriodSeconds": 0}}
}

func (e *env) evict(name string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/namespaces/default/pods/"+name+"/eviction", eviction(name))
}

func TestEviction(t *testing.T) {
	e := start(t)
	web := map[string]string{"app": "web"}
	e.runningPod("web-1", web, true)
	e.runningPod("web-2", web, true)
	e.runningPod("web-3", web, true)
	e.budget("web", "web", 1, 3, 2)

	t.Run("allowed", func(t *testing.T) {
		r := e.evict("web-1")
		if st := r.status(t); r.code != 201 || st.Status != api.StatusSuccess {
			t.Fatalf("evict: %d %s", r.code, r.body)
		}
		e.must(404, "GET", "/api/v1/namespaces/default/pods/web-1", nil)
		var p api.PodDisruptionBudget
		e.must(200, "GET", pdbs+"/web", nil).decode(t, &p)
		if _, ok := p.Status.DisruptedPods["web-1"]; p.Status.DisruptionsAllowed != 0 || !ok {
			t.Fatalf("status after eviction: %+v", p.Status)
		}
		if c := api.FindCondition(p.Status.Conditions, api.DisruptionAllowedCondition); c == nil || c.Status != api.ConditionFalse {
			t.Fatalf("conditions %+v", p.Status.Conditions)
		}
	})
	t.Run("budget exhausted", func(t *testing.T) {
		r := e.evict("web-2")
		st := r.status(t)
		if r.code != 429 || st.Reason != api.ReasonTooManyRequests ||
			st.Message != "Cannot evict pod as it would violate the pod's disruption budget." ||
			st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "DisruptionBudget" {
			t.Fatalf("evict over budget: %d %s", r.code, r.body)
		}
		if r.header.Get("Retry-After") != "" {
			t.Fatalf("Retry-After %q: client-go would retry by itself", r.header.Get("Retry-After"))
		}
		var p api.Pod
		e.must(200, "GET", "/api/v1/namespaces/default/pods/web-2", nil).decode(t, &p)
		if p.DeletionTimestamp != nil {
			t.Fatal("the pod was deleted")
		}
	})
	t.Run("not ready, application healthy", func(t *testing.T) {
		e.runningPod("web-4", web, false) // currentHealthy 3 >= desiredHealthy 2
		e.must(201, "POST", "/api/v1/namespaces/default/pods/web-4/eviction", eviction("web-4"))
	})
	t.Run("pending ignores the budget", func(t *testing.T) {
		e.must(201, "POST", "/api/v1/namespaces/default/pods", pod("web-p", web))
		e.must(201, "POST", "/api/v1/namespaces/default/pods/web-p/eviction", eviction("web-p"))
		e.must(404, "GET", "/api/v1/namespaces/default/pods/web-p", nil)
	})
	t.Run("two budgets", func(t *testing.T) {
		e.budget("web-too", "web", 5, 3, 1)
		r := e.evict("web-3")
		st := r.status(t)
		if r.code != 500 || st.Message != "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." {
			t.Fatalf("evict with two budgets: %d %s", r.code, r.body)
		}
		e.must(200, "GET", "/api/v1/namespaces/default/pods/web-3", nil)
	})
	t.Run("no budget", func(t *testing.T) {
		e.runningPod("lone", map[string]string{"app": "lone"}, true)
		e.must(201, "POST", "/api/v1/namespaces/default/pods/lone/eviction", eviction("lone"))
		e.must(404, "GET", "/api/v1/namespaces/default/pods/lone", nil)
	})
	t.Run("name mismatch", func(t *testing.T) {
		e.must(400, "POST", "/api/v1/namespaces/default/pods/web-2/eviction", eviction("web-3"))
	})
	t.Run("missing pod", func(t *testing.T) {
		e.must(404, "POST", "/api/v1/namespaces/default/pods/nope/eviction", eviction("nope"))
	})
	t.Run("discovery", func(t *testing.T) {
		var l api.APIResourceList
		e.must(200, "GET", "/api/v1", nil).decode(t, &l)
		for _, r := range l.APIResources {
			if r.Name == "pods/eviction" {
				if r.Kind != "Eviction" || r.Group != "policy" || r.Version != "v1" {
					t.Fatalf("pods/eviction: %+v", r)
				}
				return
			}
		}
		t.Fatal("discovery lacks pods/eviction")
	})
}

// pbuf builds protobuf messages for tests.
type pbuf []byte

func (m pbuf) str(num int, s string) pbuf { return m.bytes(num, []byte(s)) }
func (m pbuf) bytes(num int, b []byte) pbuf {
	m = binary.AppendUvarint(m, uint64(num<<3|2))
	m = binary.AppendUvarint(m, uint64(len(b)))
	return append(m, b...)
}
func (m pbuf) varint(num int, v uint64) pbuf {
	m = binary.AppendUvarint(m, uint64(num<<3))
	return binary.AppendUvarint(m, v)
}
func protoBody(kind, apiVersion string, raw pbuf) []byte {
	return append([]byte("k8s\x00"), pbuf{}.bytes(1, pbuf{}.str(1, apiVersion).str(2, kind)).bytes(2, raw)...)
}

func TestProtobufDeleteAndEviction(t *testing.T) {
	e := start(t)
	e.runningPod("a", map[string]string{"app": "a"}, true)
	e.runningPod("b", map[string]string{"app": "b"}, true)
	ct := contentType("application/vnd.kubernetes.protobuf")
	// DeleteOptions{gracePeriodSeconds: 0, propagationPolicy: Background}, as kubectl delete sends it.
	opts := pbuf{}.varint(1, 0).str(4, "Background")
	e.must(200, "DELETE", "/api/v1/namespaces/default/pods/a", protoBody("DeleteOptions", "v1", opts), ct)
	e.must(404, "GET", "/api/v1/namespaces/default/pods/a", nil)
	ev := pbuf{}.bytes(1, pbuf{}.str(1, "b").str(3, "default")).bytes(2, opts)
	e.must(201, "POST", "/api/v1/namespaces/default/pods/b/eviction", protoBody("Eviction", "policy/v1", ev), ct)
	e.must(404, "GET", "/api/v1/namespaces/default/pods/b", nil)
}

// TestEvictionHammer evicts every pod at once: exactly the budget's allowance succeeds.
func TestEvictionHammer(t *testing.T) {
	e := start(t)
	const pods, allowed = 24, 5
	for i := range pods {
		e.runningPod(fmt.Sprintf("h-%d", i), map[string]string{"app": "h"}, true)
	}
	e.budget("h", "h", allowed, pods, pods-allowed)
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range pods {
		wg.Go(func() {
			r := e.evict(fmt.Sprintf("h-%d", i))
			mu.Lock()
			codes[r.code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[http.StatusCreated] != allowed || codes[http.StatusTooManyRequests] != pods-allowed {
		t.Fatalf("answers %v, want %d evicted and %d refused", codes, allowed, pods-allowed)
	}
	var l api.List[*api.Pod]
	e.must(200, "GET", "/api/v1/namespaces/default/pods", nil).decode(t, &l)
	var p api.PodDisruptionBudget
	e.must(200, "GET", pdbs+"/h", nil).decode(t, &p)
	if len(l.Items) != pods-allowed || len(p.Status.DisruptedPods) != allowed || p.Status.DisruptionsAllowed != 0 {
		t.Fatalf("%d pods left, status %+v", len(l.Items), p.Status)
	}
}
