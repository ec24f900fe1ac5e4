package store

import (
	"context"
	"testing"
	"time"
)

// patience bounds every wait in these tests so that a bug hangs nothing; no test asserts on
// how long anything takes.
const patience = 30 * time.Second

// startEtcd starts an embedded member in a temporary directory (unless cfg names one) and
// closes it when the test ends.
func startEtcd(t testing.TB, cfg EtcdConfig) *Embedded {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	e, err := StartEmbedded(ctx, cfg)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close embedded etcd: %v", err)
		}
	})
	return e
}

// newStore returns a Store over e, closed when the test ends (before e, since cleanups run
// last-in first-out).
func newStore(t testing.TB, e *Embedded, cfg Config) *Store {
	t.Helper()
	s, err := New(e.Client(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newTestStore is a Store over a fresh member that skips fsync, for tests that do not
// restart it.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	return newStore(t, startEtcd(t, EtcdConfig{UnsafeNoFsync: true}), Config{})
}

// next returns the next event of w, failing the test if none comes within patience.
func next(t testing.TB, w *Watcher) Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatalf("watch channel closed, want an event")
		}
		return ev
	case <-time.After(patience):
		t.Fatalf("no watch event within %v", patience)
	}
	return Event{}
}

// nextChange is next, skipping bookmarks.
func nextChange(t testing.TB, w *Watcher) Event {
	t.Helper()
	for {
		if ev := next(t, w); ev.Type != Bookmark {
			return ev
		}
	}
}

// waitClosed fails the test unless w's channel closes (after any events) within patience,
// and returns the events drained on the way.
func waitClosed(t testing.TB, w *Watcher) []Event {
	t.Helper()
	var evs []Event
	timeout := time.After(patience)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-timeout:
			t.Fatalf("watch channel still open after %v", patience)
		}
	}
}

func mustCreate(t testing.TB, s *Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Create(context.Background(), key, []byte(value))
	if err != nil {
		t.Fatalf("Create %s: %v", key, err)
	}
	return rev
}
