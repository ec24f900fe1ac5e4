package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// TestKillServerKeepsAcknowledgedWrites kills `wk server` with SIGKILL while clients are
// creating pods, restarts it on the same data directory, and checks that every create the API
// acknowledged is still there.
func TestKillServerKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wk binary")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	srv, c := startServer(t, dir, addr, "--runner=false")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pods := client.Pods(c).Namespace("default")
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("p-%d-%d", w, i)
				p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: name},
					Spec: api.PodSpec{SchedulerName: "none", Containers: []api.Container{{Name: "c", Image: "m:v1"}}}}
				if _, err := pods.Create(ctx, p); err == nil {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			}
		}()
	}
	eventually(t, 60*time.Second, "acknowledged creates", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 300 {
			return fmt.Errorf("%d acknowledged so far", len(acked))
		}
		return nil
	})
	srv.kill() // while creates are in flight
	cancel()
	wg.Wait()

	_, c2 := startServer(t, dir, addr, "--runner=false")
	list, err := client.Pods(c2).Namespace("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range list.Items {
		have[p.Name] = true
	}
	mu.Lock()
	defer mu.Unlock()
	lost := 0
	for name := range acked {
		if !have[name] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged creates were lost after kill -9", lost, len(acked))
	}
	t.Logf("%d acknowledged creates, all present after kill -9 and restart (%d stored)", len(acked), len(list.Items))
}
