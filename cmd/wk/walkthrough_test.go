package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// wkRun runs one wk command to completion with KUBECONFIG set and returns its output.
func wkRun(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wkBin(t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustWk(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := wkRun(t, kubeconfig, args...)
	if err != nil {
		t.Fatalf("wk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func wantContains(t *testing.T, what, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Fatalf("%s: output lacks %q:\n%s", what, s, out)
		}
	}
}

// TestWalkthrough drives the real binary through the README's walkthrough: a server without a
// runner, five hollow nodes, the hello sample applied, scaled, rolled forward and back,
// watched, described, and deleted with everything it owns. Then a second runner process joins,
// the first is killed, and the pods heal onto the survivor's nodes.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	hello := filepath.Join(root, "samples/hello/hello.yaml")
	helloV2 := filepath.Join(root, "samples/hello/hello-v2.yaml")
	dir := t.TempDir()
	_, c := startServer(t, dir, freeAddr(t), "--runner=false", "--node-monitor-grace-period", "3s", "--pod-eviction-timeout", "0s")
	kc := filepath.Join(dir, "kubeconfig")
	env := []string{"KUBECONFIG=" + kc}
	runnerA := startProc(t, env, "runner", "--hollow", "5", "--lease-renew-interval", "1s")
	eventually(t, 30*time.Second, "five Ready nodes", func() error {
		out, _ := wkRun(t, kc, "get", "nodes")
		if n := strings.Count(out, " Ready "); n != 5 {
			return fmt.Errorf("%d Ready:\n%s", n, out)
		}
		return nil
	})

	wantContains(t, "apply", mustWk(t, kc, "apply", "-f", hello), "deployment.apps/hello created", "service/hello created")
	wantContains(t, "rollout status", mustWk(t, kc, "rollout", "status", "deployment", "hello", "--timeout", "60s"),
		`deployment "hello" successfully rolled out`)
	out := mustWk(t, kc, "get", "deploy,rs,pods,svc", "-o", "wide")
	wantContains(t, "get", out, "deployment.apps/hello", "2/2", "replicaset.apps/hello-", "pod/hello-", "Running",
		"service/hello", "NodePort", "80:30080/TCP", "NODE", "hollow-")

	wantContains(t, "scale", mustWk(t, kc, "scale", "deployment", "hello", "--replicas=4"), "deployment.apps/hello scaled")
	mustWk(t, kc, "rollout", "status", "deployment", "hello", "--timeout", "60s")
	countRunning := func(image string) int {
		pods, err := client.Pods(c).Namespace("default").List(context.Background(), client.ListOptions{LabelSelector: "app=hello"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pods.Items {
			if p.Status.Phase == api.PodRunning && p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == image {
				n++
			}
		}
		return n
	}
	if n := countRunning("hello:v1"); n != 4 {
		t.Fatalf("after scaling to 4: %d Running", n)
	}

	// Watch pods while the rolling update runs.
	watcher := startProc(t, env, "get", "pods", "-w")
	wantContains(t, "apply v2", mustWk(t, kc, "apply", "-f", helloV2), "deployment.apps/hello configured")
	wantContains(t, "rollout status v2", mustWk(t, kc, "rollout", "status", "deployment", "hello", "--timeout", "90s"),
		"successfully rolled out")
	eventually(t, 30*time.Second, "all pods on v2", func() error {
		d, err := client.Deployments(c).Namespace("default").Get(context.Background(), "hello")
		if err != nil {
			return err
		}
		want := int(api.Deref(d.Spec.Replicas, 1))
		if n, old := countRunning("hello:v2"), countRunning("hello:v1"); n != want || old != 0 {
			return fmt.Errorf("%d v2 and %d v1 Running, want %d and 0", n, old, want)
		}
		return nil
	})
	history := mustWk(t, kc, "rollout", "history", "deployment", "hello")
	wantContains(t, "history", history, "REVISION", "CHANGE-CAUSE")
	if !regexp.MustCompile(`(?m)^1\s`).MatchString(history) || !regexp.MustCompile(`(?m)^2\s`).MatchString(history) {
		t.Fatalf("history lacks revisions 1 and 2:\n%s", history)
	}
	wantContains(t, "undo", mustWk(t, kc, "rollout", "undo", "deployment", "hello"), "deployment.apps/hello rolled back")
	mustWk(t, kc, "rollout", "status", "deployment", "hello", "--timeout", "90s")
	eventually(t, 30*time.Second, "all pods back on v1", func() error {
		if n := countRunning("hello:v2"); n != 0 {
			return fmt.Errorf("%d pods still on v2", n)
		}
		return nil
	})
	watcher.stop()
	wantContains(t, "get pods -w", watcher.output(), "NAME", "READY", "STATUS", "hello-", "Running", "Pending")

	pods, err := client.Pods(c).Namespace("default").List(context.Background(), client.ListOptions{LabelSelector: "app=hello"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("list pods: %v (%d)", err, len(pods.Items))
	}
	desc := mustWk(t, kc, "describe", "pod", pods.Items[0].Name)
	wantContains(t, "describe pod", desc, "Name:", pods.Items[0].Name, "Node:", "hollow-", "Controlled By:", "ReplicaSet/hello-",
		"Containers:", "Conditions:", "Events:", "Scheduled")
	events := mustWk(t, kc, "get", "events")
	wantContains(t, "get events", events, "Scheduled", "ScalingReplicaSet", "SuccessfulCreate")

	// Self-healing: a second runner joins; the first is killed; its pods are replaced on the
	// second runner's nodes and its nodes turn NotReady.
	startProc(t, env, "runner", "--hollow", "2", "--node-name", "spare-", "--lease-renew-interval", "1s")
	eventually(t, 30*time.Second, "seven Ready nodes", func() error {
		out, _ := wkRun(t, kc, "get", "nodes")
		if n := strings.Count(out, " Ready "); n != 7 {
			return fmt.Errorf("%d Ready:\n%s", n, out)
		}
		return nil
	})
	runnerA.kill()
	eventually(t, 60*time.Second, "pods replaced on the surviving runner", func() error {
		pods, err := client.Pods(c).Namespace("default").List(context.Background(), client.ListOptions{LabelSelector: "app=hello"})
		if err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == api.PodRunning && strings.HasPrefix(p.Spec.NodeName, "spare-") {
				running++
			}
		}
		if running < 2 {
			return fmt.Errorf("%d hello pods Running on spare nodes", running)
		}
		return nil
	})
	eventually(t, 30*time.Second, "the killed runner's nodes NotReady", func() error {
		nodes, _ := wkRun(t, kc, "get", "nodes")
		if n := strings.Count(nodes, "NotReady"); n != 5 {
			return fmt.Errorf("%d nodes NotReady, want 5:\n%s", n, nodes)
		}
		return nil
	})

	wantContains(t, "delete", mustWk(t, kc, "delete", "-f", hello), `deployment.apps "hello" deleted`, `service "hello" deleted`)
	eventually(t, 30*time.Second, "replicasets and pods gone", func() error {
		out, _ := wkRun(t, kc, "get", "rs,pods")
		if !strings.Contains(out, "No resources found") {
			return fmt.Errorf("still there:\n%s", out)
		}
		return nil
	})
}
