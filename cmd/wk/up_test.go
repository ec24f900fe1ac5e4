package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestUp runs the README's first command as a process: `wk up` starts a cluster, deploys the
// sample, prints how to use it, and stops on Ctrl-C; a second `wk up` on the same data
// directory resumes the same cluster, taking back the sample's fields that another manager
// changed in between (here its replicas, through the scale subresource).
func TestUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	for round, want := range []string{"deployment.apps/hello created", "deployment.apps/hello configured"} {
		p := startProc(t, nil, "up", "--data-dir", dir, "--api-addr", addr)
		eventually(t, 90*time.Second, fmt.Sprintf("round %d: wk up is up", round), func() error {
			if out := p.output(); !strings.Contains(out, "wasmkube is up") {
				return fmt.Errorf("not yet:\n%s", out)
			}
			return nil
		})
		if round == 0 {
			var out, errOut strings.Builder
			if code := run([]string{"scale", "deployment", "hello", "--replicas", "3", "--kubeconfig", dir + "/kubeconfig"}, nil, &out, &errOut); code != 0 {
				t.Fatalf("wk scale: exit %d: %s%s", code, out.String(), errOut.String())
			}
		}
		p.stop()
		wantContains(t, "wk up", p.output(), want, `deployment "hello" successfully rolled out`,
			"export KUBECONFIG="+dir+"/kubeconfig", "Running", "stopping")
		if round == 0 {
			// Not after the resume: its rollout of 3 back to 2 replicas is done (as kubectl's
			// rollout status judges it) while the third pod may still be listed.
			wantContains(t, "wk up", p.output(), "2/2")
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("round %d: wk up exited %d after Ctrl-C", round, code)
		}
	}
}
