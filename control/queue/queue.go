// Package queue owns the work queue controllers run on: a queue of string keys ("ns/name") with
// client-go workqueue semantics. A key is never handed to two workers at once; a key added while
// it is being processed is queued again when its worker calls Done; a key added many times
// before a worker takes it is processed once. Keys can be added after a delay or after a per-key
// exponential back-off. Time comes from a Clock, so tests drive it by hand.
//
// It does not know what keys mean, retry on its own, or limit the overall rate of work.
package queue

import (
	"container/heap"
	"sync"
	"time"
)

// Default back-off of AddRateLimited: 5ms doubling up to 1000s, as client-go's controllers use.
const (
	DefaultBaseDelay = 5 * time.Millisecond
	DefaultMaxDelay  = 1000 * time.Second
)

// Queue is a rate-limited work queue of keys. It is safe for concurrent use. Its one internal
// goroutine (which moves delayed keys into the queue) exits on ShutDown.
type Queue struct {
	clock           Clock
	base, maxDelay  time.Duration
	mu              sync.Mutex
	cond            *sync.Cond
	queue           []string
	dirty           map[string]struct{}
	processing      map[string]struct{}
	failures        map[string]int
	waiting         waitHeap
	waitingByKey    map[string]*waitItem
	timer           Timer
	shuttingDown    bool
	rearm, stop     chan struct{}
	delayLoopExited chan struct{}
}

// New returns a queue using clock with the default back-off (5ms..1000s).
func New(clock Clock) *Queue { return NewWithBackoff(clock, DefaultBaseDelay, DefaultMaxDelay) }

// NewWithBackoff returns a queue whose AddRateLimited waits base * 2^failures, at most maxDelay.
// A nil clock means RealClock.
func NewWithBackoff(clock Clock, base, maxDelay time.Duration) *Queue {
	if clock == nil {
		clock = RealClock{}
	}
	q := &Queue{
		clock:           clock,
		base:            base,
		maxDelay:        maxDelay,
		dirty:           map[string]struct{}{},
		processing:      map[string]struct{}{},
		failures:        map[string]int{},
		waitingByKey:    map[string]*waitItem{},
		rearm:           make(chan struct{}, 1),
		stop:            make(chan struct{}),
		delayLoopExited: make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	go q.delayLoop()
	return q
}

// Add queues key unless it is already queued; a key being processed is queued again when Done
// is called for it. Add after ShutDown does nothing.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.shuttingDown {
		return
	}
	if _, ok := q.dirty[key]; ok {
		return
	}
	q.dirty[key] = struct{}{}
	if _, ok := q.processing[key]; ok {
		return
	}
	q.queue = append(q.queue, key)
	q.cond.Signal()
}

// Get blocks until a key is available and hands it to the caller, who must call Done(key) when
// finished with it. It returns shutdown true (and no key) once ShutDown was called and the queue
// is empty.
func (q *Queue) Get() (key string, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shuttingDown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		return "", true
	}
	key = q.queue[0]
	q.queue[0] = ""
	q.queue = q.queue[1:]
	q.processing[key] = struct{}{}
	delete(q.dirty, key)
	return key, false
}

// Done marks key as processed; if it was added meanwhile, it is queued again.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if _, ok := q.dirty[key]; ok {
		q.queue = append(q.queue, key)
		q.cond.Signal()
	}
}

// Len returns how many keys are queued (not counting those being processed or waiting).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown makes Get return shutdown once the queue is drained, ignores later adds, and stops
// the delay goroutine, waiting for it. Keys still waiting for their delay are discarded.
// ShutDown may be called more than once.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	if !q.shuttingDown {
		q.shuttingDown = true
		close(q.stop)
		q.cond.Broadcast()
	}
	q.mu.Unlock()
	<-q.delayLoopExited
}

// ShuttingDown reports whether ShutDown was called.
func (q *Queue) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// AddAfter adds key once d has passed on the queue's clock; d <= 0 adds it now. If key is
// already waiting, the earlier of the two times wins.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	at := q.clock.Now().Add(d)
	if it, ok := q.waitingByKey[key]; ok {
		if !at.Before(it.at) {
			return
		}
		it.at = at
		heap.Fix(&q.waiting, it.index)
	} else {
		it := &waitItem{key: key, at: at}
		heap.Push(&q.waiting, it)
		q.waitingByKey[key] = it
	}
	if q.waiting[0].key == key {
		q.armLocked()
	}
}

// AddRateLimited adds key after its back-off: base * 2^n where n counts the calls since the
// last Forget(key), capped at the maximum delay.
func (q *Queue) AddRateLimited(key string) {
	q.mu.Lock()
	n := q.failures[key]
	q.failures[key] = n + 1
	q.mu.Unlock()
	q.AddAfter(key, backoff(q.base, q.maxDelay, n))
}

// Forget clears key's back-off; call it when the key was processed successfully.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// NumRequeues returns how many times key was rate-limited since its last Forget.
func (q *Queue) NumRequeues(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[key]
}

// backoff is base * 2^n, capped at maxDelay without overflowing.
func backoff(base, maxDelay time.Duration, n int) time.Duration {
	d := base
	for range n {
		if d >= maxDelay/2 {
			return maxDelay
		}
		d *= 2
	}
	if d > maxDelay {
		return maxDelay
	}
	return d
}

// armLocked replaces the timer with one for the earliest waiting key. Reading the clock and
// making the timer happen under q.mu, before any caller can observe the change, so a test that
// steps a ManualClock after AddAfter returns always fires the right timer.
func (q *Queue) armLocked() {
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	if len(q.waiting) > 0 {
		q.timer = q.clock.NewTimer(q.waiting[0].at.Sub(q.clock.Now()))
	}
	select {
	case q.rearm <- struct{}{}:
	default:
	}
}

// releaseLocked moves every waiting key whose time has come into the queue.
func (q *Queue) releaseLocked() {
	now := q.clock.Now()
	for len(q.waiting) > 0 && !q.waiting[0].at.After(now) {
		it := heap.Pop(&q.waiting).(*waitItem)
		delete(q.waitingByKey, it.key)
		q.addLocked(it.key)
	}
}

// delayLoop waits on the current timer and releases due keys; it exits on ShutDown.
func (q *Queue) delayLoop() {
	defer close(q.delayLoopExited)
	for {
		q.mu.Lock()
		t := q.timer
		q.mu.Unlock()
		var fire <-chan time.Time
		if t != nil {
			fire = t.C()
		}
		select {
		case <-q.stop:
			q.mu.Lock()
			if q.timer != nil {
				q.timer.Stop()
			}
			q.mu.Unlock()
			return
		case <-q.rearm:
		case <-fire:
			q.mu.Lock()
			if q.timer == t {
				q.timer = nil
			}
			q.releaseLocked()
			if q.timer == nil {
				q.armLocked()
			}
			q.mu.Unlock()
		}
	}
}

type waitItem struct {
	key   string
	at    time.Time
	index int
}

// waitHeap orders waiting keys by time.
type waitHeap []*waitItem

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *waitHeap) Push(x any) {
	it := x.(*waitItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *waitHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
