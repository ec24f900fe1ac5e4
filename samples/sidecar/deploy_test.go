//go:build !wasip1

package sidecar_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/samples/internal/deploytest"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// TestDeploySidecar runs the manifest's pod on a real runner with both modules fetched from
// the cluster's registry, sends requests to the web module, and reads every one of them back
// from the shipper's logs through pods/log (`wk logs POD -c shipper`).
func TestDeploySidecar(t *testing.T) {
	cl := deploytest.Start(t)
	cl.Push(t, "sidecar-web:v1", wasmtest.GoBuild(t, "web", wasmtest.Reactor))
	cl.Push(t, "sidecar-shipper:v1", wasmtest.GoBuild(t, "shipper", wasmtest.Command))
	cl.RunPod(t, "sidecar-1", *podSpec(t))
	paths := []string{"/", "/a", "/missing"}
	for _, p := range paths {
		if code, body := cl.Get(t, "sidecar-1", 8080, p); !strings.HasSuffix(body, "from sidecar-1\n") {
			t.Fatalf("GET %s = %d %q", p, code, body)
		}
	}
	cl.Eventually(t, "every request in the shipper's logs", func() (bool, string) {
		logs := cl.Logs(t, "sidecar-1", "shipper")
		for _, p := range paths {
			code := 200
			if p == "/missing" {
				code = 404
			}
			if !strings.Contains(logs, fmt.Sprintf(" GET %s %d\n", p, code)) {
				return false, logs
			}
		}
		return true, ""
	})
}
