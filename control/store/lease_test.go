package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// leaseOf returns the lease key is attached to (0: none).
func leaseOf(t *testing.T, s *Store, key string) clientv3.LeaseID {
	t.Helper()
	resp, err := s.client.Get(t.Context(), key)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("get %s: %v, %d keys", key, err, len(resp.Kvs))
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

func leaseCount(t *testing.T, s *Store) int {
	t.Helper()
	resp, err := s.client.Leases(t.Context())
	if err != nil {
		t.Fatalf("list leases: %v", err)
	}
	return len(resp.Leases)
}

// waitDeleted waits on w for the deletion of key, skipping other events, and returns it.
func waitDeleted(t *testing.T, w *Watcher, key string) Event {
	t.Helper()
	for {
		if ev := nextChange(t, w); ev.Type == Deleted && ev.KV.Key == key {
			return ev
		}
	}
}

// waitExpired polls until etcd no longer has lease id.
func waitExpired(t *testing.T, s *Store, id clientv3.LeaseID) {
	t.Helper()
	for deadline := time.Now().Add(patience); ; {
		resp, err := s.client.TimeToLive(t.Context(), id)
		if errors.Is(err, rpctypes.ErrLeaseNotFound) || err == nil && resp.TTL == -1 {
			return
		}
		if err != nil {
			t.Fatalf("TimeToLive %x: %v", id, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %x still alive after %v", id, patience)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTTLKeyExpires(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	short, kept := Key("events", "default", "short"), Key("pods", "default", "kept")
	rev, err := s.Create(ctx, short, []byte("e1"), WithTTL(time.Second))
	if err != nil {
		t.Fatalf("Create with TTL: %v", err)
	}
	mustCreate(t, s, kept, "p1")
	w := s.Watch(ctx, registryRoot, rev)
	defer w.Stop()

	ev := waitDeleted(t, w, short)
	if string(ev.PrevValue) != "e1" {
		t.Errorf("expiry event's previous value = %q, want %q", ev.PrevValue, "e1")
	}
	if _, err := s.Get(ctx, short); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after expiry: %v, want ErrNotFound", err)
	}
	if kv, err := s.Get(ctx, kept); err != nil || string(kv.Value) != "p1" {
		t.Errorf("Get of the key without TTL = %q, %v; want p1", kv.Value, err)
	}
}

func TestTTLLeasesAreReusedWithinTheWindow(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	// A 20-minute TTL has a one-minute reuse window: every write below falls inside it.
	ttl := WithTTL(20 * time.Minute)
	before := leaseCount(t, s)
	var keys []string
	for i := range 20 {
		k := Key("events", "default", string(rune('a'+i)))
		keys = append(keys, k)
		rev, err := s.Create(ctx, k, []byte("v1"), ttl)
		if err != nil {
			t.Fatalf("Create %s: %v", k, err)
		}
		if _, err := s.Update(ctx, k, []byte("v2"), rev, ttl); err != nil {
			t.Fatalf("Update %s: %v", k, err)
		}
		if _, err := s.GuaranteedUpdate(ctx, k, func(KV) ([]byte, error) { return []byte("v3"), nil }, ttl); err != nil {
			t.Fatalf("GuaranteedUpdate %s: %v", k, err)
		}
	}
	if got := leaseCount(t, s) - before; got != 1 {
		t.Errorf("60 writes with one TTL granted %d leases, want 1", got)
	}
	id := leaseOf(t, s, keys[0])
	for _, k := range keys {
		if got := leaseOf(t, s, k); got != id || got == 0 {
			t.Errorf("%s is on lease %x, want the shared %x", k, got, id)
		}
	}
	ttlResp, err := s.client.TimeToLive(ctx, id, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatalf("TimeToLive: %v", err)
	}
	if ttlResp.GrantedTTL != 21*60 || len(ttlResp.Keys) != len(keys) {
		t.Errorf("lease granted for %ds with %d keys, want %ds (TTL plus window) with %d", ttlResp.GrantedTTL, len(ttlResp.Keys), 21*60, len(keys))
	}

	// Another TTL gets its own lease; a write without TTL detaches the key.
	if _, err := s.Create(ctx, Key("events", "default", "other"), []byte("v"), WithTTL(time.Hour)); err != nil {
		t.Fatalf("Create with another TTL: %v", err)
	}
	if got := leaseCount(t, s) - before; got != 2 {
		t.Errorf("a second TTL: %d leases in all, want 2", got)
	}
	if _, err := s.Update(ctx, keys[0], []byte("v4"), 0); err != nil {
		t.Fatalf("Update without TTL: %v", err)
	}
	if got := leaseOf(t, s, keys[0]); got != 0 {
		t.Errorf("after an update without TTL the key is on lease %x, want none", got)
	}
}

func TestTTLUpdateExtendsLife(t *testing.T) {
	for _, tc := range []struct {
		name   string
		update func(s *Store, key string, rev int64) error
	}{
		{"Update", func(s *Store, key string, rev int64) error {
			_, err := s.Update(context.Background(), key, []byte("v2"), rev, WithTTL(20*time.Minute))
			return err
		}},
		{"GuaranteedUpdate", func(s *Store, key string, _ int64) error {
			_, err := s.GuaranteedUpdate(context.Background(), key,
				func(cur KV) ([]byte, error) { return append(bytes.Clone(cur.Value), '2'), nil }, WithTTL(20*time.Minute))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			ctx := t.Context()
			key := Key("events", "default", "extended")
			rev, err := s.Create(ctx, key, []byte("v1"), WithTTL(time.Second))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			first := leaseOf(t, s, key)
			if err := tc.update(s, key, rev); err != nil {
				t.Fatalf("update: %v", err)
			}
			if got := leaseOf(t, s, key); got == first || got == 0 {
				t.Fatalf("after the update the key is on lease %x, want a new one (was %x)", got, first)
			}
			waitExpired(t, s, first)
			if _, err := s.Get(ctx, key); err != nil {
				t.Errorf("Get of the updated key after its first lease expired: %v", err)
			}
		})
	}
}

func TestReuseWindow(t *testing.T) {
	for _, tc := range []struct{ ttl, want int64 }{
		{1, 0}, {19, 0}, {20, 1}, {100, 5}, {1200, 60}, {3600, 60},
	} {
		if got := reuseWindow(tc.ttl); got != tc.want {
			t.Errorf("reuseWindow(%d) = %d, want %d", tc.ttl, got, tc.want)
		}
	}
}

func TestTTLWriteAfterReusedLeaseIsRevoked(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	ttl := WithTTL(20 * time.Minute)
	a, b := Key("events", "default", "a"), Key("events", "default", "b")
	if _, err := s.Create(ctx, a, []byte("v"), ttl); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := s.client.Revoke(ctx, leaseOf(t, s, a)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := s.Create(ctx, b, []byte("v"), ttl); err != nil {
		t.Fatalf("Create after the cached lease was revoked: %v", err)
	}
	if leaseOf(t, s, b) == 0 {
		t.Errorf("%s has no lease", b)
	}
}

func TestLeaseReuseEnds(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	now := time.Now()
	s.leases.now = func() time.Time { return now }
	const ttl = 20 * 60 // a one-minute window
	first, err := s.leases.get(ctx, ttl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func()
		fresh bool
	}{
		{"within the window", func() { now = now.Add(59 * time.Second) }, false},
		{"after the window", func() { now = now.Add(2 * time.Second) }, true},
		{"lease full", func() { s.leases.byTTL[ttl].keys = leaseMaxKeys }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			id, err := s.leases.get(ctx, ttl)
			if err != nil {
				t.Fatal(err)
			}
			if fresh := id != first; fresh != tc.fresh {
				t.Errorf("got lease %x after %x: fresh = %v, want %v", id, first, fresh, tc.fresh)
			}
			first = id
		})
	}
}

// BenchmarkCreateTTL is BenchmarkCreate/nofsync for keys with a TTL: with reuse (1h) a
// write costs what one without TTL does; without (10s, under the 20s that earns a window)
// each write also grants a lease.
func BenchmarkCreateTTL(b *testing.B) {
	for _, ttl := range []time.Duration{time.Hour, 10 * time.Second} {
		b.Run(fmt.Sprint("ttl=", ttl), func(b *testing.B) {
			s := benchStore(b, true)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := s.Create(ctx, Key("events", "default", fmt.Sprint("e", i)), benchValue, WithTTL(ttl)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
