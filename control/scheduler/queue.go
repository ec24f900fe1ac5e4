package scheduler

import (
	"container/heap"
	"time"
)

// pending is a pod waiting to be scheduled.
type pending struct {
	key      string
	priority int32
	created  time.Time
	seq      uint64
	index    int
}

// activeQueue orders pending pods by priority (higher first), then age (older first), then
// arrival, as kube-scheduler's active queue does. It is not safe for concurrent use.
type activeQueue struct {
	items []*pending
	byKey map[string]*pending
	seq   uint64
}

func newActiveQueue() *activeQueue { return &activeQueue{byKey: map[string]*pending{}} }

func (q *activeQueue) Len() int { return len(q.items) }
func (q *activeQueue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	return a.seq < b.seq
}
func (q *activeQueue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.items[i].index, q.items[j].index = i, j
}
func (q *activeQueue) Push(x any) {
	p := x.(*pending)
	p.index = len(q.items)
	q.items = append(q.items, p)
}
func (q *activeQueue) Pop() any {
	n := len(q.items)
	p := q.items[n-1]
	q.items = q.items[:n-1]
	return p
}

// add queues key once; re-adding an already queued key keeps its place.
func (q *activeQueue) add(key string, priority int32, created time.Time) {
	if _, ok := q.byKey[key]; ok {
		return
	}
	q.seq++
	p := &pending{key: key, priority: priority, created: created, seq: q.seq}
	q.byKey[key] = p
	heap.Push(q, p)
}

// pop removes and returns the first key, or "" when empty.
func (q *activeQueue) pop() string {
	if len(q.items) == 0 {
		return ""
	}
	p := heap.Pop(q).(*pending)
	delete(q.byKey, p.key)
	return p.key
}

// remove drops key if queued.
func (q *activeQueue) remove(key string) {
	if p, ok := q.byKey[key]; ok {
		heap.Remove(q, p.index)
		delete(q.byKey, key)
	}
}
