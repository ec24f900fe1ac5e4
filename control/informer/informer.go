// Package informer owns the local caches that controllers, the scheduler and runners read
// instead of the API: an Informer keeps every object of one resource (optionally filtered by
// selectors) in memory, in sync by list + watch, and tells handlers about every change.
//
// An Informer lists, then watches from the list's resourceVersion, resuming each new watch from
// the last revision it saw. When the server says that revision is gone (410 Expired) it lists
// again and emits the differences between the old and new cache as add, update and delete
// events, so handlers never miss a change, though they may see several changes folded into one.
// Broken streams and failed requests are retried with exponential back-off for as long as Run's
// context lives.
//
// Cached objects are shared: every object returned by the lister methods or passed to a handler
// is the cache's own copy and must not be mutated. Copy before changing (DeepCopy, or build a new
// object).
//
// It does not decide what to do about changes: handlers typically put keys on a queue.Queue.
package informer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
)

// ErrAlreadyRunning is returned by Run when the informer was already run.
var ErrAlreadyRunning = errors.New("informer is already running")

// NamespaceIndex is the index every Informer keeps: objects by metadata.namespace.
const NamespaceIndex = "namespace"

// IndexFunc returns the values under which obj is indexed (none, one or many).
type IndexFunc[T api.Object] func(obj T) []string

// Handler receives an informer's changes. Any of the funcs may be nil. All handlers of an
// informer are called from one goroutine, in the order the changes happened; a slow handler
// delays the others but never the watch. Objects passed in are shared and must not be mutated.
type Handler[T api.Object] struct {
	OnAdd    func(obj T)
	OnUpdate func(old, new T)
	OnDelete func(obj T)
}

// Informer is a cache of one resource kept in sync with the API. Its lister methods are safe
// for concurrent use; Run must be called once.
type Informer[T api.Object] struct {
	res      *client.Resource[T]
	opts     client.ListOptions
	indexers map[string]IndexFunc[T]

	mu      sync.RWMutex
	items   map[string]T
	indices map[string]map[string]map[string]struct{} // index name -> value -> keys
	lastRV  string
	// syncQueued is set once the first list's sync marker is queued.
	syncQueued bool

	nmu     sync.Mutex
	pending []notification[T]
	wake    chan struct{}
	// handlers is touched only by the dispatcher; it outlives one Run so that a re-run
	// informer keeps its handlers.
	handlers []*Handler[T]

	synced   chan struct{}
	running  atomic.Bool
	relists  atomic.Int64  // lists done, for tests
	watches  atomic.Int64  // watches opened, for tests
	minDelay time.Duration // first back-off step; tests shorten it
	maxDelay time.Duration
}

type op int

const (
	opAdd op = iota
	opUpdate
	opDelete
	opAddHandler
	opSynced
)

type notification[T api.Object] struct {
	op       op
	old, obj T
	handler  *Handler[T]
	items    []T
}

// New returns an informer of r's resource in r's namespace ("" = all) limited by opts' label and
// field selectors (opts' resourceVersion and continue are managed by the informer and ignored;
// a Limit pages the lists). indexers add indices served by ByIndex; NamespaceIndex is always
// kept.
func New[T api.Object](r *client.Resource[T], opts client.ListOptions, indexers map[string]IndexFunc[T]) *Informer[T] {
	idx := map[string]IndexFunc[T]{NamespaceIndex: ByNamespace[T]()}
	for name, f := range indexers {
		idx[name] = f
	}
	inf := &Informer[T]{
		res:      r,
		opts:     client.ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector, Limit: opts.Limit, TimeoutSeconds: opts.TimeoutSeconds},
		indexers: idx,
		items:    map[string]T{},
		indices:  map[string]map[string]map[string]struct{}{},
		wake:     make(chan struct{}, 1),
		synced:   make(chan struct{}),
		minDelay: 100 * time.Millisecond,
		maxDelay: 30 * time.Second,
	}
	for name := range idx {
		inf.indices[name] = map[string]map[string]struct{}{}
	}
	return inf
}

