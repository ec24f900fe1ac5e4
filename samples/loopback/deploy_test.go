//go:build !wasip1

package loopback_test

import (
	"testing"

	"github.com/wasmkube/wasmkube/samples/internal/deploytest"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// TestDeployLoopback runs the manifest's pod on a real runner with both modules fetched from
// the cluster's registry and asks the frontend, which calls the backend over the pod loopback.
func TestDeployLoopback(t *testing.T) {
	cl := deploytest.Start(t)
	cl.Push(t, "loopback-frontend:v1", wasmtest.GoBuild(t, "frontend", wasmtest.Reactor))
	cl.Push(t, "loopback-backend:v1", wasmtest.GoBuild(t, "backend", wasmtest.Reactor))
	cl.RunPod(t, "loopback-1", *pod(t))
	code, body := cl.Get(t, "loopback-1", 8080, "/x")
	if want := "frontend in loopback-1: backend answered 200: hello from the backend, path /x\n"; code != 200 || body != want {
		t.Fatalf("GET /x = %d %q, want %q", code, body, want)
	}
}
