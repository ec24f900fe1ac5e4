package apiserver

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/store"
)

const patience = 30 * time.Second

// newTestServer is a started Server over a fresh embedded etcd, serving no HTTP.
func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	e, err := store.StartEmbedded(ctx, store.EtcdConfig{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	st, err := store.New(e.Client(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	cfg.Store = st
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.resources {
		if err := r.cache.start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

// put writes n keys of resource "pods" and waits until the cache has seen them.
func put(t *testing.T, s *Server, c *watchCache, from, n int) int64 {
	t.Helper()
	var rev int64
	for i := from; i < from+n; i++ {
		var err error
		rev, err = s.store.Create(context.Background(), store.Key("pods", "default", fmt.Sprint("p", i)),
			[]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p`+fmt.Sprint(i)+`","namespace":"default"}}`))
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(patience)
	for {
		c.mu.RLock()
		seen := c.rev
		notify := c.notify
		c.mu.RUnlock()
		if seen >= rev {
			return rev
		}
		select {
		case <-notify:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("cache at %d, want %d", seen, rev)
		}
	}
}

func TestCursorFallsBehind(t *testing.T) {
	s := newTestServer(t, Config{WatchCacheSize: 4})
	c := s.byName["pods"].cache
	cur, err := c.watchFrom(c.rev)
	if err != nil {
		t.Fatal(err)
	}
	fast, _ := c.watchFrom(c.rev)
	put(t, s, c, 0, 3)
	evs, _, _, err := fast.read(nil)
	if err != nil || len(evs) != 3 {
		t.Fatalf("fast watcher: %d events, %v", len(evs), err)
	}
	put(t, s, c, 3, 3)
	if _, _, _, err := cur.read(nil); !errors.Is(err, errTooSlow) {
		t.Fatalf("slow watcher: %v, want errTooSlow", err)
	}
	// The fast one lost nothing: the ring still holds what it has not read.
	evs, _, _, err = fast.read(nil)
	if err != nil || len(evs) != 3 {
		t.Fatalf("fast watcher after the overflow: %d events, %v", len(evs), err)
	}
}

func TestCacheRelistsWhenItsWatchBreaks(t *testing.T) {
	s := newTestServer(t, Config{})
	c := s.byName["pods"].cache
	put(t, s, c, 0, 2)
	cur, err := c.watchFrom(c.rev)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.RLock()
	w, epoch := c.watcher, c.epoch
	c.mu.RUnlock()
	w.Stop() // as if etcd had ended the watch
	deadline := time.Now().Add(patience)
	for {
		c.mu.RLock()
		e, notify := c.epoch, c.notify
		c.mu.RUnlock()
		if e > epoch {
			break
		}
		select {
		case <-notify:
		case <-time.After(time.Until(deadline)):
			t.Fatal("cache did not list again")
		}
	}
	if _, _, _, err := cur.read(nil); !errors.Is(err, errResync) {
		t.Fatalf("old cursor: %v, want errResync", err)
	}
	put(t, s, c, 2, 1)
	objs, _, ok := c.snapshot(store.Prefix("pods", ""), 0)
	if !ok || len(objs) != 3 {
		t.Fatalf("state after relist: %d objects (ok %v)", len(objs), ok)
	}
}
