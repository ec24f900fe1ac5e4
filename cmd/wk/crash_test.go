package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/client"
)

// TestKillServerKeepsAcknowledgedWrites kills `wk server` with SIGKILL while clients are
// applying Deployments and the controllers are busy with them, restarts it on the same data
// directory, and checks that every apply the API acknowledged is still there and that the
// controllers carry on: every Deployment ends up with its pod Running.
func TestKillServerKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	srv, c := startServer(t, dir, addr, "--runner=false")
	env := []string{"KUBECONFIG=" + dir + "/kubeconfig"}
	startProc(t, env, "runner", "--hollow", "3", "--lease-renew-interval", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deploys := client.Deployments(c).Namespace("default")
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("d-%d-%d", w, i)
				manifest := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q},
"spec":{"replicas":1,"selector":{"matchLabels":{"app":%q}},"template":{"metadata":{"labels":{"app":%q}},
"spec":{"containers":[{"name":"app","image":"hello:v1"}]}}}}`, name, name, name)
				if _, err := deploys.Apply(ctx, name, []byte(manifest), "crash-test", false); err == nil {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			}
		}()
	}
	eventually(t, 60*time.Second, "acknowledged applies", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 150 {
			return fmt.Errorf("%d acknowledged so far", len(acked))
		}
		return nil
	})
	srv.kill() // while applies are in flight and the controllers are creating pods
	cancel()
	wg.Wait()

	_, c2 := startServer(t, dir, addr, "--runner=false")
	list, err := client.Deployments(c2).Namespace("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, d := range list.Items {
		have[d.Name] = true
	}
	mu.Lock()
	lost := 0
	for name := range acked {
		if !have[name] {
			lost++
		}
	}
	mu.Unlock()
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged applies were lost after kill -9", lost, len(acked))
	}
	t.Logf("%d acknowledged applies, all present after kill -9 and restart (%d stored)", len(acked), len(list.Items))

	eventually(t, 120*time.Second, "every deployment available after the restart", func() error {
		list, err := client.Deployments(c2).Namespace("default").List(context.Background(), client.ListOptions{})
		if err != nil {
			return err
		}
		waiting := 0
		for _, d := range list.Items {
			if d.Status.AvailableReplicas != 1 || d.Status.ObservedGeneration != d.Generation {
				waiting++
			}
		}
		if waiting > 0 {
			return fmt.Errorf("%d of %d deployments not yet available", waiting, len(list.Items))
		}
		pods, err := client.Pods(c2).Namespace("default").List(context.Background(), client.ListOptions{})
		if err != nil {
			return err
		}
		if len(pods.Items) != len(list.Items) {
			return fmt.Errorf("%d pods for %d deployments (duplicates or missing)", len(pods.Items), len(list.Items))
		}
		return nil
	})
}
