package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

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

// objectDecoder decodes the object of one event from dec, which is positioned at it.
type objectDecoder[T any] func(dec *jsontext.Decoder) (T, error)

// startWatch opens the stream and starts the goroutine that decodes it; what is the resource
// name used in errors and decode turns an event's object, as raw JSON, into a T.
func startWatch[T any](ctx context.Context, c *Client, req Request, what string,
	decode func(json.RawMessage) (T, error)) (*Watcher[T], error) {
	return openWatch(ctx, c, req, what, rawObjects(decode), false)
}

// rawObjects adapts a decode of an object's raw JSON to an objectDecoder.
func rawObjects[T any](decode func(json.RawMessage) (T, error)) objectDecoder[T] {
	return func(dec *jsontext.Decoder) (T, error) {
		raw, err := dec.ReadValue()
		if err != nil {
			var zero T
			return zero, err
		}
		return decode(bytes.Clone(raw)) // raw is only valid until the next read
	}
}

// startStreamWatch is startWatch with a decode that reads each event's object straight from
// the stream into a new T, as the API server decodes its stored objects (Resource[T].Watch).
// Through an in-process client, a watch of the API server's own Go type takes the watch
// cache's objects instead of their JSON: the same values, shared read-only.
func startStreamWatch[T any](ctx context.Context, c *Client, req Request, what string,
	decode objectDecoder[T]) (*Watcher[T], error) {
	return openWatch(ctx, c, req, what, decode, true)
}

