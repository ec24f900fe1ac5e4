package hollow

import (
	"context"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

// TestStartupDelay checks that a pod waits StartupDelay before its node reports it Running:
// with an hour's delay the pod is seen and deferred (not started), with a short one it runs.
func TestStartupDelay(t *testing.T) {
	a := clustertest.StartAPI(t)
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		name    string
		delay   time.Duration
		running bool
	}{
		{"hour", time.Hour, false},
		{"short", 100 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(Config{Client: c, Nodes: 1, NamePrefix: tt.name + "-", StartupDelay: tt.delay,
				RenewInterval: 200 * time.Millisecond, LeaseDuration: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			pods := client.Pods(c).Namespace("default")
			p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "late-" + tt.name, Namespace: "default"},
				Spec: api.PodSpec{NodeName: r.NodeNames()[0], Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}
			if _, err := pods.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(60 * time.Second)
			for {
				got, err := pods.Get(ctx, p.Name)
				if err != nil {
					t.Fatal(err)
				}
				r.mu.Lock()
				_, deferred := r.noticed["default/"+p.Name]
				r.mu.Unlock()
				if got.Status.Phase == api.PodRunning {
					if !tt.running {
						t.Fatalf("pod Running before its hour's delay")
					}
					return
				}
				if deferred && !tt.running {
					return // seen, deferred, and still not Running
				}
				if time.Now().After(deadline) {
					t.Fatalf("timed out: phase %q, deferred %v", got.Status.Phase, deferred)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
