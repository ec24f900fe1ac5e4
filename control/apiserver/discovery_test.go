package apiserver_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestDiscovery(t *testing.T) {
	e := start(t)
	var v api.APIVersions
	e.must(http.StatusOK, "GET", "/api", nil,
		header("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")).decode(t, &v)
	if v.Kind != "APIVersions" || !slices.Equal(v.Versions, []string{"v1"}) {
		t.Fatalf("/api: %+v", v)
	}
	var gl api.APIGroupList
	r := e.must(http.StatusOK, "GET", "/apis", nil)
	r.decode(t, &gl)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("/apis Content-Type %q", ct)
	}
	var names []string
	for _, g := range gl.Groups {
		names = append(names, g.Name+"="+g.PreferredVersion.GroupVersion)
	}
	if !slices.Equal(names, []string{"apps=apps/v1", "coordination.k8s.io=coordination.k8s.io/v1",
		"scheduling.k8s.io=scheduling.k8s.io/v1", "wasmkube.io=wasmkube.io/v1alpha1", "batch=batch/v1",
		"certificates.k8s.io=certificates.k8s.io/v1", "policy=policy/v1", "authentication.k8s.io=authentication.k8s.io/v1",
		"authorization.k8s.io=authorization.k8s.io/v1"}) {
		t.Fatalf("/apis groups %v", names)
	}

	var core api.APIResourceList
	e.must(http.StatusOK, "GET", "/api/v1", nil).decode(t, &core)
	byName := map[string]api.APIResource{}
	for _, r := range core.APIResources {
		byName[r.Name] = r
	}
	pods := byName["pods"]
	if !pods.Namespaced || pods.Kind != "Pod" || pods.SingularName != "pod" || !slices.Contains(pods.ShortNames, "po") ||
		!slices.Contains(pods.Categories, "all") || !slices.Contains(pods.Verbs, "watch") {
		t.Errorf("pods: %+v", pods)
	}
	for _, sub := range []string{"pods/log", "pods/status", "pods/binding", "namespaces/status", "namespaces/finalize", "nodes/status"} {
		if _, ok := byName[sub]; !ok {
			t.Errorf("/api/v1 lacks %s", sub)
		}
	}
	if ns := byName["namespaces"]; ns.Namespaced {
		t.Errorf("namespaces are namespaced in discovery")
	}
	var apps api.APIResourceList
	e.must(http.StatusOK, "GET", "/apis/apps/v1", nil).decode(t, &apps)
	if apps.GroupVersion != "apps/v1" {
		t.Errorf("apps groupVersion %q", apps.GroupVersion)
	}
	found := false
	for _, r := range apps.APIResources {
		if r.Name == "deployments/scale" {
			found = r.Group == "autoscaling" && r.Version == "v1" && r.Kind == "Scale"
		}
	}
	if !found {
		t.Errorf("apps/v1 lacks deployments/scale as autoscaling/v1 Scale: %+v", apps.APIResources)
	}
	e.must(http.StatusNotFound, "GET", "/apis/apps/v2", nil)
	e.must(http.StatusOK, "GET", "/apis/apps", nil)
	e.must(http.StatusOK, "GET", "/openapi/v2", nil)
}

func TestTable(t *testing.T) {
	e := start(t)
	e.createPod("a", map[string]string{"app": "x"})
	e.createPod("b", nil)
	const accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	var tbl api.Table
	e.must(http.StatusOK, "GET", podsPath, nil, header("Accept", accept)).decode(t, &tbl)
	if tbl.Kind != "Table" || tbl.APIVersion != "meta.k8s.io/v1" || len(tbl.Rows) != 2 || tbl.ResourceVersion == "" {
		t.Fatalf("table %+v", tbl)
	}
	if len(tbl.ColumnDefinitions) == 0 || tbl.ColumnDefinitions[0].Name != "Name" || tbl.Rows[0].Cells[0] != "a" {
		t.Fatalf("columns %+v row %+v", tbl.ColumnDefinitions, tbl.Rows[0])
	}
	var meta api.PartialObjectMetadata
	json.Unmarshal(tbl.Rows[0].Object, &meta)
	if meta.Kind != "PartialObjectMetadata" || meta.Name != "a" {
		t.Errorf("row object %s", tbl.Rows[0].Object)
	}

	tbl = api.Table{}
	e.must(http.StatusOK, "GET", podsPath+"?labelSelector=app%3Dx&includeObject=None", nil, header("Accept", accept)).decode(t, &tbl)
	if len(tbl.Rows) != 1 || tbl.Rows[0].Object != nil {
		t.Fatalf("selected table %+v", tbl.Rows)
	}
	tbl = api.Table{}
	e.must(http.StatusOK, "GET", podsPath+"/b", nil, header("Accept", accept)).decode(t, &tbl)
	if len(tbl.Rows) != 1 || tbl.Rows[0].Cells[0] != "b" {
		t.Fatalf("single get table %+v", tbl.Rows)
	}
	e.must(http.StatusBadRequest, "GET", podsPath+"?includeObject=Everything", nil, header("Accept", accept))

	// Watch events are one-row Tables; the column definitions come with the first.
	w := e.watch(podsPath+"?watch=1", header("Accept", accept))
	var first, second api.Table
	json.Unmarshal(w.next(false).Object, &first)
	json.Unmarshal(w.next(false).Object, &second)
	if first.Kind != "Table" || len(first.Rows) != 1 || len(first.ColumnDefinitions) == 0 || len(second.ColumnDefinitions) != 0 {
		t.Fatalf("watch tables %+v / %+v", first, second)
	}
}
