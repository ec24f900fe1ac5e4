package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/store"
)

// The watch cache keeps, per resource, ONE etcd watch feeding the current state of every
// object and a ring of the most recent events. HTTP watchers read the ring through their
// own cursor: the cache never waits for a watcher, a watcher that falls a whole ring behind
// is ended (the client resumes or relists), and a hundred watchers cost one etcd watch.

// cachedObject is one stored version of an object, decoded (and defaulted, as Kubernetes
// defaults what it reads from storage) on first use and then shared: callers must not modify
// what object returns. In-process watchers (objectSink) share it too, for as long as they
// hold it: every informer of wk server's own components keeps these very objects.
type cachedObject struct {
	r     *resource
	key   string
	value []byte // stored JSON, without resourceVersion
	rev   int64  // its resourceVersion (for a deletion: the revision of the delete)

	once    sync.Once
	obj     api.Object
	err     error
	decoded atomic.Bool // set once obj and err are
}

// object returns the decoded, defaulted object, with its resourceVersion. It must not be
// modified. Defaulting changes nothing in what this server wrote (it defaults before
// storing); it completes objects stored before a field gained a default, as updateObject
// needs them.
func (o *cachedObject) object() (api.Object, error) {
	o.once.Do(func() {
		if o.obj, o.err = decodeStored(o.r, o.value, o.rev); o.err == nil {
			api.Default(o.obj)
		}
		o.decoded.Store(true)
	})
	return o.obj, o.err
}

// objectIfDecoded returns what object returns if someone has already decoded it, else
// ok false: a caller that would decode only for itself does not make the cache hold the
// decoded object.
func (o *cachedObject) objectIfDecoded() (obj api.Object, ok bool) {
	if !o.decoded.Load() || o.err != nil {
		return nil, false
	}
	return o.obj, true
}

// cacheEvent is one change in the ring.
type cacheEvent struct {
	typ  string        // api.Added, api.Modified, api.Deleted
	obj  *cachedObject // the new state; for Deleted, the last state at the delete's revision
	prev *cachedObject // the state before, for Modified and Deleted

	once sync.Once
	line []byte // the JSON watch event line of typ, built once for every watcher
}

func (e *cacheEvent) rev() int64 { return e.obj.rev }

// encoded returns the event as a JSON watch line, shared by every watcher that sends it
// with its own type.
func (e *cacheEvent) encoded() []byte {
	e.once.Do(func() { e.line = appendEventLine(nil, e.typ, e.obj) })
	return e.line
}

var (
	// errTooSlow ends a watcher that fell a whole ring behind.
	errTooSlow = errors.New("watcher fell behind the watch cache")
	// errResync ends the watchers of a cache that lost its etcd watch and listed again.
	errResync = errors.New("watch cache restarted")
	// errCacheStopped ends watchers when the server stops.
	errCacheStopped = errors.New("watch cache stopped")
)

type watchCache struct {
	s    *Server
	r    *resource
	size int

	mu      sync.RWMutex
	state   map[string]*cachedObject
	ring    []*cacheEvent // ring[seq % size]
	first   uint64        // seq of the oldest event held
	next    uint64        // seq of the next event
	low     int64         // a watch from any revision >= low can be served
	rev     int64         // the newest revision the cache has seen
	epoch   uint64        // incremented on every (re)list
	notify  chan struct{} // closed and replaced when anything changes
	stopped bool
	watcher *store.Watcher // the etcd watch being followed

	cancel context.CancelFunc
	done   chan struct{}
}

func newWatchCache(s *Server, r *resource, size int) *watchCache {
	return &watchCache{
		s:      s,
		r:      r,
		size:   size,
		state:  map[string]*cachedObject{},
		ring:   make([]*cacheEvent, size),
		notify: make(chan struct{}),
	}
}

// prefix is the store prefix of every object of the resource.
func (c *watchCache) prefix() string { return store.Prefix(c.r.Resource, "") }

// start lists the resource and starts following it. It returns once the cache holds the
// listed state.
func (c *watchCache) start(ctx context.Context) error {
	w, err := c.list(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(c.s.base)
	c.cancel = cancel
	c.done = make(chan struct{})
	go c.run(cctx, w)
	return nil
}

// list fills the state from etcd and returns the watch that follows it.
func (c *watchCache) list(ctx context.Context) (*store.Watcher, error) {
	state := map[string]*cachedObject{}
	var rev int64
	opts := store.ListOptions{Limit: 1000}
	for {
		res, err := c.s.store.List(ctx, c.prefix(), opts)
		if err != nil {
			return nil, fmt.Errorf("fill the watch cache of %s: %w", c.r.Resource, err)
		}
		for _, kv := range res.Items {
			state[kv.Key] = &cachedObject{r: c.r, key: kv.Key, value: kv.Value, rev: kv.Revision}
		}
		rev = res.Revision
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	w := c.s.store.Watch(c.s.base, c.prefix(), rev)
	c.mu.Lock()
	c.state = state
	c.rev, c.low = rev, rev
	c.first = c.next
	for i := range c.ring {
		c.ring[i] = nil
	}
	c.epoch++
	c.watcher = w
	c.wake()
	c.mu.Unlock()
	return w, nil
}

// wake tells waiting watchers that something changed. Callers hold mu.
func (c *watchCache) wake() {
	close(c.notify)
	c.notify = make(chan struct{})
}

// run applies the etcd watch's events until the cache stops, listing again when the watch
// breaks.
func (c *watchCache) run(ctx context.Context, w *store.Watcher) {
	defer close(c.done)
	backoff := 100 * time.Millisecond
	for {
		err := c.follow(ctx, w)
		w.Stop()
		if ctx.Err() != nil {
			return
		}
		c.s.log.Warn("apiserver: watch cache lost its etcd watch; listing again", "resource", c.r.Resource, "err", err)
		for {
			var lerr error
			if w, lerr = c.list(ctx); lerr == nil {
				backoff = 100 * time.Millisecond
				break
			}
			c.s.log.Warn("apiserver: refill watch cache", "resource", c.r.Resource, "err", lerr)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}
}

// follow applies w's events until it ends, and returns why.
func (c *watchCache) follow(ctx context.Context, w *store.Watcher) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return errors.New("etcd watch closed")
			}
			switch ev.Type {
			case store.Error:
				return ev.Err
			case store.Bookmark:
				c.mu.Lock()
				if ev.KV.Revision > c.rev {
					c.rev = ev.KV.Revision
				}
				c.mu.Unlock()
			default:
				c.apply(ev)
			}
		}
	}
}

