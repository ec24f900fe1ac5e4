package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestUp runs the README's first command as a process: `wk up` starts a cluster, deploys the
// sample, prints how to use it, and stops on Ctrl-C; a second `wk up` on the same data
// directory resumes the same cluster.
func TestUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	for round, want := range []string{"deployment.apps/hello created", "deployment.apps/hello unchanged"} {
		p := startProc(t, nil, "up", "--data-dir", dir, "--api-addr", addr)
		eventually(t, 90*time.Second, fmt.Sprintf("round %d: wk up is up", round), func() error {
			if out := p.output(); !strings.Contains(out, "wasmkube is up") {
				return fmt.Errorf("not yet:\n%s", out)
			}
			return nil
		})
		p.stop()
		wantContains(t, "wk up", p.output(), want, `deployment "hello" successfully rolled out`,
			"export KUBECONFIG="+dir+"/kubeconfig", "2/2", "Running", "stopping")
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("round %d: wk up exited %d after Ctrl-C", round, code)
		}
	}
}
