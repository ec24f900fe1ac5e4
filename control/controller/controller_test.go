package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
)

// TestControllerHammer queues many keys from many goroutines into many workers and checks that
// a key is never reconciled by two workers at once, that every key is reconciled after its
// last Enqueue, and that failing keys are retried until they succeed.
func TestControllerHammer(t *testing.T) {
	const keys, adders, adds = 50, 8, 200
	var (
		mu       sync.Mutex
		active   = map[string]bool{}
		seen     = map[string]int{}
		failures = map[string]int{}
		overlap  atomic.Bool
	)
	wantSeen := make(chan struct{})
	var doneOnce sync.Once
	r := ReconcilerFunc(func(ctx context.Context, key string) error {
		mu.Lock()
		if active[key] {
			overlap.Store(true)
		}
		active[key] = true
		mu.Unlock()
		time.Sleep(time.Microsecond)
		mu.Lock()
		defer mu.Unlock()
		active[key] = false
		// Keys ending in 7 fail twice before succeeding.
		if key[len(key)-1] == '7' && failures[key] < 2 {
			failures[key]++
			return errors.New("transient")
		}
		seen[key]++
		if len(seen) == keys {
			doneOnce.Do(func() { close(wantSeen) })
		}
		return nil
	})
	c := New(Config{Name: "hammer", Reconciler: r, Workers: 8, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
	var wg sync.WaitGroup
	for a := range adders {
		wg.Go(func() {
			for i := range adds {
				c.Enqueue(fmt.Sprintf("ns/key-%d", (a*adds+i)%keys))
			}
		})
	}
	wg.Wait()
	select {
	case <-wantSeen:
	case <-time.After(30 * time.Second):
		t.Fatal("not every key was reconciled")
	}
	c.Stop()
	c.Stop()
	if overlap.Load() {
		t.Fatal("a key was reconciled by two workers at once")
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range failures {
		if n != 2 || seen[k] == 0 {
			t.Errorf("%s failed %d times, succeeded %d times", k, n, seen[k])
		}
	}
	c.Enqueue("after-stop") // dropped, must not block or panic
}

func TestControllerPanicIsRetried(t *testing.T) {
	calls := make(chan int, 10)
	var n atomic.Int32
	c := New(Config{Name: "panicky", BaseDelay: time.Millisecond, Reconciler: ReconcilerFunc(func(context.Context, string) error {
		k := n.Add(1)
		calls <- int(k)
		if k == 1 {
			panic("boom")
		}
		return nil
	})})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	c.Enqueue("k")
	<-calls
	<-calls
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type neverSynced struct{}

func (neverSynced) WaitForSync(ctx context.Context) bool { <-ctx.Done(); return false }

func TestStartWaitsForCaches(t *testing.T) {
	c := New(Config{Name: "waiting", Reconciler: ReconcilerFunc(func(context.Context, string) error {
		t.Error("reconciled before caches synced")
		return nil
	}), WaitFor: []Syncer{neverSynced{}}})
	c.Enqueue("k")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Start(ctx); err == nil {
		t.Fatal("Start returned before the caches synced")
	}
	c.Stop()
}

func TestExpectations(t *testing.T) {
	e := NewExpectations(time.Minute)
	now := time.Now()
	if !e.Satisfied("k", now) {
		t.Fatal("unknown key not satisfied")
	}
	e.Expect("k", 2, []string{"ns/a"}, now)
	steps := []struct {
		do   func()
		want bool
	}{
		{func() {}, false},
		{func() { e.CreationObserved("k") }, false},
		{func() { e.CreationObserved("k") }, false},
		{func() { e.DeletionObserved("k", "ns/other") }, false},
		{func() { e.DeletionObserved("k", "ns/a") }, true},
		{func() { e.CreationObserved("k") }, true},
	}
	for i, s := range steps {
		s.do()
		if got := e.Satisfied("k", now); got != s.want {
			t.Fatalf("step %d: satisfied %v", i, got)
		}
	}
	e.Expect("k", 1, nil, now)
	if e.Satisfied("k", now.Add(59*time.Second)) || !e.Satisfied("k", now.Add(61*time.Second)) {
		t.Fatal("expiry")
	}
	e.Forget("k")
	if a, d := e.Pending("k"); a != 0 || d != 0 || !e.Satisfied("k", now) {
		t.Fatal("forget")
	}
}

func objWith(name string, labelsKV map[string]string, ctrl string, deleting bool) *api.Pod {
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "ns", Labels: labelsKV}}
	if ctrl != "" {
		p.OwnerReferences = []api.OwnerReference{{UID: ctrl, Controller: api.Ptr(true)}}
	}
	if deleting {
		p.DeletionTimestamp = &api.Time{}
	}
	return p
}

func TestClaimObjects(t *testing.T) {
	owner := &api.ObjectMeta{Name: "rs", Namespace: "ns", UID: "me"}
	sel := labels.SelectorFromSet(labels.Set{"app": "x"})
	match := map[string]string{"app": "x"}
	other := map[string]string{"app": "y"}
	objs := []*api.Pod{
		objWith("mine", match, "me", false),
		objWith("mine-unmatched", other, "me", false),
		objWith("orphan", match, "", false),
		objWith("orphan-deleting", match, "", true),
		objWith("orphan-unmatched", other, "", false),
		objWith("theirs", match, "them", false),
	}
	wrongNS := objWith("elsewhere", match, "", false)
	wrongNS.Namespace = "other"
	objs = append(objs, wrongNS)
	names := func(ps []*api.Pod) string {
		s := ""
		for _, p := range ps {
			s += p.Name + " "
		}
		return s
	}
	c := ClaimObjects(owner, sel, objs)
	if names(c.Owned) != "mine orphan " || names(c.Adopt) != "orphan " || names(c.Release) != "mine-unmatched " {
		t.Fatalf("owned %q adopt %q release %q", names(c.Owned), names(c.Adopt), names(c.Release))
	}
	owner.DeletionTimestamp = &api.Time{}
	c = ClaimObjects(owner, sel, objs)
	if names(c.Owned) != "mine " || len(c.Adopt)+len(c.Release) != 0 {
		t.Fatalf("deleting owner: owned %q adopt %q release %q", names(c.Owned), names(c.Adopt), names(c.Release))
	}
	refs := Adopted(&objs[2].ObjectMeta, ControllerRef(owner, "apps/v1", "ReplicaSet"))
	if len(refs) != 1 || refs[0].UID != "me" || !*refs[0].BlockOwnerDeletion || len(objs[2].OwnerReferences) != 0 {
		t.Fatalf("adopted refs %+v", refs)
	}
	if refs := Released(&objs[0].ObjectMeta, "me"); len(refs) != 0 {
		t.Fatalf("released refs %+v", refs)
	}
}

func TestAvailability(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 1, 0, 0, time.UTC)
	readySince := func(d time.Duration) *api.Pod {
		return &api.Pod{Status: api.PodStatus{Conditions: []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue,
			LastTransitionTime: api.NewTime(now.Add(-d))}}}}
	}
	cases := []struct {
		name    string
		pod     *api.Pod
		minRS   int32
		avail   bool
		inAbout time.Duration
	}{
		{"not ready", &api.Pod{}, 0, false, -1},
		{"ready, no minReadySeconds", readySince(0), 0, true, 0},
		{"ready long enough", readySince(20 * time.Second), 10, true, 0},
		{"ready exactly minReadySeconds is not yet available", readySince(10 * time.Second), 10, false, time.Millisecond},
		{"ready too recently", readySince(4 * time.Second), 10, false, 6*time.Second + time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPodAvailable(tc.pod, tc.minRS, now); got != tc.avail {
				t.Fatalf("available %v", got)
			}
			if got := AvailableIn(tc.pod, tc.minRS, now); got != tc.inAbout {
				t.Fatalf("available in %v, want %v", got, tc.inAbout)
			}
		})
	}
}

func TestKeysAndClone(t *testing.T) {
	for _, k := range []struct{ ns, name, key string }{{"a", "b", "a/b"}, {"", "n", "n"}} {
		if Key(k.ns, k.name) != k.key {
			t.Errorf("Key(%q,%q) = %q", k.ns, k.name, Key(k.ns, k.name))
		}
		if ns, name := SplitKey(k.key); ns != k.ns || name != k.name {
			t.Errorf("SplitKey(%q) = %q %q", k.key, ns, name)
		}
	}
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "x", Labels: map[string]string{"a": "b"}}}
	c := Clone(p)
	c.Labels["a"] = "c"
	if p.Labels["a"] != "b" || c.Name != "x" || Clone[api.Pod](nil) != nil {
		t.Fatal("clone shares memory")
	}
}
