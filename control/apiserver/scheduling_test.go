package apiserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

const policiesPath = "/apis/wasmkube.io/v1alpha1/schedulingpolicies"

func schedulingPolicy(name, filter, score string) map[string]any {
	return map[string]any{"apiVersion": "wasmkube.io/v1alpha1", "kind": "SchedulingPolicy",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"filter": filter, "score": score}}
}

func TestSchedulingPolicyCompiledOnWrite(t *testing.T) {
	e := start(t)
	tests := []struct {
		name, filter, score string
		field, detail       string // "" field: accepted
	}{
		{name: "good", filter: `node.metadata.name != ""`, score: `double(node.requested.memory) / 1e9`},
		{name: "typo", filter: `node.metadata.nmae == "a"`, field: "spec.filter", detail: "nmae"},
		{name: "syntax", filter: `node.metadata.name ==`, field: "spec.filter", detail: "Syntax error"},
		{name: "not-bool", filter: `1 + 1`, field: "spec.filter", detail: "bool"},
		{name: "score-string", score: `node.metadata.name`, field: "spec.score", detail: "string"},
		{name: "empty", field: "spec.filter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", policiesPath, schedulingPolicy(tc.name, tc.filter, tc.score))
			if tc.field == "" {
				if r.code != http.StatusCreated {
					t.Fatalf("create: %d %s", r.code, r.body)
				}
				return
			}
			st := r.status(t)
			if st.Code != http.StatusUnprocessableEntity || st.Reason != api.ReasonInvalid || st.Details == nil {
				t.Fatalf("want 422 Invalid, got %d %s", r.code, r.body)
			}
			found := false
			for _, c := range st.Details.Causes {
				if c.Field == tc.field && strings.Contains(c.Message, tc.detail) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no cause on %s mentioning %q: %s", tc.field, tc.detail, r.body)
			}
		})
	}
	t.Run("update", func(t *testing.T) {
		r := e.must(http.StatusOK, "GET", policiesPath+"/good", nil)
		var sp api.SchedulingPolicy
		r.decode(t, &sp)
		if sp.Spec.Weight != 1 {
			t.Errorf("weight defaulted to %d, want 1", sp.Spec.Weight)
		}
		sp.Spec.Filter = "pod.spec.nodeNmae == ''"
		if r := e.do("PUT", policiesPath+"/good", sp); r.code != http.StatusUnprocessableEntity {
			t.Fatalf("update with a typo: %d %s", r.code, r.body)
		}
	})
	t.Run("table", func(t *testing.T) {
		r := e.must(http.StatusOK, "GET", policiesPath, nil, header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"))
		if !strings.Contains(string(r.body), `"Weight"`) || !strings.Contains(string(r.body), `"good"`) {
			t.Fatalf("table: %s", r.body)
		}
	})
}

