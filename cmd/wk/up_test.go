package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// TestUp runs the README's first command as a process: `wk up` starts a cluster, deploys the
// sample, prints how to use it, and stops on Ctrl-C. A second `wk up` on the same data
// directory resumes the same cluster, taking back the sample's fields that another manager
// changed in between (here its replicas, through the scale subresource). A third finds the
// sample changed by another manager in a way its manifest cannot be applied over (VERSION
// taken from a ConfigMap, which the manifest's value would join): it says so and stays up.
func TestUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	kc := dir + "/kubeconfig"
	for round, want := range []string{"deployment.apps/hello created", "deployment.apps/hello configured",
		"The sample app is not serving"} {
		p := startProc(t, nil, "up", "--data-dir", dir, "--api-addr", addr)
		eventually(t, 90*time.Second, fmt.Sprintf("round %d: wk up is up", round), func() error {
			if out := p.output(); !strings.Contains(out, "wasmkube is up") {
				return fmt.Errorf("not yet:\n%s", out)
			}
			return nil
		})
		switch round {
		case 0:
			var out, errOut strings.Builder
			if code := run([]string{"scale", "deployment", "hello", "--replicas", "3", "--kubeconfig", kc}, nil, &out, &errOut); code != 0 {
				t.Fatalf("wk scale: exit %d: %s%s", code, out.String(), errOut.String())
			}
		case 1:
			cfg, err := client.FromKubeconfig(kc, "")
			if err != nil {
				t.Fatal(err)
			}
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			patch := `[{"op":"replace","path":"/spec/template/spec/containers/0/env/0",
				"value":{"name":"VERSION","valueFrom":{"configMapKeyRef":{"name":"hello-cfg","key":"VERSION"}}}}]`
			if _, err := client.For[*api.Deployment](c, "deployments").Namespace("default").Patch(context.Background(),
				"hello", client.JSONPatch, []byte(patch)); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		p.stop()
		wantContains(t, "wk up", p.output(), want, "export KUBECONFIG="+kc, "stopping")
		if round < 2 {
			wantContains(t, "wk up", p.output(), `deployment "hello" successfully rolled out`, "Running")
		}
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
