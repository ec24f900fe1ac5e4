package main

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestDelete(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	svcs := client.Services(tc.c).Namespace("default")
	mkSvc := func(t *testing.T, name string, lbl map[string]string) {
		t.Helper()
		if _, err := svcs.Create(ctx, &api.Service{ObjectMeta: api.ObjectMeta{Name: name, Labels: lbl},
			Spec: api.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []api.ServicePort{{Port: 80}}}}); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(t *testing.T, names ...string) {
		t.Helper()
		for _, n := range names {
			if _, err := svcs.Get(ctx, n); !api.IsNotFound(err) {
				t.Errorf("service %s: err = %v, want NotFound", n, err)
			}
		}
	}
	manifest := tc.file(t, "svc.yaml", strings.ReplaceAll(helloService, "hello", "from-file"))

	tests := []struct {
		name      string
		setup     func(t *testing.T)
		args      []string
		wantCode  int
		wantOut   string
		wantErr   string
		wantGone  []string
		wantStays []string
	}{
		{name: "by name", setup: func(t *testing.T) { mkSvc(t, "a", nil); mkSvc(t, "b", nil) },
			args: []string{"delete", "svc", "a", "b"}, wantOut: "service \"a\" deleted\nservice \"b\" deleted\n", wantGone: []string{"a", "b"}},
		{name: "slash form", setup: func(t *testing.T) { mkSvc(t, "c", nil) },
			args: []string{"delete", "service/c", "-o", "name"}, wantOut: "service/c\n", wantGone: []string{"c"}},
		{name: "from file", setup: func(t *testing.T) { tc.mustWK(t, "apply", "-f", manifest) },
			args: []string{"delete", "-f", manifest}, wantOut: "service \"from-file\" deleted\n", wantGone: []string{"from-file"}},
		{name: "from file, not found", args: []string{"delete", "-f", manifest}, wantCode: 1,
			wantErr: "Error from server (NotFound): error when deleting \"" + manifest + "\": services \"from-file\" not found\n"},
		{name: "by selector", setup: func(t *testing.T) {
			mkSvc(t, "l1", map[string]string{"tier": "x"})
			mkSvc(t, "l2", map[string]string{"tier": "x"})
			mkSvc(t, "l3", map[string]string{"tier": "y"})
		}, args: []string{"delete", "svc", "-l", "tier=x"}, wantOut: "service \"l1\" deleted\nservice \"l2\" deleted\n",
			wantGone: []string{"l1", "l2"}, wantStays: []string{"l3"}},
		{name: "selector matches nothing", args: []string{"delete", "svc", "-l", "tier=none"},
			wantErr: "No resources found in default namespace.\n", wantStays: []string{"l3"}},
		{name: "all", args: []string{"delete", "svc", "--all"}, wantOut: "service \"l3\" deleted\n", wantGone: []string{"l3"}},
		{name: "not found", setup: func(t *testing.T) { mkSvc(t, "d", nil) },
			args: []string{"delete", "svc", "nope", "d"}, wantCode: 1, wantOut: "service \"d\" deleted\n",
			wantErr: "Error from server (NotFound): services \"nope\" not found\n", wantGone: []string{"d"}},
		{name: "ignore not found", args: []string{"delete", "svc", "nope", "--ignore-not-found"}},
		{name: "no name", args: []string{"delete", "svc"}, wantCode: 1,
			wantErr: "error: resource(s) were provided, but no name was specified\n"},
		{name: "nothing", args: []string{"delete"}, wantCode: 1,
			wantErr: "error: you must provide one or more resources by argument or filename\n"},
		{name: "bad cascade", args: []string{"delete", "svc", "x", "--cascade=sideways"}, wantCode: 1,
			wantErr: "error: invalid cascade value (sideways). Must be \"background\", \"foreground\", or \"orphan\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			r := tc.wk(t, "", tt.args...)
			if r.code != tt.wantCode || r.out != tt.wantOut || r.err != tt.wantErr {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", r.code, tt.wantCode, r.out, tt.wantOut, r.err, tt.wantErr)
			}
			gone(t, tt.wantGone...)
			for _, n := range tt.wantStays {
				if _, err := svcs.Get(ctx, n); err != nil {
					t.Errorf("service %s: %v, want it kept", n, err)
				}
			}
		})
	}
}