func TestPriorityClassResolved(t *testing.T) {
	e := start(t)
	pcs := "/apis/scheduling.k8s.io/v1/priorityclasses"
	e.must(http.StatusCreated, "POST", pcs, map[string]any{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
		"metadata": map[string]any{"name": "high"}, "value": 1000})
	e.must(http.StatusCreated, "POST", pcs, map[string]any{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
		"metadata": map[string]any{"name": "batch"}, "value": 5, "preemptionPolicy": "Never"})
	tests := []struct {
		name     string
		class    string
		priority *int32
		policy   string // stated in the pod
		code     int
		want     int32
		wantPol  string
	}{
		{name: "named", class: "high", code: http.StatusCreated, want: 1000, wantPol: api.PreemptLowerPriority},
		{name: "unknown", class: "nope", code: http.StatusForbidden},
		{name: "none", code: http.StatusCreated, want: 0, wantPol: api.PreemptLowerPriority},
		{name: "mismatch", class: "high", priority: api.Ptr[int32](5), code: http.StatusForbidden},
		// Without a class the computed priority is 0, so stating another is refused.
		{name: "priority-without-class", priority: api.Ptr[int32](5), code: http.StatusForbidden},
		{name: "same-priority-stated", class: "high", priority: api.Ptr[int32](1000), code: http.StatusCreated, want: 1000, wantPol: api.PreemptLowerPriority},
		{name: "class-never", class: "batch", code: http.StatusCreated, want: 5, wantPol: api.PreemptNever},
		{name: "class-never-stated", class: "batch", policy: api.PreemptNever, code: http.StatusCreated, want: 5, wantPol: api.PreemptNever},
		{name: "policy-mismatch", class: "batch", policy: api.PreemptLowerPriority, code: http.StatusForbidden},
		{name: "never-without-class", policy: api.PreemptNever, code: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pod(tc.name, nil)
			spec := p["spec"].(map[string]any)
			if tc.class != "" {
				spec["priorityClassName"] = tc.class
			}
			if tc.priority != nil {
				spec["priority"] = *tc.priority
			}
			if tc.policy != "" {
				spec["preemptionPolicy"] = tc.policy
			}
			r := e.do("POST", "/api/v1/namespaces/default/pods", p)
			if r.code != tc.code {
				t.Fatalf("create: %d %s", r.code, r.body)
			}
			if tc.code != http.StatusCreated {
				return
			}
			var got api.Pod
			r.decode(t, &got)
			if api.PodPriority(&got.Spec) != tc.want || got.Spec.Priority == nil {
				t.Fatalf("priority %v, want %d", got.Spec.Priority, tc.want)
			}
			if got.Spec.PreemptionPolicy == nil || *got.Spec.PreemptionPolicy != tc.wantPol {
				t.Fatalf("preemptionPolicy %v, want %s", got.Spec.PreemptionPolicy, tc.wantPol)
			}
		})
	}
	t.Run("update keeps admitted values", func(t *testing.T) {
		// A client that sends the spec without what admission added keeps them.
		r := e.do("GET", "/api/v1/namespaces/default/pods/class-never", nil)
		var got map[string]any
		r.decode(t, &got)
		spec := got["spec"].(map[string]any)
		delete(spec, "priority")
		delete(spec, "preemptionPolicy")
		got["metadata"].(map[string]any)["labels"] = map[string]any{"updated": "yes"}
		r = e.do("PUT", "/api/v1/namespaces/default/pods/class-never", got)
		if r.code != http.StatusOK {
			t.Fatalf("update: %d %s", r.code, r.body)
		}
		var p api.Pod
		r.decode(t, &p)
		if api.PodPriority(&p.Spec) != 5 || api.PodPreemptionPolicy(&p.Spec) != api.PreemptNever {
			t.Fatalf("after update priority %v policy %v", p.Spec.Priority, p.Spec.PreemptionPolicy)
		}
	})
	t.Run("class policy", func(t *testing.T) {
		r := e.do("POST", pcs, map[string]any{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
			"metadata": map[string]any{"name": "odd"}, "value": 1, "preemptionPolicy": "Sometimes"})
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `preemptionPolicy: Unsupported value: \"Sometimes\"`) {
			t.Fatalf("create: %d %s", r.code, r.body)
		}
		r = e.do("PATCH", pcs+"/batch", `{"preemptionPolicy": "PreemptLowerPriority"}`, contentType("application/merge-patch+json"))
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "field is immutable") {
			t.Fatalf("patch preemptionPolicy: %d %s", r.code, r.body)
		}
		r = e.do("GET", pcs+"/high", nil)
		var pc api.PriorityClass
		r.decode(t, &pc)
		if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != api.PreemptLowerPriority {
			t.Fatalf("defaulted preemptionPolicy %v", pc.PreemptionPolicy)
		}
	})
	t.Run("value immutable", func(t *testing.T) {
		r := e.do("PATCH", pcs+"/high", `{"value": 7}`, contentType("application/merge-patch+json"))
		if r.code != http.StatusUnprocessableEntity {
			t.Fatalf("patch value: %d %s", r.code, r.body)
		}
	})
}

func TestSchedulingFieldsValidated(t *testing.T) {
	e := start(t)
	tests := []struct {
		name  string
		set   func(spec map[string]any)
		field string
	}{
		{"bad effect", func(s map[string]any) {
			s["tolerations"] = []any{map[string]any{"key": "a", "operator": "Exists", "effect": "Never"}}
		}, "spec.tolerations[0].effect"},
		{"bad operator", func(s map[string]any) {
			s["affinity"] = map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
				"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "zone", "operator": "Near"}}}}}}}
		}, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator"},
		{"no topology key", func(s map[string]any) {
			s["affinity"] = map[string]any{"podAntiAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": []any{
				map[string]any{"labelSelector": map[string]any{"matchLabels": map[string]any{"a": "b"}}}}}}
		}, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"},
		{"skew", func(s map[string]any) {
			s["topologySpreadConstraints"] = []any{map[string]any{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}}
		}, "spec.topologySpreadConstraints[0].maxSkew"},
		{"unknown field", func(s map[string]any) {
			s["tolerations"] = []any{map[string]any{"key": "a", "operator": "Exists", "bogus": 1}}
		}, "spec.tolerations[0].bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pod("p", nil)
			tc.set(p["spec"].(map[string]any))
			r := e.do("POST", "/api/v1/namespaces/default/pods", p)
			if r.code != http.StatusUnprocessableEntity && r.code != http.StatusBadRequest {
				t.Fatalf("create: %d %s", r.code, r.body)
			}
			if !strings.Contains(string(r.body), tc.field) {
				t.Fatalf("no mention of %s: %s", tc.field, r.body)
			}
		})
	}
	t.Run("node taint", func(t *testing.T) {
		r := e.do("POST", "/api/v1/nodes", map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": "n"},
			"spec": map[string]any{"taints": []any{map[string]any{"key": "k", "effect": "Sometimes"}}}})
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "spec.taints[0].effect") {
			t.Fatalf("create: %d %s", r.code, r.body)
		}
	})
}
