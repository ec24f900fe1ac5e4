package apiserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

func TestScale(t *testing.T) {
	e := start(t)
	e.must(http.StatusCreated, "POST", deploysPath, deployment("web", 2))
	var sc api.Scale
	e.must(http.StatusOK, "GET", deploysPath+"/web/scale", nil).decode(t, &sc)
	if sc.Kind != "Scale" || sc.APIVersion != "autoscaling/v1" || sc.Spec.Replicas != 2 || sc.Status.Selector != "app=web" || sc.ResourceVersion == "" {
		t.Fatalf("scale %+v", sc)
	}
	stale := sc
	sc.Spec.Replicas = 4
	var got api.Scale
	e.must(http.StatusOK, "PUT", deploysPath+"/web/scale", sc).decode(t, &got)
	if got.Spec.Replicas != 4 || got.ResourceVersion == sc.ResourceVersion {
		t.Fatalf("scaled %+v", got)
	}
	stale.Spec.Replicas = 9
	e.must(http.StatusConflict, "PUT", deploysPath+"/web/scale", stale)
	sc.Spec.Replicas = -1
	sc.ResourceVersion = ""
	st := e.must(http.StatusUnprocessableEntity, "PUT", deploysPath+"/web/scale", sc).status(t)
	if st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Field != "spec.replicas" {
		t.Fatalf("negative scale: %+v", st)
	}
	e.must(http.StatusOK, "PATCH", deploysPath+"/web/scale", `{"spec":{"replicas":1}}`, contentType("application/merge-patch+json")).decode(t, &got)
	var d api.Deployment
	e.must(http.StatusOK, "GET", deploysPath+"/web", nil).decode(t, &d)
	if *d.Spec.Replicas != 1 || d.Generation != 3 {
		t.Fatalf("deployment after scaling: replicas %d generation %d", *d.Spec.Replicas, d.Generation)
	}
	e.must(http.StatusNotFound, "GET", "/api/v1/namespaces/default/pods/x/scale", nil)
}

func binding(pod, node string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Binding", "metadata": map[string]any{"name": pod},
		"target": map[string]any{"kind": "Node", "name": node}}
}

func TestBinding(t *testing.T) {
	e := start(t)
	e.createPod("web-1", nil)
	st := e.must(http.StatusCreated, "POST", podsPath+"/web-1/binding", binding("web-1", "n1")).status(t)
	if st.Status != api.StatusSuccess {
		t.Fatalf("binding status %+v", st)
	}
	var p api.Pod
	e.must(http.StatusOK, "GET", podsPath+"/web-1", nil).decode(t, &p)
	if p.Spec.NodeName != "n1" {
		t.Fatalf("nodeName %q", p.Spec.NodeName)
	}
	scheduled := false
	for _, c := range p.Status.Conditions {
		scheduled = scheduled || (c.Type == api.PodScheduled && c.Status == api.ConditionTrue)
	}
	if !scheduled {
		t.Fatalf("conditions %+v lack PodScheduled=True", p.Status.Conditions)
	}
	st = e.must(http.StatusConflict, "POST", podsPath+"/web-1/binding", binding("web-1", "n2")).status(t)
	if !strings.Contains(st.Message, `pod web-1 is already assigned to node "n1"`) {
		t.Fatalf("second binding: %q", st.Message)
	}
	e.must(http.StatusNotFound, "POST", podsPath+"/ghost/binding", binding("ghost", "n1"))
	e.must(http.StatusUnprocessableEntity, "POST", podsPath+"/web-1/binding", binding("web-1", ""))
}

// logSource serves fixed log lines, as a runner would.
type logSource struct{}

func (logSource) Logs(_ context.Context, pod *api.Pod, o apiserver.LogOptions, w io.Writer) error {
	_, err := fmt.Fprintf(w, "hello from %s/%s on %s\n", pod.Name, o.Container, pod.Spec.NodeName)
	return err
}

func TestPodLog(t *testing.T) {
	t.Run("no log source", func(t *testing.T) {
		e := start(t)
		e.createPod("web-1", nil)
		st := e.must(http.StatusBadRequest, "GET", podsPath+"/web-1/log", nil).status(t)
		if !strings.Contains(st.Message, "web-1") {
			t.Errorf("unbound pod: %q", st.Message)
		}
		e.must(http.StatusCreated, "POST", podsPath+"/web-1/binding", binding("web-1", "n1"))
		st = e.must(http.StatusNotFound, "GET", podsPath+"/web-1/log", nil).status(t)
		if !strings.Contains(st.Message, "web-1") || !strings.Contains(st.Message, `"n1"`) {
			t.Errorf("no log source: %q", st.Message)
		}
		st = e.must(http.StatusBadRequest, "GET", podsPath+"/web-1/log?container=nope", nil).status(t)
		if st.Message != "container nope is not valid for pod web-1" {
			t.Errorf("bad container: %q", st.Message)
		}
	})
	t.Run("log source", func(t *testing.T) {
		e := start(t, clustertest.WithConfig(func(c *apiserver.Config) { c.LogSource = logSource{} }))
		e.createPod("web-1", nil)
		e.must(http.StatusCreated, "POST", podsPath+"/web-1/binding", binding("web-1", "n1"))
		r := e.must(http.StatusOK, "GET", podsPath+"/web-1/log?follow=true", nil)
		if string(r.body) != "hello from web-1/app on n1\n" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("log: %q (%s)", r.body, r.header.Get("Content-Type"))
		}
	})
}

