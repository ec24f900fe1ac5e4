package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// TestRealRunners runs Wasm pods on the runner inside `wk server` and on a `wk runner` process
// that joins with the join token at 127.0.0.2, and reads their logs with `wk logs`, which the
// API server gets from its own runner directly and from the other over HTTPS.
func TestRealRunners(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "cmd.wasm")
	if err := os.WriteFile(wasm, wasmtest.GoBuild(t, "../../wasm/sandbox/testdata/cmd", wasmtest.Command), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "server")
	addr := freeAddr(t)
	_, c := startServer(t, data, addr, "--node-name", "local")
	kc := filepath.Join(data, "kubeconfig")
	token, err := os.ReadFile(filepath.Join(data, "join-token"))
	if err != nil {
		t.Fatal(err)
	}
	_, logPort, _ := strings.Cut(freeAddr(t), ":")
	startProc(t, nil, "runner", "--server", "https://"+addr, "--token", strings.TrimSpace(string(token)),
		"--ca-file", filepath.Join(data, "pki", "ca.crt"), "--node-name", "remote", "--node-ip", "127.0.0.2",
		"--data-dir", filepath.Join(dir, "runner"), "--log-port", logPort)
	eventually(t, 60*time.Second, "two Ready nodes", func() error {
		out, _ := wkRun(t, kc, "get", "nodes")
		if n := strings.Count(out, " Ready "); n != 2 {
			return fmt.Errorf("%d Ready:\n%s", n, out)
		}
		return nil
	})
	for _, node := range []string{"local", "remote"} {
		t.Run(node, func(t *testing.T) {
			p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "echo-" + node, Namespace: "default"},
				Spec: api.PodSpec{NodeName: node, RestartPolicy: api.RestartNever, Containers: []api.Container{
					{Name: "c", Image: "file://" + wasm, Args: []string{"exit", "0"}}}}}
			if _, err := client.Pods(c).Namespace("default").Create(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			eventually(t, 60*time.Second, "pod Succeeded", func() error {
				got, err := client.Pods(c).Namespace("default").Get(context.Background(), p.Name)
				if err != nil {
					return err
				}
				if got.Status.Phase != api.PodSucceeded {
					return fmt.Errorf("phase %s", got.Status.Phase)
				}
				return nil
			})
			if out := mustWk(t, kc, "logs", p.Name); out != "exiting with 0\nto stderr\n" {
				t.Errorf("wk logs = %q", out)
			}
			if out := mustWk(t, kc, "logs", p.Name, "--tail", "1"); out != "to stderr\n" {
				t.Errorf("wk logs --tail 1 = %q", out)
			}
		})
	}
}
