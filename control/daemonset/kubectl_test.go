package daemonset_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/clustertest"
)

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
	bins := clustertest.Kubectls(t)
	a := clustertest.StartAPI(t)
	c, ctx, run := startOn(t, a)
	hollowNodes(t, c, run, "edge-", 3)
	dir := t.TempDir()
	kubeconfig := a.Kubeconfig(t)
	for version, kubectl := range bins {
		t.Run(version, func(t *testing.T) {
			ns := "v" + strings.ReplaceAll(version, ".", "")
			k := clustertest.Kubectl{Bin: kubectl, Kubeconfig: kubeconfig, Namespace: ns, Home: filepath.Join(dir, ns)}
			kc := func(t *testing.T, args ...string) string { t.Helper(); return k.Must(t, ctx, args...) }
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