// TestDeleteWaits holds an object with a finalizer: delete prints at once and returns only
// once the finalizer is removed and the object is gone; --wait=false returns at once.
func TestDeleteWaits(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	svcs := client.Services(tc.c).Namespace("default")
	for _, n := range []string{"held", "nowait"} {
		if _, err := svcs.Create(ctx, &api.Service{ObjectMeta: api.ObjectMeta{Name: n, Finalizers: []string{"example.com/hold"}},
			Spec: api.ServiceSpec{Selector: map[string]string{"app": n}, Ports: []api.ServicePort{{Port: 80}}}}); err != nil {
			t.Fatal(err)
		}
	}
	release := func(name string) {
		if _, err := svcs.Patch(ctx, name, client.MergePatch, []byte(`{"metadata":{"finalizers":null}}`)); err != nil {
			t.Fatal(err)
		}
	}

	if out := tc.mustWK(t, "delete", "svc", "nowait", "--wait=false"); out != "service \"nowait\" deleted\n" {
		t.Errorf("delete --wait=false: %q", out)
	}
	s, err := svcs.Get(ctx, "nowait")
	if err != nil || s.DeletionTimestamp == nil {
		t.Fatalf("service held by its finalizer: %v, deletionTimestamp %v", err, s)
	}
	release("nowait")

	bg := tc.startWK(t, "delete", "svc", "held")
	waitFor(t, "the deleted line", func() (bool, string) {
		return bg.out.String() == "service \"held\" deleted\n", bg.out.String() + bg.err.String()
	})
	s, err = svcs.Get(ctx, "held")
	if err != nil || s.DeletionTimestamp == nil {
		t.Fatalf("service held by its finalizer: %v", err)
	}
	if bg.finished() {
		t.Fatalf("delete returned while the object still exists: %v\n%s", bg.result, bg.err.String())
	}
	release("held")
	<-bg.done
	if bg.result != nil {
		t.Fatalf("delete: %v\n%s", bg.result, bg.err.String())
	}

	// --timeout bounds the wait.
	if _, err := svcs.Create(ctx, &api.Service{ObjectMeta: api.ObjectMeta{Name: "stuck", Finalizers: []string{"example.com/hold"}},
		Spec: api.ServiceSpec{Selector: map[string]string{"app": "stuck"}, Ports: []api.ServicePort{{Port: 80}}}}); err != nil {
		t.Fatal(err)
	}
	r := tc.wk(t, "", "delete", "svc", "stuck", "--timeout=200ms")
	if r.code != 1 || r.err != "error: timed out waiting for the condition on services/stuck\n" {
		t.Errorf("delete --timeout: exit %d, stderr %q", r.code, r.err)
	}
	release("stuck")
}

// TestDeleteOptions checks that cascade and grace-period reach the server.
func TestDeleteOptions(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	tc.mustWK(t, "apply", "-f", tc.file(t, "hello.yaml", helloDeployment))
	tc.mustWK(t, "delete", "deploy", "hello", "--cascade=foreground", "--wait=false")
	d, err := client.Deployments(tc.c).Namespace("default").Get(ctx, "hello")
	if err != nil {
		t.Fatalf("foreground deletion keeps the owner until its dependents are gone: %v", err)
	}
	if d.DeletionTimestamp == nil || !contains(d.Finalizers, api.FinalizerDeleteDependents) {
		t.Errorf("deployment after --cascade=foreground: deletionTimestamp %v, finalizers %v", d.DeletionTimestamp, d.Finalizers)
	}

	pods := client.Pods(tc.c).Namespace("default")
	for _, tt := range []struct {
		name      string
		args      []string
		wantGrace int64 // -1: the pod must be gone at once
	}{
		{"grace period", []string{"--grace-period=45"}, 45},
		{"now", []string{"--now"}, 1},
		{"force", []string{"--force", "--grace-period=0"}, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "-")
			if _, err := pods.Create(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Name: name},
				Spec: api.PodSpec{NodeName: "node-1", Containers: []api.Container{{Name: "c", Image: "c:v1"}}}}); err != nil {
				t.Fatal(err)
			}
			tc.mustWK(t, append([]string{"delete", "pod", name, "--wait=false"}, tt.args...)...)
			p, err := pods.Get(ctx, name)
			if tt.wantGrace < 0 {
				if !api.IsNotFound(err) {
					t.Fatalf("pod after a forced delete: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != tt.wantGrace {
				t.Errorf("deletionGracePeriodSeconds = %v, want %d", p.DeletionGracePeriodSeconds, tt.wantGrace)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