// AddHandler registers h. A handler added after objects are cached first gets OnAdd for each of
// them, then every later change, so it sees a consistent history. It may be called at any time.
func (i *Informer[T]) AddHandler(h Handler[T]) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	items := make([]T, 0, len(i.items))
	for _, k := range sortedKeys(i.items) {
		items = append(items, i.items[k])
	}
	i.push(notification[T]{op: opAddHandler, handler: &h, items: items})
}

// Run lists and watches until ctx ends, then returns nil. It may be called again after it
// returned: the cache is kept and the new run resumes watching from the last revision seen
// (listing again only if that revision is gone), so handlers see the changes made meanwhile.
// It returns ErrAlreadyRunning if another Run is in progress. Failures are retried with
// back-off, never returned.
func (i *Informer[T]) Run(ctx context.Context) error {
	if !i.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer i.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { i.dispatch(ctx) })
	defer wg.Wait()

	bo := backoff{min: i.minDelay, max: i.maxDelay}
	needList := i.LastResourceVersion() == ""
	for ctx.Err() == nil {
		if needList {
			if err := i.relist(ctx); err != nil {
				bo.wait(ctx)
				continue
			}
			bo.reset()
		}
		needList = i.watchUntilGone(ctx, &bo)
	}
	return nil
}

// WaitForSync blocks until the first list is cached and its events have been delivered to the
// handlers registered so far, or ctx ends; it reports which.
func (i *Informer[T]) WaitForSync(ctx context.Context) bool {
	select {
	case <-i.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

// HasSynced reports whether the first list has been cached and delivered.
func (i *Informer[T]) HasSynced() bool {
	select {
	case <-i.synced:
		return true
	default:
		return false
	}
}

// LastResourceVersion returns the revision the cache is at ("" before the first list).
func (i *Informer[T]) LastResourceVersion() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.lastRV
}

// relist lists the resource, replaces the cache and queues the differences as events.
func (i *Informer[T]) relist(ctx context.Context) error {
	opts := i.opts
	var items []T
	var rv string
	for {
		page, err := i.res.List(ctx, opts)
		if err != nil {
			return fmt.Errorf("informer list %s: %w", i.res.Info().Resource, err)
		}
		items = append(items, page.Items...)
		if rv == "" {
			rv = page.ResourceVersion
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	i.relists.Add(1)
	i.replace(items, rv)
	return nil
}

// watchUntilGone watches from the last revision, reconnecting after clean ends and (with
// back-off) after failures, until ctx ends (false) or the revision is gone and a relist is
// needed (true).
func (i *Informer[T]) watchUntilGone(ctx context.Context, bo *backoff) bool {
	for ctx.Err() == nil {
		opts := i.opts
		opts.Limit = 0
		opts.ResourceVersion = i.LastResourceVersion()
		opts.AllowWatchBookmarks = true
		if opts.TimeoutSeconds == 0 {
			// Spread reconnects of many informers, as client-go does.
			opts.TimeoutSeconds = 300 + rand.Int64N(300)
		}
		started := time.Now()
		w, err := i.res.Watch(ctx, opts)
		if err != nil {
			if api.IsGone(err) {
				return true
			}
			bo.wait(ctx)
			continue
		}
		i.watches.Add(1)
		gone, failed, got := i.consume(ctx, w, bo)
		w.Stop()
		if gone {
			return true
		}
		// A stream that broke, or that the server ended at once without a single event, is
		// retried after a back-off so a misbehaving server is not hammered; a stream that
		// simply timed out is resumed at once.
		if failed || (!got && time.Since(started) < time.Second) {
			bo.wait(ctx)
		}
	}
	return false
}

// consume applies a watch's events until it ends; it reports whether the revision is gone,
// whether the stream failed (as opposed to ending cleanly), and whether any event came.
func (i *Informer[T]) consume(ctx context.Context, w *client.Watcher[T], bo *backoff) (gone, failed, got bool) {
	for {
		select {
		case <-ctx.Done():
			return false, false, got
		case ev, ok := <-w.Events():
			if !ok {
				return false, false, got
			}
			if ev.Err != nil {
				return api.IsGone(ev.Err), true, got
			}
			got = true
			bo.reset()
			i.apply(ev.Type, ev.Object)
		}
	}
}

// apply folds one watch event into the cache and queues its notification.
func (i *Informer[T]) apply(typ string, obj T) {
	m := obj.GetObjectMeta()
	i.mu.Lock()
	defer i.mu.Unlock()
	if m.ResourceVersion != "" {
		i.lastRV = m.ResourceVersion
	}
	if typ == api.Bookmark {
		return
	}
	key := KeyOf(obj)
	old, exists := i.items[key]
	switch typ {
	case api.Added, api.Modified:
		if exists && old.GetObjectMeta().ResourceVersion == m.ResourceVersion {
			return // already seen (a watch resumed at the revision of the last list)
		}
		i.store(key, old, exists, obj)
		if exists {
			i.push(notification[T]{op: opUpdate, old: old, obj: obj})
		} else {
			i.push(notification[T]{op: opAdd, obj: obj})
		}
	case api.Deleted:
		if !exists {
			return
		}
		i.remove(key, old)
		i.push(notification[T]{op: opDelete, obj: obj})
	}
}

// replace swaps in a fresh list and queues what changed: adds, updates (a different
// resourceVersion) and deletes (with the last cached state), in key order.
func (i *Informer[T]) replace(items []T, rv string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	fresh := make(map[string]T, len(items))
	for _, obj := range items {
		fresh[KeyOf(obj)] = obj
	}
	for _, key := range sortedKeys(i.items) {
		if _, ok := fresh[key]; !ok {
			old := i.items[key]
			i.remove(key, old)
			i.push(notification[T]{op: opDelete, obj: old})
		}
	}
	for _, key := range sortedKeys(fresh) {
		obj := fresh[key]
		old, exists := i.items[key]
		if exists && old.GetObjectMeta().ResourceVersion == obj.GetObjectMeta().ResourceVersion {
			continue
		}
		i.store(key, old, exists, obj)
		if exists {
			i.push(notification[T]{op: opUpdate, old: old, obj: obj})
		} else {
			i.push(notification[T]{op: opAdd, obj: obj})
		}
	}
	i.lastRV = rv
	if !i.syncQueued {
		i.syncQueued = true
		i.push(notification[T]{op: opSynced})
	}
}

// store puts obj under key and re-indexes it; callers hold i.mu.
func (i *Informer[T]) store(key string, old T, exists bool, obj T) {
	if exists {
		i.unindex(key, old)
	}
	i.items[key] = obj
	for name, f := range i.indexers {
		idx := i.indices[name]
		for _, v := range f(obj) {
			set := idx[v]
			if set == nil {
				set = map[string]struct{}{}
				idx[v] = set
			}
			set[key] = struct{}{}
		}
	}
}

// remove drops key; callers hold i.mu.
func (i *Informer[T]) remove(key string, old T) {
	i.unindex(key, old)
	delete(i.items, key)
}

func (i *Informer[T]) unindex(key string, old T) {
	for name, f := range i.indexers {
		idx := i.indices[name]
		for _, v := range f(old) {
			if set := idx[v]; set != nil {
				delete(set, key)
				if len(set) == 0 {
					delete(idx, v)
				}
			}
		}
	}
}

// push queues a notification for the dispatcher; callers hold i.mu (read or write), which keeps
// notifications in the order of the cache changes.
func (i *Informer[T]) push(n notification[T]) {
	i.nmu.Lock()
	i.pending = append(i.pending, n)
	i.nmu.Unlock()
	select {
	case i.wake <- struct{}{}:
	default:
	}
}

// dispatch delivers notifications to the handlers, in order, until ctx ends.
func (i *Informer[T]) dispatch(ctx context.Context) {
	var batch []notification[T]
	for {
		select {
		case <-ctx.Done():
			return
		case <-i.wake:
		}
		i.nmu.Lock()
		batch, i.pending = i.pending, batch[:0]
		i.nmu.Unlock()
		for k, n := range batch {
			switch n.op {
			case opAddHandler:
				i.handlers = append(i.handlers, n.handler)
				if n.handler.OnAdd != nil {
					for _, obj := range n.items {
						n.handler.OnAdd(obj)
					}
				}
			case opSynced:
				close(i.synced)
			case opAdd:
				for _, h := range i.handlers {
					if h.OnAdd != nil {
						h.OnAdd(n.obj)
					}
				}
			case opUpdate:
				for _, h := range i.handlers {
					if h.OnUpdate != nil {
						h.OnUpdate(n.old, n.obj)
					}
				}
			case opDelete:
				for _, h := range i.handlers {
					if h.OnDelete != nil {
						h.OnDelete(n.obj)
					}
				}
			}
			batch[k] = notification[T]{} // let the objects go
		}
	}
}

// Get returns the cached object ns/name (ns "" for cluster-scoped objects).
func (i *Informer[T]) Get(ns, name string) (T, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	obj, ok := i.items[Key(ns, name)]
	return obj, ok
}

// List returns every cached object, in no particular order, in a new slice.
func (i *Informer[T]) List() []T {
	i.mu.RLock()
	defer i.mu.RUnlock()
	out := make([]T, 0, len(i.items))
	for _, obj := range i.items {
		out = append(out, obj)
	}
	return out
}

// Len returns how many objects are cached.
func (i *Informer[T]) Len() int {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return len(i.items)
}

// ByIndex returns the cached objects indexed under value by the named index; an unknown index
// returns nothing.
func (i *Informer[T]) ByIndex(index, value string) []T {
	i.mu.RLock()
	defer i.mu.RUnlock()
	set := i.indices[index][value]
	out := make([]T, 0, len(set))
	for key := range set {
		out = append(out, i.items[key])
	}
	return out
}

// ListSelector returns the cached objects whose labels match sel.
func (i *Informer[T]) ListSelector(sel labels.Selector) []T {
	i.mu.RLock()
	defer i.mu.RUnlock()
	var out []T
	for _, obj := range i.items {
		if sel.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
			out = append(out, obj)
		}
	}
	return out
}

// ListNamespace returns the cached objects of namespace ns whose labels match sel (nil matches
// everything).
func (i *Informer[T]) ListNamespace(ns string, sel labels.Selector) []T {
	i.mu.RLock()
	defer i.mu.RUnlock()
	var out []T
	for key := range i.indices[NamespaceIndex][ns] {
		obj := i.items[key]
		if sel == nil || sel.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
			out = append(out, obj)
		}
	}
	return out
}

// Key returns the cache key of ns/name: "ns/name", or "name" when ns is empty. Controllers use
// the same keys on their queues.
func Key(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// KeyOf returns the cache key of obj.
func KeyOf(obj api.Object) string {
	m := obj.GetObjectMeta()
	return Key(m.Namespace, m.Name)
}

// SplitKey splits a cache key into namespace and name.
func SplitKey(key string) (ns, name string) {
	if ns, name, ok := strings.Cut(key, "/"); ok {
		return ns, name
	}
	return "", key
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// backoff is exponential back-off with jitter, owned by one goroutine.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

// wait sleeps for the next step or until ctx ends.
func (b *backoff) wait(ctx context.Context) {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	d := b.cur/2 + rand.N(b.cur/2+1) // jitter: [cur/2, cur]
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
