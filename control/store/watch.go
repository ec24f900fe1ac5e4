package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EventType says what an Event reports.
type EventType int

// The types of Event. Their String values are Kubernetes' watch event types.
const (
	// Added: a key was created.
	Added EventType = iota + 1
	// Modified: an existing key was written.
	Modified
	// Deleted: a key was deleted.
	Deleted
	// Bookmark: every change up to KV.Revision has been delivered; only KV.Revision is set.
	Bookmark
	// Error: the watch ended with Err; it is the last event.
	Error
)

// String returns the Kubernetes name of t: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
func (t EventType) String() string {
	switch t {
	case Added:
		return "ADDED"
	case Modified:
		return "MODIFIED"
	case Deleted:
		return "DELETED"
	case Bookmark:
		return "BOOKMARK"
	case Error:
		return "ERROR"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one change seen by a Watcher.
type Event struct {
	Type EventType
	// KV is the key with its new value and the revision of the change. For Deleted, Value
	// is the value before the delete and Revision the revision of the delete.
	KV KV
	// PrevValue is the value before the change, for Modified and Deleted.
	PrevValue []byte
	// Err is set on the terminal Error event only: ErrCompacted when the start revision
	// was compacted, another error when the watch broke.
	Err error
}

// watchBuffer is how many events a Watcher holds for a slow consumer before it stops reading
// from etcd (whose client then buffers, without dropping either).
const watchBuffer = 128

// Watcher delivers the changes under a prefix in revision order. Stop it, or cancel the
// context it was made with, when done.
type Watcher struct {
	store  *Store
	out    chan Event
	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once
}

// ResultChan returns the channel of events. It is closed after Stop, after the watch
// context ends, or after the terminal Error event.
func (w *Watcher) ResultChan() <-chan Event { return w.out }

// Stop ends the watch and waits until its goroutine has exited; the result channel is then
// closed. Events not yet received may be lost. Stop is idempotent and safe to call from any
// goroutine.
func (w *Watcher) Stop() {
	w.stop.Do(w.cancel)
	<-w.done
}

// Watch returns a Watcher of the changes under prefix (which must end with "/") strictly
// after revision fromRev, so that a list at revision R followed by Watch(R) misses and
// repeats nothing. fromRev 0 means changes after the watch is set up. Idle watches get
// Bookmark events as often as etcd sends progress notifications, once the store's revision
// has passed fromRev (etcd sends none before: a watch from the latest revision of a store
// that nobody writes to gets none). If fromRev has been
// compacted, the only event is an Error with ErrCompacted. Events are never dropped: a
// consumer that does not read holds the watch back.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) *Watcher {
	wctx, cancel := context.WithCancel(ctx)
	w := &Watcher{store: s, out: make(chan Event, watchBuffer), cancel: cancel, done: make(chan struct{})}

	var err error
	switch {
	case checkPrefix("watch", prefix) != nil:
		err = checkPrefix("watch", prefix)
	case fromRev < 0:
		err = fmt.Errorf("watch %s: negative revision %d", prefix, fromRev)
	}
	s.mu.Lock()
	if s.closed {
		err = fmt.Errorf("watch %s: %w", prefix, ErrClosed)
	}
	if err == nil {
		s.watchers[w] = struct{}{}
	}
	s.mu.Unlock()
	if err != nil {
		w.out <- Event{Type: Error, Err: err}
		close(w.out)
		close(w.done)
		return w
	}

	ops := []clientv3.OpOption{
		clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)),
		clientv3.WithPrevKV(),
		clientv3.WithProgressNotify(),
	}
	if fromRev > 0 {
		ops = append(ops, clientv3.WithRev(fromRev+1))
	}
	// Require a leader, so that a member cut off from its cluster ends the watch instead
	// of going silent.
	wch := s.client.Watch(clientv3.WithRequireLeader(wctx), prefix, ops...)
	go w.run(wctx, wch, prefix)
	return w
}

// run forwards etcd's responses as Events until the watch ends.
func (w *Watcher) run(ctx context.Context, wch clientv3.WatchChan, prefix string) {
	defer close(w.done)
	defer close(w.out)
	defer func() {
		w.store.mu.Lock()
		delete(w.store.watchers, w)
		w.store.mu.Unlock()
	}()
	defer w.cancel() // releases etcd's watch when it ends on its own

	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-ctx.Done():
			return
		case resp, ok = <-wch:
		}
		if !ok {
			if ctx.Err() == nil {
				w.send(ctx, Event{Type: Error, Err: fmt.Errorf("watch %s: closed by etcd", prefix)})
			}
			return
		}
		if err := resp.Err(); err != nil {
			if ctx.Err() == nil {
				w.send(ctx, Event{Type: Error, Err: wrap("watch", prefix, err)})
			}
			return
		}
		if resp.IsProgressNotify() {
			if !w.send(ctx, Event{Type: Bookmark, KV: KV{Revision: resp.Header.Revision}}) {
				return
			}
			continue
		}
		for _, ev := range resp.Events {
			e, err := toEvent(ev)
			if err != nil {
				w.send(ctx, Event{Type: Error, Err: fmt.Errorf("watch %s: %w", prefix, err)})
				return
			}
			if !w.send(ctx, e) {
				return
			}
		}
	}
}

// send delivers e unless the watch ends first, and reports whether it did.
func (w *Watcher) send(ctx context.Context, e Event) bool {
	select {
	case w.out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

var errNoPrevKV = errors.New("delete event without the previous value")

func toEvent(ev *clientv3.Event) (Event, error) {
	e := Event{KV: toKV(ev.Kv)}
	if ev.PrevKv != nil {
		e.PrevValue = ev.PrevKv.Value
	}
	switch {
	case ev.Type == clientv3.EventTypeDelete:
		// etcd cannot always attach the previous value (it may be compacted by then); a
		// Deleted event without the object would be useless to the API, so the watch ends
		// and the client lists again.
		if ev.PrevKv == nil {
			return Event{}, fmt.Errorf("%s at revision %d: %w", ev.Kv.Key, ev.Kv.ModRevision, errNoPrevKV)
		}
		e.Type = Deleted
		e.KV.Value = ev.PrevKv.Value
	case ev.IsCreate():
		e.Type = Added
	default:
		e.Type = Modified
	}
	return e, nil
}
