package controller

import (
	"sync"
	"time"
)

// DefaultExpectationsTTL is how long unmet expectations hold a controller back before it
// assumes a watch event was lost, as in Kubernetes (5 minutes).
const DefaultExpectationsTTL = 5 * time.Minute

// Expectations remembers, per controller key, the creations and deletions a controller has
// asked for and not yet seen in its informers, so that a second reconcile before the watch
// catches up does not create or delete again (Kubernetes' ControllerExpectations with UID
// tracking for deletions). It is safe for concurrent use. Time is passed in.
type Expectations struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*expectation
}

type expectation struct {
	adds    int
	deletes map[string]bool
	at      time.Time
}

// NewExpectations returns an empty tracker whose records expire after ttl.
func NewExpectations(ttl time.Duration) *Expectations {
	return &Expectations{ttl: ttl, m: map[string]*expectation{}}
}

// Satisfied reports whether key may act on its snapshot: nothing is pending, or what is
// pending has waited longer than the TTL.
func (e *Expectations) Satisfied(key string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok || (x.adds <= 0 && len(x.deletes) == 0) {
		return true
	}
	return now.Sub(x.at) > e.ttl
}

// Expect replaces key's record: creates pods are about to be created and the pods named in
// deletes (namespace/name) about to be deleted.
func (e *Expectations) Expect(key string, creates int, deletes []string, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{adds: creates, deletes: make(map[string]bool, len(deletes)), at: now}
	for _, d := range deletes {
		x.deletes[d] = true
	}
	e.m[key] = x
}

// CreationObserved lowers key's pending creations by one: a created object was seen, or a
// create failed and will never be seen.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved drops obj (namespace/name) from key's pending deletions: its deletion was
// seen, or the delete failed.
func (e *Expectations) DeletionObserved(key, obj string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, obj)
	}
}

// Forget drops key's record, when the controller object itself is gone.
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}

// Pending returns key's outstanding creations and deletions, for tests and logs.
func (e *Expectations) Pending(key string) (creates, deletes int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		return x.adds, len(x.deletes)
	}
	return 0, 0
}
