package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCompactTarget(t *testing.T) {
	tests := []struct {
		name                string
		current, last, keep int64
		want                int64
	}{
		{"young store", 500, 0, 1000, 0},
		{"first compaction", 1500, 0, 1000, 500},
		{"nothing new", 1500, 500, 1000, 0},
		{"moved on", 1700, 500, 1000, 700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compactTarget(tt.current, tt.last, tt.keep); got != tt.want {
				t.Fatalf("compactTarget = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCompact(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	key := Key("pods", "default", "a")
	r1 := mustCreate(t, s, key, "v1")
	r2, _ := s.Update(ctx, key, []byte("v2"), 0)

	tests := []struct {
		name string
		rev  int64
		want error
	}{
		{"compact", r2, nil},
		{"again", r2, nil},
		{"older", r1, nil},
		{"future", r2 + 100, ErrFutureRevision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Compact(ctx, tt.rev); !errors.Is(err, tt.want) {
				t.Fatalf("Compact(%d) = %v, want %v", tt.rev, err, tt.want)
			}
		})
	}
	if _, err := s.List(ctx, Prefix("pods", ""), ListOptions{Revision: r1}); !errors.Is(err, ErrCompacted) {
		t.Fatalf("list at r1 after compaction: %v", err)
	}
	if got, err := s.Get(ctx, key); err != nil || string(got.Value) != "v2" {
		t.Fatalf("latest value after compaction: %+v, %v", got, err)
	}
}

func TestRunCompactor(t *testing.T) {
	s := newTestStore(t)
	key := Key("pods", "default", "a")
	first := mustCreate(t, s, key, "0")
	for range 10 {
		if _, err := s.Update(t.Context(), key, []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := s.CurrentRevision(t.Context())
	const keep = 3

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunCompactor(ctx, time.Millisecond, keep)
	}()

	// Poll until the compactor has run: the revision just outside the kept window is gone.
	deadline := time.Now().Add(patience)
	for {
		_, err := s.List(t.Context(), Prefix("pods", ""), ListOptions{Revision: cur - keep - 1})
		if errors.Is(err, ErrCompacted) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("revision %d not compacted within %v", cur-keep-1, patience)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done

	// The kept revisions are still readable.
	if _, err := s.List(t.Context(), Prefix("pods", ""), ListOptions{Revision: cur - keep}); err != nil {
		t.Fatalf("list at %d, inside the kept window: %v", cur-keep, err)
	}
	if first >= cur-keep {
		t.Fatalf("test setup: first write %d inside the window", first)
	}
}
