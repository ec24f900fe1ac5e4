package apiserver_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/clustertest"
)

// TestKubectlPodDisruptionBudget creates, lists and deletes PodDisruptionBudgets with
// kubectl 1.27 and 1.33 (1.32 and later send protobuf for kubectl create pdb), and evicts
// nothing with kubectl drain's discovery check in mind: pods/eviction is listed.
func TestKubectlPodDisruptionBudget(t *testing.T) {
	bins := clustertest.Kubectls(t)
	e := start(t)
	dir := t.TempDir()
	kubeconfig := e.api.Kubeconfig(t)
	for v, bin := range bins {
		t.Run(v, func(t *testing.T) {
			k := clustertest.Kubectl{Bin: bin, Kubeconfig: kubeconfig, Home: filepath.Join(dir, v)}
			run := func(args ...string) (string, string, error) { return k.Run(context.Background(), args...) }
			name := "web-" + strings.ReplaceAll(v, ".", "")
			if out, errOut, err := run("create", "pdb", name, "--selector=app=web", "--min-available=50%"); err != nil ||
				!strings.Contains(out, "poddisruptionbudget.policy/"+name+" created") {
				t.Fatalf("create pdb: %v\n%s%s", err, out, errOut)
			}
			out, errOut, err := run("get", "pdb", name)
			if err != nil || !strings.Contains(out, "MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS") ||
				!strings.Contains(out, "50%") || !strings.Contains(out, "N/A") {
				t.Fatalf("get pdb: %v\n%s%s", err, out, errOut)
			}
			_, errOut, err = run("create", "pdb", name+"-bad", "--selector=app=web", "--max-unavailable=150%")
			if err == nil || !strings.Contains(errOut, "spec.maxUnavailable") || !strings.Contains(errOut, "must not be greater than 100%") {
				t.Fatalf("create a bad pdb: %v\n%s", err, errOut)
			}
			if out, errOut, err := run("api-resources", "--api-group=policy"); err != nil || !strings.Contains(out, "poddisruptionbudgets") {
				t.Fatalf("api-resources: %v\n%s%s", err, out, errOut)
			}
			if out, errOut, err := run("delete", "pdb", name); err != nil || !strings.Contains(out, "deleted") {
				t.Fatalf("delete pdb: %v\n%s%s", err, out, errOut)
			}
		})
	}
}
