package leader

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

func startClient(t *testing.T) *client.Client {
	t.Helper()
	a := clustertest.StartAPI(t)
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.Namespaces(c).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: api.NamespaceSystem}}); err != nil && !api.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return c
}

func testConfig(c *client.Client, identity string) Config {
	return Config{
		Client: c, Name: "controllers", Identity: identity,
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond,
	}
}

// recv waits for a value from ch, failing the test if none comes.
func recv[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling, not a timing assertion
	}
}

func TestTwoElectors(t *testing.T) {
	c := startClient(t)
	var leaders atomic.Int32 // how many callbacks run at once; must never exceed 1
	var overlap atomic.Bool
	started := make(chan string, 10)

	type candidate struct {
		e      *Elector
		cancel context.CancelFunc
		done   chan struct{}
	}
	run := func(id string) *candidate {
		e, err := New(testConfig(c, id))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cd := &candidate{e: e, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(cd.done)
			e.Run(ctx, func(ctx context.Context) {
				if leaders.Add(1) > 1 {
					overlap.Store(true)
				}
				started <- id
				<-ctx.Done()
				leaders.Add(-1)
			}, nil)
		}()
		t.Cleanup(func() { cancel(); <-cd.done })
		return cd
	}
	a, b := run("a"), run("b")
	byID := map[string]*candidate{"a": a, "b": b}

	first := recv(t, "a leader", started)
	other := map[string]string{"a": "b", "b": "a"}[first]
	waitFor(t, "the other candidate to observe the leader", func() bool { return byID[other].e.Leader() == first })
	if byID[other].e.IsLeader() {
		t.Fatalf("both %s and %s lead", first, other)
	}

	// The lease is renewed while leading.
	leases := client.Leases(c).Namespace(api.NamespaceSystem)
	l1, err := leases.Get(context.Background(), "controllers")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a renewal", func() bool {
		l2, err := leases.Get(context.Background(), "controllers")
		return err == nil && l2.Spec.RenewTime.After(l1.Spec.RenewTime.Time)
	})
	if h := api.Deref(l1.Spec.HolderIdentity, ""); h != first {
		t.Fatalf("lease holder %q, want %q", h, first)
	}

	// The leader stops: it releases the lease and the other takes over.
	byID[first].cancel()
	recv(t, "the leader to stop", byID[first].done)
	if second := recv(t, "a new leader", started); second != other {
		t.Fatalf("after %s stopped, %s started leading", first, second)
	}
	l3, err := leases.Get(context.Background(), "controllers")
	if err != nil {
		t.Fatal(err)
	}
	if h := api.Deref(l3.Spec.HolderIdentity, ""); h != other {
		t.Fatalf("lease holder %q after takeover, want %q", h, other)
	}
	if n := api.Deref(l3.Spec.LeaseTransitions, 0); n < 1 {
		t.Fatalf("leaseTransitions %d after a takeover", n)
	}
	if overlap.Load() {
		t.Fatal("two leaders ran at once")
	}
}

func TestTakeOverExpiredLease(t *testing.T) {
	c := startClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := api.NewMicroTime(time.Now())
	ghost := &api.Lease{
		ObjectMeta: api.ObjectMeta{Name: "controllers", Namespace: api.NamespaceSystem},
		Spec: api.LeaseSpec{HolderIdentity: api.Ptr("ghost"), LeaseDurationSeconds: api.Ptr(int32(1)),
			AcquireTime: &now, RenewTime: &now},
	}
	if _, err := client.Leases(c).Namespace(api.NamespaceSystem).Create(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	e, err := New(testConfig(c, "me"))
	if err != nil {
		t.Fatal(err)
	}
	leading := make(chan struct{})
	stopped := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Go(func() {
		e.Run(ctx, func(ctx context.Context) {
			once.Do(func() { close(leading) })
			<-ctx.Done()
		}, func() { close(stopped) })
	})
	recv(t, "the expired lease to be taken", leading) // the ghost never renews
	if e.Leader() != "me" || !e.IsLeader() {
		t.Fatalf("leader %q", e.Leader())
	}
	cancel()
	recv(t, "onStoppedLeading", stopped)
	wg.Wait()
	l, err := client.Leases(c).Namespace(api.NamespaceSystem).Get(context.Background(), "controllers")
	if err != nil {
		t.Fatal(err)
	}
	if h := api.Deref(l.Spec.HolderIdentity, "x"); h != "" {
		t.Fatalf("holder %q after release, want empty", h)
	}
}