// openWatch opens the stream and starts the goroutine that reads it. shared says that decode
// makes a new T from its JSON as the API server decodes it, so that an in-process client may
// hand over the server's object instead when it is a T.
func openWatch[T any](ctx context.Context, c *Client, req Request, what string,
	decode objectDecoder[T], shared bool) (*Watcher[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	sctx := ctx
	if shared && c.cfg.Handler != nil && reflect.TypeFor[T]().Kind() != reflect.Interface {
		sctx = context.WithValue(ctx, objectWatchKey{}, isType[T])
	}
	body, _, err := c.Stream(sctx, req)
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

// isType reports whether v is a T.
func isType[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

func (w *Watcher[T]) run(ctx context.Context, body io.ReadCloser, what string, decode objectDecoder[T]) {
	defer close(w.done)
	defer close(w.events)
	defer body.Close()
	if pb, ok := body.(*pipeBody); ok {
		if events, broke, ok := pb.watchObjects(); ok {
			w.runObjects(ctx, events, broke, what)
			return
		}
	}
	dec := api.NewStreamDecoder(body)
	for {
		ev, err := readEvent(dec, decode)
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return
			}
			w.send(ctx, Event[T]{Type: api.Error, Err: fmt.Errorf("watch %s: %w", what, err)})
			return
		}
		if !w.send(ctx, ev) {
			return
		}
	}
}

// readEvent reads the next event of a watch stream: a JSON object with the members "type" and
// "object" (matched as encoding/json matches names; others are skipped), one after another
// with any whitespace between them. When the type comes first, as every Kubernetes server
// writes it, the object is decoded straight from the stream, scanned once; otherwise it is
// kept until the type is known. An ERROR event's object is a Status, set as Err. A repeated
// member counts with its last value, as in encoding/json; only an object decoded before the
// type changed to ERROR, and not repeated after, is lost, which breaks the stream. The error
// is io.EOF only when the stream ended cleanly between two events.
func readEvent[T any](dec *jsontext.Decoder, decode objectDecoder[T]) (Event[T], error) {
	var ev Event[T]
	tok, err := dec.ReadToken()
	if errors.Is(err, io.EOF) {
		return ev, io.EOF
	} else if err != nil {
		return ev, fmt.Errorf("read stream: %w", err)
	}
	if tok.Kind() != '{' {
		return ev, fmt.Errorf("read stream: an event is a JSON object, not %s", tok.Kind())
	}
	var (
		kept          jsontext.Value // the object, when its type was not known yet
		seen, decoded bool           // an object was seen; it was decoded from the stream
		objErr        error          // why the decoded object did not decode
		lost          bool           // a decoded object turned out to be an ERROR's Status
	)
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return ev, readError(err)
		}
		switch memberName(name) {
		case "type":
			if err := api.UnmarshalDecode(dec, &ev.Type); err != nil {
				return ev, fmt.Errorf("read stream: event type: %w", unexpectedEOF(err))
			}
			if decoded && ev.Type == api.Error {
				var zero T
				ev.Object, decoded, lost = zero, false, true
			}
		case "object":
			seen = true
			if ev.Type == "" || ev.Type == api.Error {
				v, err := dec.ReadValue()
				if err != nil {
					return ev, readError(err)
				}
				kept, decoded, lost = bytes.Clone(v), false, false
				continue
			}
			before := dec.InputOffset()
			obj, err := decode(dec)
			if err != nil && (dec.InputOffset() == before || dec.StackDepth() != 1) {
				// Not a value of the wrong shape, read whole, but a broken stream.
				return ev, fmt.Errorf("decode %s event: %w", ev.Type, unexpectedEOF(err))
			}
			ev.Object, objErr, kept, decoded, lost = obj, err, nil, true, false
		default:
			if err := dec.SkipValue(); err != nil {
				return ev, readError(err)
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil { // the closing '}'
		return ev, readError(err)
	}
	switch {
	case lost:
		return ev, errors.New("read stream: an ERROR type after the object of the event it was decoded for")
	case ev.Type == api.Error:
		var zero T
		ev.Object, ev.Err = zero, watchStatusError(json.RawMessage(kept))
	case decoded && objErr != nil:
		return ev, fmt.Errorf("decode %s event: %w", ev.Type, objErr)
	case !decoded:
		if !seen {
			return ev, fmt.Errorf("decode %s event: the event has no object", ev.Type)
		}
		if ev.Object, err = decode(api.NewStreamDecoder(bytes.NewReader(kept))); err != nil {
			return ev, fmt.Errorf("decode %s event: %w", ev.Type, err)
		}
	}
	return ev, nil
}

// memberName returns the quoted object member name as "type" or "object" when it is one of
// them without regard to case (as encoding/json matches names), else as it is.
func memberName(quoted jsontext.Value) string {
	switch string(quoted) {
	case `"type"`:
		return "type"
	case `"object"`:
		return "object"
	}
	name, err := jsontext.AppendUnquote(nil, quoted)
	if err != nil {
		return ""
	}
	for _, known := range []string{"type", "object"} {
		if strings.EqualFold(string(name), known) {
			return known
		}
	}
	return string(name)
}

// readError is a failed read inside an event.
func readError(err error) error { return fmt.Errorf("read stream: %w", unexpectedEOF(err)) }

// unexpectedEOF turns io.EOF, the stream ending inside an event, into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// runObjects is run for an in-process watch whose events come as objects: what readEvent
// would have decoded from their JSON.
func (w *Watcher[T]) runObjects(ctx context.Context, events <-chan objectEvent, broke func() error, what string) {
	for {
		var oe objectEvent
		var ok bool
		select {
		case oe, ok = <-events:
		case <-ctx.Done():
			return
		}
		if !ok {
			if err := broke(); err != nil && ctx.Err() == nil {
				w.send(ctx, Event[T]{Type: api.Error, Err: fmt.Errorf("watch %s: read stream: %w", what, err)})
			}
			return
		}
		ev := Event[T]{Type: oe.typ}
		if oe.typ == api.Error {
			st, _ := oe.obj.(*api.Status)
			ev.Err = statusError(st, func() string { return fmt.Sprintf("%T", oe.obj) })
		} else if ev.Object, ok = oe.obj.(T); !ok {
			w.send(ctx, Event[T]{Type: api.Error, Err: fmt.Errorf("watch %s: decode %s event: got a %T", what, oe.typ, oe.obj)})
			return
		}
		if !w.send(ctx, ev) {
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
	if err := json.Unmarshal(raw, &st); err != nil {
		return statusError(nil, func() string { return truncate(raw, 200) })
	}
	return statusError(&st, func() string { return truncate(raw, 200) })
}

// statusError is the error of an ERROR event carrying st (nil if it carried none); what
// describes the event's object for the error of one without a Status.
func statusError(in *api.Status, what func() string) *api.StatusError {
	if in == nil || (in.Code == 0 && in.Reason == "") {
		return api.InternalError(fmt.Errorf("watch ERROR event without a Status: %s", what()))
	}
	st := *in
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
