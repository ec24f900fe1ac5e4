package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

func TestGet(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	tests := []struct {
		name string
		args []string
	}{
		{"pods", []string{"get", "pods", "-n", "shop"}},
		{"pods-wide", []string{"get", "po", "-n", "shop", "-o", "wide"}},
		{"pods-labels", []string{"get", "pod", "-n", "shop", "--show-labels"}},
		{"pods-selector", []string{"get", "pods", "-n", "shop", "-l", "app=web", "--field-selector", "status.phase=Running"}},
		{"pods-no-headers", []string{"get", "pods", "-n", "shop", "--no-headers"}},
		{"deploy-svc", []string{"get", "deploy,svc", "-n", "shop"}},
		{"all", []string{"get", "all", "-n", "shop"}},
		{"all-namespaces", []string{"get", "deploy,rs", "-A"}},
		{"slash-form", []string{"get", "deploy/web", "svc/web", "-n", "shop"}},
		{"names", []string{"get", "all", "-n", "shop", "-o", "name"}},
		{"nodes", []string{"get", "no"}},
		{"nodes-wide", []string{"get", "nodes", "-o", "wide"}},
		{"endpoints", []string{"get", "ep", "-n", "shop"}},
		{"events", []string{"get", "ev", "-n", "shop"}},
		{"service-yaml", []string{"get", "svc", "web", "-n", "shop", "-o", "yaml"}},
		{"deployments-json", []string{"get", "deployments", "-n", "shop", "-o", "json"}},
		{"two-names-yaml", []string{"get", "svc,deploy", "web", "-n", "shop", "-o", "yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "get/"+tt.name+".txt", tc.mustWK(t, tt.args...))
		})
	}
}

func TestGetErrors(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	tests := []struct {
		name             string
		args             []string
		wantCode         int
		wantOut, wantErr string
	}{
		{name: "not found", args: []string{"get", "deploy", "nope", "-n", "shop"}, wantCode: 1,
			wantErr: "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{name: "one of two not found", args: []string{"get", "svc", "nope", "web", "-n", "shop", "-o", "name"}, wantCode: 1,
			wantOut: "service/web\n", wantErr: "Error from server (NotFound): services \"nope\" not found\n"},
		{name: "ignore not found", args: []string{"get", "deploy", "nope", "-n", "shop", "--ignore-not-found"}},
		{name: "empty namespace", args: []string{"get", "pods", "-n", "empty"},
			wantErr: "No resources found in empty namespace.\n"},
		{name: "empty cluster-scoped", args: []string{"get", "leases", "-A"},
			wantErr: "No resources found\n"},
		{name: "unknown type", args: []string{"get", "foo"}, wantCode: 1,
			wantErr: "error: the server doesn't have a resource type \"foo\"\n"},
		{name: "no type", args: []string{"get"}, wantCode: 1,
			wantErr: "error: you must specify the type of resource to get. Use \"wk api-resources\" for a complete list of supported resources\n"},
		{name: "bad output", args: []string{"get", "pods", "-o", "xml"}, wantCode: 1,
			wantErr: "error: unable to match a printer suitable for the output format \"xml\", allowed formats are: json,name,wide,yaml\n"},
		{name: "bad selector", args: []string{"get", "pods", "-l", "a in (", "-n", "shop"}, wantCode: 1,
			wantErr: "Error from server (BadRequest): "},
		{name: "name across namespaces", args: []string{"get", "pods", "x", "-A"}, wantCode: 1,
			wantErr: "error: a resource cannot be retrieved by name across all namespaces\n"},
		{name: "mixed forms", args: []string{"get", "pods", "deploy/web"}, wantCode: 1,
			wantErr: "error: there is no need to specify a resource type as a separate argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tc.wk(t, "", tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d", r.code, tt.wantCode)
			}
			if r.out != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.out, tt.wantOut)
			}
			if !strings.HasPrefix(r.err, tt.wantErr) || (tt.wantErr == "" && r.err != "") {
				t.Errorf("stderr:\n%s\nwant it to start with:\n%s", r.err, tt.wantErr)
			}
		})
	}
}

