package daemonset_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/clustertest"
)

// kubectls returns the kubectl binaries to test with: kubectl.1.27 and kubectl.1.33 installed
// beside the one on PATH, or that one alone.
func kubectls(t *testing.T) map[string]string {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	out := map[string]string{}
	if real, err := filepath.EvalSymlinks(kubectl); err == nil {
		for _, v := range []string{"1.27", "1.33"} {
			if p := filepath.Join(filepath.Dir(real), "kubectl."+v); fileExists(p) {
				out[v] = p
			}
		}
	}
	if len(out) == 0 {
		out["path"] = kubectl
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

const kubectlDaemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  updateStrategy:
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: agent:IMAGE
`

// TestKubectlDaemonSet drives a DaemonSet on hollow nodes with unmodified kubectls: apply,
// get, rollout status until the controller has rolled it out, apply of a new image (a
// surge rollout), rollout restart, and delete.
func TestKubectlDaemonSet(t *testing.T) {
	bins := kubectls(t)
	a := clustertest.StartAPI(t)
	c, ctx, run := startOn(t, a)
	hollowNodes(t, c, run, "edge-", 3)
	dir := t.TempDir()
	kubeconfig := a.Kubeconfig(t)
	for version, kubectl := range bins {
		t.Run(version, func(t *testing.T) {
			ns := "v" + strings.ReplaceAll(version, ".", "")
			kc := func(t *testing.T, args ...string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...)...)
				home := filepath.Join(dir, ns)
				cmd.Env = append(os.Environ(), "HOME="+home, "KUBECACHEDIR="+filepath.Join(home, "cache"))
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
				}
				return stdout.String()
			}
			manifest := func(image string) string {
				p := filepath.Join(dir, ns+"-"+image+".yaml")
				if err := os.WriteFile(p, []byte(strings.Replace(kubectlDaemonSet, "IMAGE", image, 1)), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			kc(t, "create", "namespace", ns)
			if out := kc(t, "apply", "-f", manifest("v1")); out != "daemonset.apps/agent created\n" {
				t.Fatalf("apply: %q", out)
			}
			out := kc(t, "rollout", "status", "ds/agent", "--timeout=60s")
			if !strings.HasSuffix(out, "daemon set \"agent\" successfully rolled out\n") {
				t.Fatalf("rollout status: %q", out)
			}
			out = kc(t, "get", "ds")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE" ||
				!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "agent 3 3 3 3 3 <none> ") {
				t.Fatalf("get ds:\n%s", out)
			}
			if out := kc(t, "get", "daemonset", "agent", "-o", "wide"); !strings.Contains(out, "agent:v1") || !strings.Contains(out, "app=agent") {
				t.Fatalf("get -o wide:\n%s", out)
			}
			if out := kc(t, "describe", "ds", "agent"); !strings.Contains(out, "Desired Number of Nodes Scheduled: 3\n") ||
				!strings.Contains(out, "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed\n") {
				t.Fatalf("describe:\n%s", out)
			}
			if out := kc(t, "apply", "-f", manifest("v2")); out != "daemonset.apps/agent configured\n" {
				t.Fatalf("apply v2: %q", out)
			}
			out = kc(t, "rollout", "status", "daemonset/agent", "--timeout=60s")
			if !strings.HasSuffix(out, "daemon set \"agent\" successfully rolled out\n") {
				t.Fatalf("rollout status after v2: %q", out)
			}
			pods := kc(t, "get", "pods", "-l", "app=agent", "-o", "jsonpath={range .items[*]}{.spec.containers[0].image} {end}")
			if strings.Count(pods, "agent:v2") != 3 || strings.Contains(pods, "agent:v1") {
				t.Fatalf("pods after the rollout: %q", pods)
			}
			if out := kc(t, "rollout", "restart", "ds/agent"); out != "daemonset.apps/agent restarted\n" {
				t.Fatalf("rollout restart: %q", out)
			}
			if out := kc(t, "rollout", "status", "ds/agent", "--timeout=60s"); !strings.HasSuffix(out, "successfully rolled out\n") {
				t.Fatalf("rollout status after restart: %q", out)
			}
			if out := kc(t, "delete", "ds", "agent"); out != "daemonset.apps \"agent\" deleted\n" {
				t.Fatalf("delete: %q", out)
			}
		})
	}
}
