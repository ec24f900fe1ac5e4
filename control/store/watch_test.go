package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// change is what a test expects of one event.
type change struct {
	typ   EventType
	key   string
	value string
	prev  string
	rev   int64
}

func (c change) String() string {
	return fmt.Sprintf("%v %s=%q prev=%q @%d", c.typ, c.key, c.value, c.prev, c.rev)
}

func changeOf(ev Event) change {
	return change{ev.Type, ev.KV.Key, string(ev.KV.Value), string(ev.PrevValue), ev.KV.Revision}
}

func TestWatchFromRevisionReplaysLaterEvents(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	prefix := Prefix("pods", "default")
	a, b := Key("pods", "default", "a"), Key("pods", "default", "b")

	r1 := mustCreate(t, s, a, "a1")
	r2 := mustCreate(t, s, b, "b1")
	r3, _ := s.Update(ctx, a, []byte("a2"), r1)
	mustCreate(t, s, Key("pods", "other", "x"), "outside")
	_, r4, _ := s.Delete(ctx, b, r2)
	r5 := mustCreate(t, s, b, "b2")
	history := []change{
		{Added, a, "a1", "", r1},
		{Added, b, "b1", "", r2},
		{Modified, a, "a2", "a1", r3},
		{Deleted, b, "b1", "b1", r4},
		{Added, b, "b2", "", r5},
	}

	tests := []struct {
		name string
		from int64
		want []change
	}{
		{"from before the first write", r1 - 1, history},
		{"from the first write", r1, history[1:]},
		{"from the update", r3, history[3:]},
		{"from the delete", r4, history[4:]},
		{"from the latest", r5, nil},
	}
	// Every watcher starts before the marker, written once the history is complete: after
	// replaying, each must see the marker and nothing else.
	watchers := make([]*Watcher, len(tests))
	for i, tt := range tests {
		watchers[i] = s.Watch(ctx, prefix, tt.from)
		defer watchers[i].Stop()
	}
	marker, _ := s.Update(ctx, a, []byte("marker"), 0)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := watchers[i]
			for i, want := range tt.want {
				if got := changeOf(nextChange(t, w)); got != want {
					t.Fatalf("event %d = %v, want %v", i, got, want)
				}
			}
			if got := changeOf(nextChange(t, w)); got.rev != marker {
				t.Fatalf("event after replay = %v, want the marker at %d", got, marker)
			}
		})
	}
}

func TestWatchFromNow(t *testing.T) {
	s := newTestStore(t)
	key := Key("pods", "default", "a")
	mustCreate(t, s, key, "before")
	w := s.Watch(t.Context(), Prefix("pods", ""), 0)
	defer w.Stop()
	rev, _ := s.Update(t.Context(), key, []byte("after"), 0)
	want := change{Modified, key, "after", "before", rev}
	if got := changeOf(nextChange(t, w)); got != want {
		t.Fatalf("event = %v, want %v", got, want)
	}
}

func TestWatchCompacted(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	key := Key("pods", "default", "a")
	r1 := mustCreate(t, s, key, "v1")
	r2, _ := s.Update(ctx, key, []byte("v2"), 0)
	r3, _ := s.Update(ctx, key, []byte("v3"), 0)
	if err := s.Compact(ctx, r3); err != nil {
		t.Fatal(err)
	}

	t.Run("from a compacted revision", func(t *testing.T) {
		w := s.Watch(ctx, Prefix("pods", ""), r1)
		evs := waitClosed(t, w)
		if len(evs) != 1 || evs[0].Type != Error || !errors.Is(evs[0].Err, ErrCompacted) {
			t.Fatalf("events = %+v, want one Error with ErrCompacted", evs)
		}
	})
	t.Run("from the revision before the compaction point", func(t *testing.T) {
		// Changes after r2 start at r3, which the compaction kept.
		w := s.Watch(ctx, Prefix("pods", ""), r2)
		defer w.Stop()
		if got := changeOf(nextChange(t, w)); got.rev != r3 || got.value != "v3" {
			t.Fatalf("event = %v, want v3 at %d", got, r3)
		}
	})
}

func TestWatchEnds(t *testing.T) {
	s := newTestStore(t)
	prefix := Prefix("pods", "")
	tests := []struct {
		name string
		end  func(w *Watcher, cancel context.CancelFunc)
	}{
		{"Stop", func(w *Watcher, _ context.CancelFunc) { w.Stop() }},
		{"Stop twice", func(w *Watcher, _ context.CancelFunc) { w.Stop(); w.Stop() }},
		{"context canceled", func(_ *Watcher, cancel context.CancelFunc) { cancel() }},
		{"store closed", func(*Watcher, context.CancelFunc) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			w := s.Watch(ctx, prefix, 0)
			tt.end(w, cancel)
			for _, ev := range waitClosed(t, w) {
				if ev.Type != Bookmark {
					t.Errorf("unexpected event %+v after the end", ev)
				}
			}
		})
	}

	w := s.Watch(t.Context(), prefix, 0) // the store is closed by now
	if evs := waitClosed(t, w); len(evs) != 1 || !errors.Is(evs[0].Err, ErrClosed) {
		t.Fatalf("Watch on a closed store: events %+v, want one Error with ErrClosed", evs)
	}
}

func TestWatchInvalidArguments(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		name   string
		prefix string
		from   int64
	}{
		{"prefix without slash", "/registry/pods", 0},
		{"negative revision", "/registry/pods/", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := waitClosed(t, s.Watch(t.Context(), tt.prefix, tt.from))
			if len(evs) != 1 || evs[0].Type != Error || evs[0].Err == nil {
				t.Fatalf("events = %+v, want one Error", evs)
			}
		})
	}
}

func TestWatchSlowConsumerLosesNothing(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	w := s.Watch(ctx, Prefix("pods", ""), 0)
	defer w.Stop()
	const n = 4 * watchBuffer
	revs := make([]int64, n)
	for i := range n { // nobody reads meanwhile
		revs[i] = mustCreate(t, s, Key("pods", "default", fmt.Sprint(i)), fmt.Sprint(i))
	}
	for i := range n {
		ev := nextChange(t, w)
		if ev.Type != Added || ev.KV.Revision != revs[i] || string(ev.KV.Value) != fmt.Sprint(i) {
			t.Fatalf("event %d = %v, want Added %d at %d", i, changeOf(ev), i, revs[i])
		}
	}
}

func TestWatchBookmarks(t *testing.T) {
	e := startEtcd(t, EtcdConfig{UnsafeNoFsync: true, WatchProgressNotifyInterval: 100 * time.Millisecond})
	s := newStore(t, e, Config{})
	rev := mustCreate(t, s, Key("pods", "default", "a"), "v")
	w := s.Watch(t.Context(), Prefix("pods", ""), rev)
	defer w.Stop()
	// etcd sends progress only once the store has reached the watch's start revision:
	// a write outside the prefix gets it there.
	outside := mustCreate(t, s, Key("nodes", "", "n1"), "v")
	ev := next(t, w)
	if ev.Type != Bookmark || ev.KV.Revision < outside || ev.KV.Key != "" || ev.KV.Value != nil {
		t.Fatalf("event = %+v, want a Bookmark at revision >= %d", ev, outside)
	}
}
