//go:build !wasip1

package loopback_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/samples/internal/deploytest"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// pod reads the Deployment of loopback.yaml, strictly, defaulted and validated.
func pod(t *testing.T) *api.PodSpec {
	var d api.Deployment
	deploytest.Manifest(t, "loopback.yaml", 0, &d)
	return &d.Spec.Template.Spec
}

// TestLoopback runs the manifest's two modules in one sandbox pod and asks the frontend over a
// real HTTP server, as a Service would; the frontend reaches the backend over the pod loopback.
func TestLoopback(t *testing.T) {
	ctx := context.Background()
	spec := pod(t)
	rt, err := sandbox.NewRuntime(ctx, sandbox.RuntimeConfig{CacheDir: wasmtest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	modules := map[string]*sandbox.Module{}
	for name, dir := range map[string]string{"frontend": "frontend", "backend": "backend"} {
		m, err := rt.Compile(ctx, "", wasmtest.GoBuild(t, dir, wasmtest.Reactor))
		if err != nil {
			t.Fatal(err)
		}
		modules[name] = m
	}
	cfg := sandbox.PodConfig{Name: "loopback-6b7f-abcde", Namespace: "default", Node: "node-1"}
	for _, c := range spec.Containers {
		ct := sandbox.ContainerConfig{Name: c.Name, Module: modules[c.Name], MemoryLimitBytes: 64 << 20}
		for _, p := range c.Ports {
			ct.Ports = append(ct.Ports, int(p.ContainerPort))
		}
		cfg.Containers = append(cfg.Containers, ct)
	}
	p, err := rt.NewPod(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.ServeHTTP(8080, w, r) }))
	defer srv.Close()
	tests := []struct {
		name, path string
		code       int
		want       string
	}{
		{"root", "/", 200, "frontend in loopback-6b7f-abcde: backend answered 200: hello from the backend, path /\n"},
		{"path", "/orders/7", 200, "frontend in loopback-6b7f-abcde: backend answered 200: hello from the backend, path /orders/7\n"},
		{"backend error passes through", "/fail", 200, "frontend in loopback-6b7f-abcde: backend answered 503: backend: asked to fail\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || string(body) != tt.want {
				t.Fatalf("GET %s = %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.code, tt.want)
			}
		})
	}
	// The backend's port is the pod's own: the outside reaches only what the Service targets,
	// and a port nobody declares is refused.
	rec := httptest.NewRecorder()
	p.ServeHTTP(7000, rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code == http.StatusOK {
		t.Errorf("port 7000 answered 200")
	}
}
