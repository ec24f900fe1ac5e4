package client

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// RecorderConfig configures a Recorder. The zero value of every field but Component is usable.
type RecorderConfig struct {
	// Component names the reporter (source.component and reportingComponent), such as
	// "deployment-controller" or "scheduler".
	Component string
	// Host is the reporter's node or host name (source.host and reportingInstance); may be empty.
	Host string
	// QueueSize bounds the events waiting to be written; more are dropped and counted. Default 1000.
	QueueSize int
	// CacheSize bounds how many distinct events are remembered for aggregation. Default 4096.
	CacheSize int
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

// Recorder writes core/v1 Events about objects, as Kubernetes' event recorder does. Eventf never
// blocks: events go through a bounded queue to one writer goroutine, and when the queue is full
// the event is dropped and counted. Repeats of the same (object, type, reason, message) are
// aggregated: the first creates an Event with count 1, later ones PATCH its count and
// lastTimestamp. A Recorder is safe for concurrent use.
type Recorder struct {
	c     *Client
	cfg   RecorderConfig
	kinds map[reflect.Type]api.TypeMeta
	queue chan pendingEvent

	dropped, written, failed atomic.Uint64

	startOnce, stopOnce sync.Once
	cancel              context.CancelFunc
	done                chan struct{}

	// cache is touched only by the writer goroutine.
	cache *eventCache
}

// maxMessage bounds an event message, as events.k8s.io does.
const maxMessage = 1024

type pendingEvent struct {
	ref       api.ObjectReference
	eventType string
	reason    string
	message   string
	at        time.Time
}

// NewRecorder returns a recorder writing through c; call Start to begin writing.
func NewRecorder(c *Client, cfg RecorderConfig) *Recorder {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	kinds := map[reflect.Type]api.TypeMeta{}
	for _, ri := range api.Resources() {
		kinds[reflect.TypeOf(ri.New())] = api.TypeMeta{Kind: ri.Kind, APIVersion: ri.GroupVersion()}
	}
	return &Recorder{
		c:     c,
		cfg:   cfg,
		kinds: kinds,
		queue: make(chan pendingEvent, cfg.QueueSize),
		done:  make(chan struct{}),
		cache: newEventCache(cfg.CacheSize),
	}
}

// Eventf records an event of eventType (api.EventNormal or api.EventWarning) about obj. It
// copies what it needs from obj before returning, never blocks, and drops the event (counting
// it in Dropped) when the queue is full or the recorder is stopped.
func (r *Recorder) Eventf(obj api.Object, eventType, reason, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	ev := pendingEvent{ref: r.reference(obj), eventType: eventType, reason: reason, message: msg, at: r.cfg.Now()}
	select {
	case <-r.done:
		r.dropped.Add(1)
		return
	default:
	}
	select {
	case r.queue <- ev:
	default:
		r.dropped.Add(1)
	}
}

// Dropped is how many events were dropped because the queue was full or the recorder stopped.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Written is how many events were created or aggregated into existing ones.
func (r *Recorder) Written() uint64 { return r.written.Load() }

// Failed is how many events could not be written after retries.
func (r *Recorder) Failed() uint64 { return r.failed.Load() }

// Start starts the writer goroutine; it runs until ctx ends or Stop is called. Calls after the
// first do nothing.
func (r *Recorder) Start(ctx context.Context) {
	r.startOnce.Do(func() {
		ctx, r.cancel = context.WithCancel(ctx)
		go r.run(ctx)
	})
}

// Stop stops the writer and waits for it; events still queued are dropped. A recorder that
// was never started is simply marked stopped.
func (r *Recorder) Stop() {
	started := true
	r.startOnce.Do(func() { started = false })
	r.stopOnce.Do(func() {
		if !started {
			close(r.done)
			return
		}
		r.cancel()
	})
	<-r.done
}

func (r *Recorder) run(ctx context.Context) {
	defer close(r.done)
	for {
		select {
		case ev := <-r.queue:
			if err := r.write(ctx, ev); err != nil && ctx.Err() == nil {
				r.failed.Add(1)
			}
		case <-ctx.Done():
			return
		}
	}
}

func (r *Recorder) reference(obj api.Object) api.ObjectReference {
	m := obj.GetObjectMeta()
	tm := *obj.GetTypeMeta()
	if tm.Kind == "" || tm.APIVersion == "" {
		if k, ok := r.kinds[reflect.TypeOf(obj)]; ok {
			tm = k
		} else if tm.Kind == "" {
			t := reflect.TypeOf(obj)
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			tm.Kind = t.Name()
		}
	}
	return api.ObjectReference{
		Kind: tm.Kind, APIVersion: tm.APIVersion,
		Namespace: m.Namespace, Name: m.Name, UID: m.UID, ResourceVersion: m.ResourceVersion,
	}
}

// eventKey identifies events that aggregate: same object, type, reason, message and source.
type eventKey struct {
	kind, apiVersion, namespace, name, uid string
	eventType, reason, message             string
}

func keyOf(ev pendingEvent) eventKey {
	return eventKey{ev.ref.Kind, ev.ref.APIVersion, ev.ref.Namespace, ev.ref.Name, ev.ref.UID,
		ev.eventType, ev.reason, ev.message}
}

// written is what the recorder remembers about an Event it wrote.
type writtenEvent struct {
	namespace, name string
	count           int32
}

// write creates or aggregates one event, retrying transient failures a few times.
func (r *Recorder) write(ctx context.Context, ev pendingEvent) error {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err = r.writeOnce(ctx, ev); err == nil {
			r.written.Add(1)
			return nil
		}
		if c := api.CodeOf(err); c >= 400 && c < 500 && c != 429 {
			return err // the request itself is wrong; retrying will not help
		}
	}
	return err
}