func TestGracefulPodDeletion(t *testing.T) {
	e := start(t)
	e.createPod("unbound", nil)
	e.must(http.StatusOK, "DELETE", podsPath+"/unbound", nil)
	e.must(http.StatusNotFound, "GET", podsPath+"/unbound", nil)

	e.createPod("web-1", nil)
	e.must(http.StatusCreated, "POST", podsPath+"/web-1/binding", binding("web-1", "n1"))
	var p api.Pod
	e.must(http.StatusOK, "DELETE", podsPath+"/web-1", nil).decode(t, &p)
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("graceful delete: %+v %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	// The runner updates status while the pod terminates: it stays.
	p.Status.Phase = api.PodRunning
	e.must(http.StatusOK, "PUT", podsPath+"/web-1/status", p)
	e.must(http.StatusOK, "GET", podsPath+"/web-1", nil)
	// A shorter grace period shortens it; the node agent's gracePeriodSeconds=0 removes it.
	e.must(http.StatusOK, "DELETE", podsPath+"/web-1?gracePeriodSeconds=5", nil).decode(t, &p)
	if *p.DeletionGracePeriodSeconds != 5 {
		t.Fatalf("grace period %d, want 5", *p.DeletionGracePeriodSeconds)
	}
	e.must(http.StatusOK, "DELETE", podsPath+"/web-1?gracePeriodSeconds=0", nil)
	e.must(http.StatusNotFound, "GET", podsPath+"/web-1", nil)

	// Preconditions.
	q := e.createPod("q", nil)
	st := e.must(http.StatusConflict, "DELETE", podsPath+"/q", map[string]any{"preconditions": map[string]any{"uid": "other"}}).status(t)
	if !strings.Contains(st.Message, "Precondition failed: UID in precondition: other") {
		t.Errorf("precondition: %q", st.Message)
	}
	e.must(http.StatusConflict, "DELETE", podsPath+"/q", map[string]any{"preconditions": map[string]any{"resourceVersion": "1"}})
	e.must(http.StatusOK, "DELETE", podsPath+"/q", map[string]any{"preconditions": map[string]any{"uid": q.UID, "resourceVersion": q.ResourceVersion}})
}

func TestFinalizers(t *testing.T) {
	e := start(t)
	d := deployment("keep", 1)
	d["metadata"].(map[string]any)["finalizers"] = []any{"example.com/hold"}
	e.must(http.StatusCreated, "POST", deploysPath, d)
	var got api.Deployment
	e.must(http.StatusOK, "DELETE", deploysPath+"/keep", nil).decode(t, &got)
	if got.DeletionTimestamp == nil || got.Kind != "Deployment" {
		t.Fatalf("delete with a finalizer answered %+v", got.ObjectMeta)
	}
	// Other changes keep it; removing the last finalizer deletes it.
	e.must(http.StatusOK, "PATCH", deploysPath+"/keep", `{"metadata":{"labels":{"x":"y"}}}`, contentType("application/merge-patch+json"))
	e.must(http.StatusOK, "GET", deploysPath+"/keep", nil)
	e.must(http.StatusOK, "PATCH", deploysPath+"/keep", `{"metadata":{"finalizers":null}}`, contentType("application/merge-patch+json"))
	e.must(http.StatusNotFound, "GET", deploysPath+"/keep", nil)

	for _, c := range []struct{ policy, finalizer string }{{"Orphan", "orphan"}, {"Foreground", "foregroundDeletion"}} {
		t.Run(c.policy, func(t *testing.T) {
			name := strings.ToLower(c.policy)
			e.must(http.StatusCreated, "POST", deploysPath, deployment(name, 1))
			var got api.Deployment
			e.must(http.StatusOK, "DELETE", deploysPath+"/"+name+"?propagationPolicy="+c.policy, nil).decode(t, &got)
			if got.DeletionTimestamp == nil || len(got.Finalizers) != 1 || got.Finalizers[0] != c.finalizer {
				t.Fatalf("finalizers %v, deletionTimestamp %v", got.Finalizers, got.DeletionTimestamp)
			}
		})
	}
	e.must(http.StatusBadRequest, "DELETE", deploysPath+"/x?gracePeriodSeconds=soon", nil)
	e.must(http.StatusUnprocessableEntity, "DELETE", deploysPath+"/orphan?propagationPolicy=Sometimes", nil)
}

func TestNamespaceLifecycle(t *testing.T) {
	e := start(t)
	var ns api.Namespace
	e.must(http.StatusCreated, "POST", "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": "team"}}).decode(t, &ns)
	if ns.Status.Phase != api.NamespaceActive || len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != "kubernetes" {
		t.Fatalf("new namespace %+v", ns)
	}
	e.must(http.StatusCreated, "POST", "/api/v1/namespaces/team/pods", pod("a", nil))
	e.must(http.StatusOK, "DELETE", "/api/v1/namespaces/team", nil).decode(t, &ns)
	if ns.Status.Phase != api.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("deleted namespace %+v", ns)
	}
	st := e.must(http.StatusForbidden, "POST", "/api/v1/namespaces/team/pods", pod("b", nil)).status(t)
	if !strings.Contains(st.Message, "unable to create new content in namespace team because it is being terminated") {
		t.Fatalf("create in a terminating namespace: %q", st.Message)
	}
	// The namespace controller empties it, then finalizes it.
	e.must(http.StatusOK, "DELETE", "/api/v1/namespaces/team/pods/a", nil)
	ns.Spec.Finalizers = nil
	e.must(http.StatusOK, "PUT", "/api/v1/namespaces/team/finalize", ns)
	e.must(http.StatusNotFound, "GET", "/api/v1/namespaces/team", nil)

	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		e.must(http.StatusOK, "GET", "/api/v1/namespaces/"+name, nil)
		e.must(http.StatusForbidden, "DELETE", "/api/v1/namespaces/"+name, nil)
	}
}
