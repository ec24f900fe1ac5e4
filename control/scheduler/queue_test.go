package scheduler

import (
	"testing"
	"time"
)

// TestActiveQueueOrder: higher priority first, then older, then first queued.
func TestActiveQueueOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := newActiveQueue()
	q.add("default/low-old", 0, t0)
	q.add("default/high-new", 1000, t0.Add(time.Hour))
	q.add("default/low-new-a", 0, t0.Add(time.Minute))
	q.add("default/low-new-b", 0, t0.Add(time.Minute))
	q.add("default/high-old", 1000, t0)
	q.add("default/negative", -5, t0.Add(-time.Hour))
	q.add("default/low-old", 0, t0) // already queued: keeps its place
	q.remove("default/low-new-b")
	want := []string{"default/high-old", "default/high-new", "default/low-old", "default/low-new-a", "default/negative"}
	for i, w := range want {
		if got := q.pop(); got != w {
			t.Fatalf("pop %d = %q, want %q", i, got, w)
		}
	}
	if got := q.pop(); got != "" {
		t.Fatalf("pop on empty = %q", got)
	}
}
