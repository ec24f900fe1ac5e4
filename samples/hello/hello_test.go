//go:build !wasip1

package main_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// TestHello builds the sample as a reactor, runs it in a sandbox pod and asks it over a real HTTP
// server, as a Service would.
func TestHello(t *testing.T) {
	ctx := context.Background()
	rt, err := sandbox.NewRuntime(ctx, sandbox.RuntimeConfig{CacheDir: wasmtest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	m, err := rt.Compile(ctx, "", wasmtest.GoBuild(t, ".", wasmtest.Reactor))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != sandbox.KindHTTP {
		t.Fatalf("Kind = %v, want http", m.Kind())
	}
	tests := []struct {
		name, pod, version, want string
	}{
		{"v1", "hello-7d9c-abcde", "v1", "Container Hostname: hello-7d9c-abcde\nVersion: v1\n"},
		{"v2", "hello-5f00-zzzzz", "v2", "Container Hostname: hello-5f00-zzzzz\nVersion: v2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rt.NewPod(ctx, sandbox.PodConfig{Name: tt.pod, Namespace: "default", Node: "node-1",
				Containers: []sandbox.ContainerConfig{{Name: "hello", Module: m, Ports: []int{8080},
					Env: []string{"VERSION=" + tt.version}, MemoryLimitBytes: 64 << 20}}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			if err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p.ServeHTTP(8080, w, r)
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Fatalf("GET / = %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Fatalf("Content-Type = %q", ct)
			}
		})
	}
}
