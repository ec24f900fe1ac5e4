package apiserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

const dsPath = "/apis/apps/v1/namespaces/default/daemonsets"

func daemonSetBody(name string, mutate func(spec map[string]any)) map[string]any {
	spec := map[string]any{
		"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
		"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": name}},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "agent", "image": "agent:v1"}}},
		},
	}
	if mutate != nil {
		mutate(spec)
	}
	return map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": map[string]any{"name": name}, "spec": spec}
}

// TestDaemonSetValidation: invalid DaemonSets are refused 422 with Kubernetes' field path and
// message, and nothing is stored.
func TestDaemonSetValidation(t *testing.T) {
	e := start(t)
	rolling := func(ru map[string]any) func(map[string]any) {
		return func(s map[string]any) {
			s["updateStrategy"] = map[string]any{"type": "RollingUpdate", "rollingUpdate": ru}
		}
	}
	for _, c := range []struct {
		name, field, msg string
		mutate           func(map[string]any)
	}{
		{"d1", "spec.template.metadata.labels", "`selector` does not match template `labels`",
			func(s map[string]any) { s["selector"] = map[string]any{"matchLabels": map[string]any{"app": "other"}} }},
		{"d2", "spec.selector", "empty selector is invalid for daemonset", func(s map[string]any) { s["selector"] = map[string]any{} }},
		{"d3", "spec.template.spec.restartPolicy", `supported values: "Always"`, func(s map[string]any) {
			s["template"].(map[string]any)["spec"].(map[string]any)["restartPolicy"] = "OnFailure"
		}},
		{"d4", "spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0",
			rolling(map[string]any{"maxUnavailable": 0, "maxSurge": 0})},
		{"d5", "spec.updateStrategy.rollingUpdate.maxSurge", "may not be set when maxUnavailable is non-zero",
			rolling(map[string]any{"maxUnavailable": "50%", "maxSurge": 1})},
		{"d6", "spec.updateStrategy.rollingUpdate.maxSurge", "must not be greater than 100%",
			rolling(map[string]any{"maxUnavailable": 0, "maxSurge": "150%"})},
		{"d7", "spec.updateStrategy", `supported values: "RollingUpdate", "OnDelete"`,
			func(s map[string]any) { s["updateStrategy"] = map[string]any{"type": "Recreate"} }},
		{"d8", "spec.minReadySeconds", "must be greater than or equal to 0", func(s map[string]any) { s["minReadySeconds"] = -3 }},
	} {
		t.Run(c.field, func(t *testing.T) {
			r := e.do(http.MethodPost, dsPath, daemonSetBody(c.name, c.mutate))
			if r.code != http.StatusUnprocessableEntity {
				t.Fatalf("got %d %s, want 422", r.code, r.body)
			}
			st := r.status(t)
			found := false
			for _, cause := range st.Details.Causes {
				found = found || cause.Field == c.field && strings.Contains(cause.Message, c.msg)
			}
			if !found || !strings.Contains(st.Message, `DaemonSet.apps "`+c.name+`" is invalid`) {
				t.Fatalf("no cause at %q containing %q in %s", c.field, c.msg, r.body)
			}
			e.must(http.StatusNotFound, http.MethodGet, dsPath+"/"+c.name, nil)
		})
	}
}

// TestDaemonSetGenerations: defaults are stored, and the server keeps generation and the
// template generation annotation as Kubernetes' strategy does: a template change bumps both,
// another spec change only generation, a status write neither.
func TestDaemonSetGenerations(t *testing.T) {
	e := start(t)
	var ds api.DaemonSet
	body := daemonSetBody("agent", nil)
	body["metadata"].(map[string]any)["annotations"] = map[string]any{api.AnnotationTemplateGeneration: "7"}
	e.must(http.StatusCreated, http.MethodPost, dsPath, body).decode(t, &ds)
	check := func(gen int64, tgen string) {
		t.Helper()
		if ds.Generation != gen || ds.Annotations[api.AnnotationTemplateGeneration] != tgen {
			t.Fatalf("generation %d, template generation %q; want %d, %q", ds.Generation, ds.Annotations[api.AnnotationTemplateGeneration], gen, tgen)
		}
	}
	check(1, "1")
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != "RollingUpdate" || ru == nil || ru.MaxUnavailable.String() != "1" || ru.MaxSurge.String() != "0" ||
		api.Deref(ds.Spec.RevisionHistoryLimit, 0) != 10 {
		t.Fatalf("defaults not stored: %+v", ds.Spec)
	}
	ds.Spec.MinReadySeconds = 3
	e.must(http.StatusOK, http.MethodPut, dsPath+"/agent", &ds).decode(t, &ds)
	check(2, "1")
	ds.Spec.Template.Spec.Containers[0].Image = "agent:v2"
	e.must(http.StatusOK, http.MethodPut, dsPath+"/agent", &ds).decode(t, &ds)
	check(3, "2")
	ds.Status.DesiredNumberScheduled = 4
	ds.Status.ObservedGeneration = 3
	e.must(http.StatusOK, http.MethodPut, dsPath+"/agent/status", &ds).decode(t, &ds)
	check(3, "2")
	if ds.Status.DesiredNumberScheduled != 4 {
		t.Fatalf("status not written: %+v", ds.Status)
	}
	e.must(http.StatusOK, http.MethodPatch, dsPath+"/agent", `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"now"}}}}}`,
		contentType("application/strategic-merge-patch+json")).decode(t, &ds)
	check(4, "3")
}