func (r *Recorder) writeOnce(ctx context.Context, ev pendingEvent) error {
	key := keyOf(ev)
	events := Events(r.c)
	if prev, ok := r.cache.get(key); ok {
		patch, err := json.Marshal(map[string]any{
			"count":         prev.count + 1,
			"lastTimestamp": api.NewTime(ev.at),
			"message":       ev.message,
		})
		if err != nil {
			return fmt.Errorf("record event %s: %w", prev.name, err)
		}
		_, err = events.Namespace(prev.namespace).Patch(ctx, prev.name, MergePatch, patch)
		if err == nil {
			r.cache.put(key, writtenEvent{prev.namespace, prev.name, prev.count + 1})
			return nil
		}
		if !api.IsNotFound(err) {
			return fmt.Errorf("record event: %w", err)
		}
		r.cache.remove(key) // the Event expired or was deleted: start a new one
	}
	ns := ev.ref.Namespace
	if ns == "" {
		ns = api.NamespaceDefault // cluster-scoped objects' events live in default, as in Kubernetes
	}
	t := api.NewTime(ev.at)
	e := &api.Event{
		ObjectMeta: api.ObjectMeta{
			Name:      ev.ref.Name + "." + strconv.FormatInt(ev.at.UnixNano(), 16),
			Namespace: ns,
		},
		InvolvedObject:      ev.ref,
		Reason:              ev.reason,
		Message:             ev.message,
		Source:              api.EventSource{Component: r.cfg.Component, Host: r.cfg.Host},
		FirstTimestamp:      t,
		LastTimestamp:       t,
		Count:               1,
		Type:                ev.eventType,
		ReportingController: r.cfg.Component,
		ReportingInstance:   r.cfg.Host,
	}
	created, err := events.Namespace(ns).Create(ctx, e)
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	r.cache.put(key, writtenEvent{created.Namespace, created.Name, 1})
	return nil
}

// eventCache is a size-bounded LRU of written events; not safe for concurrent use.
type eventCache struct {
	max   int
	order *list.List // front = most recent; values are *cacheEntry
	items map[eventKey]*list.Element
}

type cacheEntry struct {
	key eventKey
	val writtenEvent
}

func newEventCache(max int) *eventCache {
	return &eventCache{max: max, order: list.New(), items: map[eventKey]*list.Element{}}
}

func (c *eventCache) get(k eventKey) (writtenEvent, bool) {
	el, ok := c.items[k]
	if !ok {
		return writtenEvent{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).val, true
}

func (c *eventCache) put(k eventKey, v writtenEvent) {
	if el, ok := c.items[k]; ok {
		el.Value.(*cacheEntry).val = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry{k, v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

func (c *eventCache) remove(k eventKey) {
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}
