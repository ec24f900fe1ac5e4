package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

const drainManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: hello:1
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: web
`

// TestKubectlDrain drains nodes of a cluster of hollow runners with an unmodified kubectl
// (1.27 and 1.33): kubectl finds pods/eviction in discovery, evicts the pods of a Deployment
// whose PodDisruptionBudget lets one go at a time, retries the refused evictions until the
// replacements are Ready elsewhere, and finishes; kubectl delete pod sends protobuf
// DeleteOptions.
func TestKubectlDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	real, _ := filepath.EvalSymlinks(path)
	var kubectls []string
	for _, v := range []string{"1.27", "1.33"} {
		if p := filepath.Join(filepath.Dir(real), "kubectl."+v); fileExistsAt(p) {
			kubectls = append(kubectls, p)
		}
	}
	if len(kubectls) == 0 {
		kubectls = []string{path}
	}
	dir := t.TempDir()
	_, c := startServer(t, dir, freeAddr(t), "--runner=false")
	kc := filepath.Join(dir, "kubeconfig")
	startProc(t, []string{"KUBECONFIG=" + kc}, "runner", "--hollow", "3", "--lease-renew-interval", "1s")
	ctx := context.Background()
	kubectl := func(bin string, args ...string) (string, string, error) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, bin, append([]string{"--kubeconfig", kc}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "KUBECACHEDIR="+filepath.Join(dir, "cache-"+filepath.Base(bin)))
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	eventually(t, 30*time.Second, "three Ready nodes", func() error {
		out, _ := wkRun(t, kc, "get", "nodes")
		if n := strings.Count(out, " Ready "); n != 3 {
			return fmt.Errorf("%d Ready:\n%s", n, out)
		}
		return nil
	})
	manifest := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(manifest, []byte(drainManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := kubectl(kubectls[0], "apply", "-f", manifest); err != nil {
		t.Fatalf("apply: %v\n%s%s", err, out, errOut)
	}
	pods := client.Pods(c).Namespace("default")
	pdbs := client.For[*api.PodDisruptionBudget](c, "poddisruptionbudgets").Namespace("default")
	// settled waits for 4 ready pods and a budget that allows one disruption, and returns the
	// node with the most pods (at least two: four pods on three nodes).
	settled := func() string {
		var busiest string
		eventually(t, 90*time.Second, "4 ready pods and one disruption allowed", func() error {
			list, err := pods.List(ctx, client.ListOptions{LabelSelector: "app=web"})
			if err != nil {
				return err
			}
			per := map[string]int{}
			ready := 0
			for _, p := range list.Items {
				if p.DeletionTimestamp == nil && p.Spec.NodeName != "" && podIsReady(p) {
					ready++
					per[p.Spec.NodeName]++
				}
			}
			busiest = ""
			for n, k := range per {
				if busiest == "" || k > per[busiest] || k == per[busiest] && n < busiest {
					busiest = n
				}
			}
			b, err := pdbs.Get(ctx, "web")
			if err != nil {
				return err
			}
			if ready != 4 || b.Status.DisruptionsAllowed != 1 || b.Status.CurrentHealthy != 4 {
				return fmt.Errorf("%d ready pods on %v, budget %+v", ready, per, b.Status)
			}
			return nil
		})
		return busiest
	}
	for _, bin := range kubectls {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			node := settled()
			out, errOut, err := kubectl(bin, "drain", node, "--ignore-daemonsets", "--timeout=150s")
			if err != nil {
				t.Fatalf("drain %s: %v\nstdout:\n%s\nstderr:\n%s", node, err, out, errOut)
			}
			for _, want := range []string{"node/" + node + " cordoned", "evicting pod default/web-", "evicted", "node/" + node + " drained"} {
				if !strings.Contains(out, want) {
					t.Fatalf("drain stdout lacks %q:\n%s\nstderr:\n%s", want, out, errOut)
				}
			}
			if strings.Count(out, " evicted") >= 2 && !strings.Contains(errOut, "Cannot evict pod as it would violate the pod's disruption budget.") {
				t.Fatalf("two pods drained at once without a refusal:\nstdout:\n%s\nstderr:\n%s", out, errOut)
			}
			list, err := pods.List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range list.Items {
				if p.DeletionTimestamp == nil {
					t.Fatalf("pod %s still on the drained node", p.Name)
				}
			}
			settled()
			// kubectl delete sends its DeleteOptions in protobuf.
			list, err = pods.List(ctx, client.ListOptions{LabelSelector: "app=web"})
			if err != nil || len(list.Items) == 0 {
				t.Fatalf("pods: %v", err)
			}
			victim := list.Items[0].Name
			if out, errOut, err := kubectl(bin, "delete", "pod", victim, "--grace-period=0", "--force"); err != nil || !strings.Contains(out, `pod "`+victim+`" force deleted`) {
				t.Fatalf("delete pod: %v\n%s%s", err, out, errOut)
			}
			if out, errOut, err := kubectl(bin, "uncordon", node); err != nil {
				t.Fatalf("uncordon: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

func podIsReady(p *api.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

func fileExistsAt(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