func TestGetWatch(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	tests := []struct {
		name       string
		pod        string
		args       []string
		initial    []string // lines that must show before the change
		after      string   // a substring that must show once the pod is created
		forbidden  string   // a substring that must never show
		linePrefix string   // how every line about the pod must start
	}{
		{name: "table", pod: "extra-1", args: []string{"get", "pods", "-n", "shop", "-w"},
			initial: []string{"NAME", "web-5d4c9-abcde", "web-5d4c9-fghij"}, after: "extra-1 "},
		{name: "watch only", pod: "extra-2", args: []string{"get", "pods", "-n", "shop", "--watch-only", "-l", "app=extra-2"},
			after: "extra-2 ", forbidden: "web-5d4c9"},
		{name: "names", pod: "extra-3", args: []string{"get", "pods", "-n", "shop", "-w", "-o", "name"},
			initial: []string{"pod/web-5d4c9-abcde"}, after: "pod/extra-3\n"},
		{name: "one object", pod: "extra-4", args: []string{"get", "pod", "extra-4", "-n", "shop", "-w", "-o", "yaml"},
			after: "name: extra-4", forbidden: "web-5d4c9"},
		{name: "all namespaces", pod: "extra-5", args: []string{"get", "pods", "-A", "-w"},
			initial: []string{"NAMESPACE", "web-5d4c9-abcde"}, after: "extra-5 ", linePrefix: "shop "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bg := tc.startWK(t, tt.args...)
			out, errOut := bg.out, bg.err
			waitFor(t, "the initial list", func() (bool, string) {
				s := out.String()
				for _, l := range tt.initial {
					if !strings.Contains(s, l) {
						return false, s + errOut.String()
					}
				}
				return true, ""
			})
			// A change made after the list shows must show up. With nothing listed there is no
			// telling when the watch has started, so the pod is relabelled until it shows.
			tc.mustWK(t, "run", tt.pod, "-n", "shop", "--image=extra:v1", "--labels=app="+tt.pod)
			n := 0
			waitFor(t, "the new pod", func() (bool, string) {
				if strings.Contains(out.String(), tt.after) {
					return true, ""
				}
				n++
				patch := fmt.Sprintf(`{"metadata":{"annotations":{"poke":"%d"}}}`, n)
				if _, err := client.Pods(tc.c).Namespace("shop").Patch(context.Background(), tt.pod, client.MergePatch, []byte(patch)); err != nil {
					t.Fatal(err)
				}
				return false, out.String() + errOut.String()
			})
			tc.mustWK(t, "delete", "pod", tt.pod, "-n", "shop")
			if err := bg.stop(); err != nil {
				t.Fatalf("get -w ended with %v; stderr:\n%s", err, errOut.String())
			}
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.Contains(l, tt.pod) && !strings.HasPrefix(l, tt.linePrefix) {
					t.Errorf("line %q does not start with %q", l, tt.linePrefix)
				}
			}
			if tt.forbidden != "" && strings.Contains(out.String(), tt.forbidden) {
				t.Errorf("output shows %q:\n%s", tt.forbidden, out.String())
			}
			if errOut.String() != "" {
				t.Errorf("stderr:\n%s", errOut.String())
			}
			t.Logf("output:\n%s", out.String())
		})
	}
}

// TestWatchStreamGone checks that a watch from a resourceVersion the server no longer holds
// is reported as gone (so get -w relists) rather than as a failure.
func TestWatchStreamGone(t *testing.T) {
	tc := startCluster(t, clustertest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = 2 }))
	for i := 0; i < 5; i++ {
		tc.mustWK(t, "create", "namespace", fmt.Sprintf("churn-%d", i))
	}
	ri := builtin("namespaces")
	calls := 0
	_, gone, err := watchStream(context.Background(), tc.c, ri, "", client.ListOptions{}, "1", true,
		func(api.WatchEvent) error { calls++; return nil })
	if !gone || err != nil || calls != 0 {
		t.Fatalf("watch from a compacted revision: gone %v, err %v, %d events", gone, err, calls)
	}
}
