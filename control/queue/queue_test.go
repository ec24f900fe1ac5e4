package queue

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// getNow takes a key that must already be queued.
func getNow(t *testing.T, q *Queue) string {
	t.Helper()
	if q.Len() == 0 {
		t.Fatalf("queue is empty, want a key")
	}
	k, shut := q.Get()
	if shut {
		t.Fatalf("Get: shutdown, want a key")
	}
	return k
}

func TestQueueSemantics(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, q *Queue)
	}{
		{"fifo", func(t *testing.T, q *Queue) {
			q.Add("a")
			q.Add("b")
			if k := getNow(t, q); k != "a" {
				t.Fatalf("got %q, want a", k)
			}
			if k := getNow(t, q); k != "b" {
				t.Fatalf("got %q, want b", k)
			}
		}},
		{"dedup while queued", func(t *testing.T, q *Queue) {
			q.Add("a")
			q.Add("a")
			q.Add("a")
			if q.Len() != 1 {
				t.Fatalf("Len = %d, want 1", q.Len())
			}
		}},
		{"add while processing requeues after done", func(t *testing.T, q *Queue) {
			q.Add("a")
			k := getNow(t, q)
			q.Add("a")
			if q.Len() != 0 {
				t.Fatalf("key in processing was queued again before Done: Len = %d", q.Len())
			}
			q.Done(k)
			if q.Len() != 1 {
				t.Fatalf("Len after Done = %d, want 1", q.Len())
			}
			if k := getNow(t, q); k != "a" {
				t.Fatalf("got %q, want a", k)
			}
		}},
		{"done without re-add does not requeue", func(t *testing.T, q *Queue) {
			q.Add("a")
			q.Done(getNow(t, q))
			if q.Len() != 0 {
				t.Fatalf("Len = %d, want 0", q.Len())
			}
		}},
		{"shutdown drains then reports", func(t *testing.T, q *Queue) {
			q.Add("a")
			q.ShutDown()
			q.Add("b") // ignored
			if k := getNow(t, q); k != "a" {
				t.Fatalf("got %q, want a", k)
			}
			if _, shut := q.Get(); !shut {
				t.Fatalf("Get after drain: want shutdown")
			}
		}},
		{"dirty key processed after shutdown", func(t *testing.T, q *Queue) {
			q.Add("a")
			k := getNow(t, q)
			q.Add("a")
			q.ShutDown()
			q.Done(k)
			if k := getNow(t, q); k != "a" {
				t.Fatalf("got %q, want a", k)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := New(NewManualClock(epoch))
			defer q.ShutDown()
			tc.run(t, q)
		})
	}
}

func TestGetBlocksUntilShutDown(t *testing.T) {
	q := New(NewManualClock(epoch))
	got := make(chan bool)
	go func() {
		_, shut := q.Get()
		got <- shut
	}()
	q.ShutDown()
	if !<-got {
		t.Fatal("blocked Get returned a key, want shutdown")
	}
}

func TestAddAfter(t *testing.T) {
	clock := NewManualClock(epoch)
	q := New(clock)
	defer q.ShutDown()

	q.AddAfter("slow", 10*time.Millisecond)
	q.AddAfter("fast", 5*time.Millisecond)
	q.AddAfter("now", 0)
	if k := getNow(t, q); k != "now" {
		t.Fatalf("got %q, want now", k)
	}
	clock.Step(4 * time.Millisecond)
	if q.Len() != 0 {
		t.Fatalf("a key came out early")
	}
	clock.Step(time.Millisecond)
	if k, _ := q.Get(); k != "fast" {
		t.Fatalf("got %q, want fast", k)
	}
	clock.Step(5 * time.Millisecond)
	if k, _ := q.Get(); k != "slow" {
		t.Fatalf("got %q, want slow", k)
	}
}

