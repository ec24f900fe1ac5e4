package apiserver_test

import (
	"net/http"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestCRUD(t *testing.T) {
	e := start(t)
	const base = "/apis/apps/v1/namespaces/default/deployments"

	created := e.must(http.StatusCreated, "POST", base, deployment("hello", 2))
	var d api.Deployment
	created.decode(t, &d)
	if d.UID == "" || d.ResourceVersion == "" || d.Generation != 1 || d.CreationTimestamp.IsZero() {
		t.Fatalf("created deployment lacks server fields: %s", created.body)
	}
	if d.Namespace != "default" || *d.Spec.Replicas != 2 || d.Spec.Strategy.Type != "RollingUpdate" {
		t.Fatalf("created deployment not defaulted: %s", created.body)
	}
	if len(d.ManagedFields) == 0 || d.ManagedFields[0].Manager != "apiserver-test" {
		t.Fatalf("managedFields = %+v, want one entry of apiserver-test", d.ManagedFields)
	}

	var got api.Deployment
	e.must(http.StatusOK, "GET", base+"/hello", nil).decode(t, &got)
	if got.ResourceVersion != d.ResourceVersion || got.UID != d.UID {
		t.Fatalf("get: rv %s uid %s, want %s %s", got.ResourceVersion, got.UID, d.ResourceVersion, d.UID)
	}

	var list api.List[api.Deployment]
	e.must(http.StatusOK, "GET", base, nil).decode(t, &list)
	if list.Kind != "DeploymentList" || list.APIVersion != "apps/v1" || len(list.Items) != 1 || list.ResourceVersion == "" {
		t.Fatalf("list = %+v", list)
	}
	if list.Items[0].ResourceVersion != d.ResourceVersion {
		t.Fatalf("listed rv %s, want %s", list.Items[0].ResourceVersion, d.ResourceVersion)
	}

	// Update: spec change bumps generation; status in the main resource is ignored.
	got.Spec.Replicas = api.Ptr[int32](5)
	got.Status.Replicas = 7
	var upd api.Deployment
	e.must(http.StatusOK, "PUT", base+"/hello", got).decode(t, &upd)
	if upd.Generation != 2 || *upd.Spec.Replicas != 5 || upd.Status.Replicas != 0 || upd.ResourceVersion == got.ResourceVersion {
		t.Fatalf("update: %+v", upd)
	}

	// A stale resourceVersion is a conflict, and changes nothing.
	got.Spec.Replicas = api.Ptr[int32](9)
	st := e.must(http.StatusConflict, "PUT", base+"/hello", got).status(t)
	want := `Operation cannot be fulfilled on deployments.apps "hello": the object has been modified; please apply your changes to the latest version and try again`
	if st.Message != want || st.Reason != api.ReasonConflict {
		t.Fatalf("conflict: %q %s, want %q", st.Message, st.Reason, want)
	}
	var now api.Deployment
	e.must(http.StatusOK, "GET", base+"/hello", nil).decode(t, &now)
	if *now.Spec.Replicas != 5 {
		t.Fatalf("replicas after a conflict = %d, want 5", *now.Spec.Replicas)
	}

	// Status subresource changes the status only.
	now.Status.Replicas = 3
	now.Spec.Replicas = api.Ptr[int32](1)
	var stat api.Deployment
	e.must(http.StatusOK, "PUT", base+"/hello/status", now).decode(t, &stat)
	if stat.Status.Replicas != 3 || *stat.Spec.Replicas != 5 || stat.Generation != 2 {
		t.Fatalf("status update: replicas %d/%d generation %d", stat.Status.Replicas, *stat.Spec.Replicas, stat.Generation)
	}

	// Delete answers a Success Status, and the object is gone.
	st = e.must(http.StatusOK, "DELETE", base+"/hello", nil).status(t)
	if st.Status != api.StatusSuccess || st.Details == nil || st.Details.Name != "hello" || st.Details.UID != d.UID {
		t.Fatalf("delete status: %+v", st)
	}
	st = e.must(http.StatusNotFound, "GET", base+"/hello", nil).status(t)
	if st.Message != `deployments.apps "hello" not found` {
		t.Fatalf("not found message %q", st.Message)
	}
}

func TestDeleteCollection(t *testing.T) {
	e := start(t)
	for _, n := range []string{"a", "b", "c"} {
		lbl := map[string]string{"app": "x"}
		if n == "c" {
			lbl["app"] = "y"
		}
		e.must(http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", pod(n, lbl))
	}
	e.must(http.StatusOK, "DELETE", "/api/v1/namespaces/default/pods?labelSelector=app%3Dx", nil)
	var l api.List[api.Pod]
	e.must(http.StatusOK, "GET", "/api/v1/namespaces/default/pods", nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].Name != "c" {
		t.Fatalf("left %d pods", len(l.Items))
	}
}

func TestListResourceVersions(t *testing.T) {
	e := start(t)
	p := e.createPod("a", nil)
	// resourceVersion=0 means any version, which the watch cache may serve from before the
	// create: it comes last, after a NotOlderThan read has waited for the cache to catch up.
	for _, q := range []string{"", "?resourceVersion=" + p.ResourceVersion,
		"?resourceVersion=" + p.ResourceVersion + "&resourceVersionMatch=Exact", "?resourceVersion=" + p.ResourceVersion + "&resourceVersionMatch=NotOlderThan",
		"?resourceVersion=0"} {
		t.Run(q, func(t *testing.T) {
			var l api.List[api.Pod]
			e.must(http.StatusOK, "GET", podsPath+q, nil).decode(t, &l)
			if len(l.Items) != 1 || l.ResourceVersion == "" {
				t.Fatalf("list %+v", l)
			}
		})
	}
	e.must(http.StatusBadRequest, "GET", podsPath+"?resourceVersionMatch=Exact", nil)
	e.must(http.StatusBadRequest, "GET", podsPath+"?resourceVersion=abc", nil)
	e.must(http.StatusBadRequest, "GET", podsPath+"?limit=-1", nil)
	var one api.Pod
	e.must(http.StatusOK, "GET", podsPath+"/a?resourceVersion=0", nil).decode(t, &one)
	if one.Name != "a" {
		t.Fatalf("get from cache: %+v", one)
	}
}

// TestGeneration checks which kinds carry metadata.generation, as in Kubernetes 1.32: the
// workloads and wasmkube.io's kinds (custom resources) do; pods, services and configmaps
// do not, however they change.
func TestGeneration(t *testing.T) {
	e := start(t)
	var d api.Deployment
	e.must(http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", deployment("gen", 1)).decode(t, &d)
	if d.Generation != 1 {
		t.Errorf("deployment generation = %d, want 1", d.Generation)
	}
	for _, c := range []struct{ path, body, update string }{
		{podsPath, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"gen"},"spec":{"containers":[{"name":"a","image":"m:1"}]}}`,
			`{"metadata":{"labels":{"x":"y"}},"spec":{"activeDeadlineSeconds":5}}`},
		{"/api/v1/namespaces/default/services", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"gen"},"spec":{"ports":[{"port":80}]}}`,
			`{"spec":{"ports":[{"port":81}]}}`},
		{"/api/v1/namespaces/default/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"gen"},"data":{"a":"1"}}`,
			`{"data":{"a":"2"}}`},
	} {
		var m struct{ Metadata api.ObjectMeta }
		e.must(http.StatusCreated, "POST", c.path, c.body).decode(t, &m)
		if m.Metadata.Generation != 0 {
			t.Errorf("%s: created with generation %d, want none", c.path, m.Metadata.Generation)
		}
		e.must(http.StatusOK, "PATCH", c.path+"/gen", c.update, contentType("application/merge-patch+json")).decode(t, &m)
		if m.Metadata.Generation != 0 {
			t.Errorf("%s: updated to generation %d, want none", c.path, m.Metadata.Generation)
		}
	}
}