// apply records one etcd event in the state and the ring.
func (c *watchCache) apply(ev store.Event) {
	o := &cachedObject{r: c.r, key: ev.KV.Key, value: ev.KV.Value, rev: ev.KV.Revision}
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.state[o.key]
	e := &cacheEvent{obj: o, prev: prev}
	switch {
	case ev.Type == store.Deleted:
		e.typ = api.Deleted
		delete(c.state, o.key)
	case prev == nil:
		e.typ = api.Added
		c.state[o.key] = o
	default:
		e.typ = api.Modified
		c.state[o.key] = o
	}
	if c.next-c.first == uint64(c.size) {
		// The oldest event leaves: watches from before it can no longer be served.
		c.low = c.ring[c.first%uint64(c.size)].rev()
		c.ring[c.first%uint64(c.size)] = nil
		c.first++
	}
	c.ring[c.next%uint64(c.size)] = e
	c.next++
	if o.rev > c.rev {
		c.rev = o.rev
	}
	c.wake()
}

// stop ends the cache's etcd watch and every watcher, and waits.
func (c *watchCache) stop() {
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		c.wake()
	}
	c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
}

// get returns the cached current version of key, or nil.
func (c *watchCache) get(key string) *cachedObject {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.state[key]
}

// snapshot returns the cached objects under prefix in key order, and the cache's revision.
// ok is false when the cache has not yet seen revision minRev: the caller reads etcd.
func (c *watchCache) snapshot(prefix string, minRev int64) (objs []*cachedObject, rev int64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.rev < minRev || c.epoch == 0 {
		return nil, c.rev, false
	}
	for k, o := range c.state {
		if strings.HasPrefix(k, prefix) {
			objs = append(objs, o)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	return objs, c.rev, true
}

// cursor is a watcher's position in the ring.
type cursor struct {
	c       *watchCache
	epoch   uint64
	seq     uint64
	fromRev int64 // events at or before it are skipped
}

// tooOld is the 410 for a watch from before what the cache holds.
func tooOld(rev, oldest int64) error {
	return api.Gone(fmt.Sprintf("too old resource version: %d (%d)", rev, oldest))
}

// watchFrom returns a cursor delivering the events after revision rev; a revision older
// than the ring holds is a 410.
func (c *watchCache) watchFrom(rev int64) (*cursor, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.stopped {
		return nil, errCacheStopped
	}
	if rev < c.low {
		return nil, tooOld(rev, c.low+1)
	}
	// The first event after rev: revisions grow along the ring.
	n := int(c.next - c.first)
	i := sort.Search(n, func(i int) bool { return c.ring[(c.first+uint64(i))%uint64(c.size)].rev() > rev })
	return &cursor{c: c, epoch: c.epoch, seq: c.first + uint64(i), fromRev: rev}, nil
}

// watchSnapshot returns the current objects under prefix and a cursor delivering every
// change after them, atomically (a watch from resourceVersion "0").
func (c *watchCache) watchSnapshot(prefix string) ([]*cachedObject, *cursor, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.stopped {
		return nil, nil, errCacheStopped
	}
	var objs []*cachedObject
	for k, o := range c.state {
		if strings.HasPrefix(k, prefix) {
			objs = append(objs, o)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	return objs, &cursor{c: c, epoch: c.epoch, seq: c.next, fromRev: c.rev}, nil
}

// maxBatch bounds the events one read hands out, so a watcher far behind writes in steps.
const maxBatch = 256

// read returns the events after the cursor (at most maxBatch), the cache's revision and a
// channel closed when more may be available. It fails when the watcher fell a whole ring
// behind, the cache restarted, or it stopped.
func (cur *cursor) read(buf []*cacheEvent) ([]*cacheEvent, int64, <-chan struct{}, error) {
	c := cur.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	switch {
	case c.stopped:
		return buf, c.rev, nil, errCacheStopped
	case c.epoch != cur.epoch:
		return buf, c.rev, nil, errResync
	case cur.seq < c.first:
		return buf, c.rev, nil, errTooSlow
	}
	for ; cur.seq < c.next && len(buf) < maxBatch; cur.seq++ {
		e := c.ring[cur.seq%uint64(c.size)]
		if e.rev() > cur.fromRev {
			buf = append(buf, e)
		}
	}
	return buf, c.rev, c.notify, nil
}