func TestAddAfterEarlierWins(t *testing.T) {
	clock := NewManualClock(epoch)
	q := New(clock)
	defer q.ShutDown()
	q.AddAfter("a", time.Hour)
	q.AddAfter("a", time.Second)
	q.AddAfter("a", 2*time.Hour) // later: ignored
	clock.Step(time.Second)
	if k, _ := q.Get(); k != "a" {
		t.Fatalf("got %q, want a", k)
	}
	q.Done("a")
	clock.Step(3 * time.Hour)
	if q.Len() != 0 {
		t.Fatalf("key came out twice: Len = %d", q.Len())
	}
	if n := clock.Timers(); n != 0 {
		t.Fatalf("%d timers left waiting, want 0", n)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want time.Duration
	}{
		{"first", 0, 5 * time.Millisecond},
		{"second", 1, 10 * time.Millisecond},
		{"tenth", 9, 5 * time.Millisecond << 9},
		{"capped", 30, 1000 * time.Second},
		{"huge n does not overflow", 1000, 1000 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(DefaultBaseDelay, DefaultMaxDelay, tc.n); got != tc.want {
				t.Fatalf("backoff(%d) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
}

func TestAddRateLimited(t *testing.T) {
	clock := NewManualClock(epoch)
	q := New(clock)
	defer q.ShutDown()
	for i, wait := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		q.AddRateLimited("k")
		if got := q.NumRequeues("k"); got != i+1 {
			t.Fatalf("NumRequeues = %d, want %d", got, i+1)
		}
		clock.Step(wait - time.Microsecond)
		if q.Len() != 0 {
			t.Fatalf("try %d: key came out before its back-off of %v", i, wait)
		}
		clock.Step(time.Microsecond)
		k, _ := q.Get()
		q.Done(k)
	}
	q.Forget("k")
	if got := q.NumRequeues("k"); got != 0 {
		t.Fatalf("NumRequeues after Forget = %d", got)
	}
	q.AddRateLimited("k")
	clock.Step(5 * time.Millisecond)
	if k, _ := q.Get(); k != "k" {
		t.Fatalf("after Forget the back-off did not restart at 5ms")
	}
}

func TestAddAfterShutDownIgnored(t *testing.T) {
	clock := NewManualClock(epoch)
	q := New(clock)
	q.AddAfter("a", time.Second)
	q.ShutDown()
	q.AddAfter("b", time.Second)
	clock.Step(time.Hour)
	if _, shut := q.Get(); !shut {
		t.Fatal("want shutdown: delayed keys are discarded by ShutDown")
	}
}

// TestHammer runs producers and workers concurrently (run it with -race): no key is ever
// processed by two workers at once, and every key's last Add is followed by a processing that
// saw it.
func TestHammer(t *testing.T) {
	const (
		keys      = 64
		workers   = 8
		producers = 4
		adds      = 5000
	)
	q := NewWithBackoff(RealClock{}, time.Microsecond, 50*time.Microsecond)
	var added, seen [keys]atomic.Int64
	var busy [keys]atomic.Int32
	var violations atomic.Int64

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k, shut := q.Get()
				if shut {
					return
				}
				var i int
				fmt.Sscanf(k, "k%d", &i)
				if busy[i].Add(1) != 1 {
					violations.Add(1)
				}
				seen[i].Store(added[i].Load())
				busy[i].Add(-1)
				if rand.IntN(4) == 0 {
					q.AddRateLimited(k)
				} else {
					q.Forget(k)
				}
				q.Done(k)
			}
		})
	}
	var pwg sync.WaitGroup
	for range producers {
		pwg.Go(func() {
			for range adds {
				i := rand.IntN(keys)
				added[i].Add(1)
				k := fmt.Sprintf("k%d", i)
				switch rand.IntN(3) {
				case 0:
					q.AddAfter(k, time.Duration(rand.IntN(100))*time.Microsecond)
				default:
					q.Add(k)
				}
			}
		})
	}
	pwg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		caughtUp := true
		for i := range keys {
			if seen[i].Load() != added[i].Load() {
				caughtUp = false
			}
		}
		if caughtUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("workers did not process every key after its last Add")
		}
		time.Sleep(time.Millisecond) // polling for the workers, not a timing assertion
	}
	q.ShutDown()
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d times a key was processed by two workers at once", v)
	}
}

func BenchmarkAddGetDone(b *testing.B) {
	q := New(RealClock{})
	defer q.ShutDown()
	var workers atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine adds its own keys, so no Add is lost to de-duplication and every Get
		// is matched by an Add.
		w := workers.Add(1)
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprintf("ns/w%d-obj-%d", w, i)
		}
		i := 0
		for pb.Next() {
			q.Add(keys[i%len(keys)])
			k, _ := q.Get()
			q.Done(k)
			i++
		}
	})
}
