package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
)

// Event is one change seen by a watch. Type is api.Added, api.Modified, api.Deleted or
// api.Bookmark with Object set, or api.Error with Err set: a *api.StatusError for an ERROR event
// from the server (api.IsGone holds for 410 Expired, meaning the watch must restart from a fresh
// list), or a wrapped transport or decoding error when the stream broke.
type Event[T any] struct {
	Type   string
	Object T
	Err    error
}

// Watcher is one running watch stream. Its events arrive in order on Events, which is closed
// when the stream ends for any reason: the server closed it, it broke (an api.Error event with
// the cause comes first), the watch's context was cancelled, or Stop was called.
type Watcher[T any] struct {
	events chan Event[T]
	cancel context.CancelFunc
	body   io.Closer
	done   chan struct{}
	once   sync.Once
}

// Events returns the channel events arrive on.
func (w *Watcher[T]) Events() <-chan Event[T] { return w.events }

// Stop ends the stream and waits for the watcher's goroutine to exit; the events channel is
// closed by then (events still buffered in it may be drained). Stop may be called many times
// and from any goroutine.
func (w *Watcher[T]) Stop() {
	w.once.Do(func() {
		w.cancel()
		w.body.Close()
	})
	<-w.done
}

// Done is closed once the stream has ended and the events channel is closed.
func (w *Watcher[T]) Done() <-chan struct{} { return w.done }

// watchBuffer is how many decoded events may wait for a slow reader.
const watchBuffer = 16

// startWatch opens the stream and starts the goroutine that decodes it; what is the resource
// name used in errors.
func startWatch[T any](ctx context.Context, c *Client, req Request, what string,
	decode func(json.RawMessage) (T, error)) (*Watcher[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	body, _, err := c.Stream(ctx, req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watch %s: %w", what, err)
	}
	w := &Watcher[T]{
		events: make(chan Event[T], watchBuffer),
		cancel: cancel,
		body:   body,
		done:   make(chan struct{}),
	}
	go w.run(ctx, body, what, decode)
	return w, nil
}

func (w *Watcher[T]) run(ctx context.Context, body io.ReadCloser, what string,
	decode func(json.RawMessage) (T, error)) {
	defer close(w.done)
	defer close(w.events)
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var ev api.WatchEvent
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return
			}
			w.send(ctx, Event[T]{Type: api.Error, Err: fmt.Errorf("watch %s: read stream: %w", what, err)})
			return
		}
		out := Event[T]{Type: ev.Type}
		switch ev.Type {
		case api.Error:
			out.Err = watchStatusError(ev.Object)
		default:
			obj, err := decode(ev.Object)
			if err != nil {
				w.send(ctx, Event[T]{Type: api.Error, Err: fmt.Errorf("watch %s: %w", what, err)})
				return
			}
			out.Object = obj
		}
		if !w.send(ctx, out) {
			return
		}
	}
}

func (w *Watcher[T]) send(ctx context.Context, ev Event[T]) bool {
	select {
	case w.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchStatusError decodes the Status of an ERROR event.
func watchStatusError(raw json.RawMessage) *api.StatusError {
	var st api.Status
	if err := json.Unmarshal(raw, &st); err != nil || (st.Code == 0 && st.Reason == "") {
		return api.InternalError(fmt.Errorf("watch ERROR event without a Status: %s", truncate(raw, 200)))
	}
	if st.Status == "" {
		st.Status = api.StatusFailure
	}
	if st.Reason == "" {
		st.Reason = reasonForCode(int(st.Code))
	}
	return &api.StatusError{Status: st}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
