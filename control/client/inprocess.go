package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// An in-process client (Config.Handler set) hands each request to the API server's handler in
// the same process instead of sending it over TLS: the control plane's own controllers and
// scheduler save the encryption, the syscalls and the HTTP/2 framing of every request. The
// handler sees what it would see from a token client over HTTP/2: the same method, path,
// query, headers (Authorization, User-Agent, Accept, Content-Type) and body, with Proto
// HTTP/2.0 and RemoteAddr inProcessRemoteAddr; r.TLS is nil, as nothing is encrypted (the API
// server authenticates by bearer token only).
//
// Each request's handler runs in its own goroutine writing into an io.Pipe, so a stream
// (a watch, followed logs, a blob) is read as it is written and the answer is returned as
// soon as the handler writes its header. The handler's request context ends when the
// caller's context does, when the caller closes the body, or when the handler returns;
// closing the body waits for the handler to return.
//
// A watch whose events the caller would decode into the API server's own Go type (a
// Resource[T] watch) takes them as objects instead of JSON: its request context carries the
// watcher's type check (objectWatchKey, private to this package, so only a Watcher sets it and
// only this transport reads it), and the ResponseWriter offers TakeWatchObjects and
// WriteWatchObject, which the API server's watch uses instead of writing JSON. The objects are
// the API server's cached ones, shared read-only with it and every other watcher.

// inProcessRemoteAddr is the RemoteAddr an in-process request carries: a loopback address
// with port 0, as no socket exists.
const inProcessRemoteAddr = "127.0.0.1:0"

// errBodyClosed is what a handler's write returns after the client closed the answer.
var errBodyClosed = errors.New("client closed the in-process response body")

// newInProcess builds the client of New for a Config with a Handler. Server, if set, names
// the server in URLs and errors; it defaults to http://in-process.
func newInProcess(cfg *Config) (*Client, error) {
	server := cfg.Server
	if server == "" {
		server = "http://in-process"
	}
	base, err := parseServer(server)
	if err != nil {
		return nil, err
	}
	return newClient(cfg, base, &inProcessTransport{h: cfg.Handler}), nil
}

// inProcessTransport is an http.RoundTripper that serves requests with an http.Handler.
type inProcessTransport struct {
	h http.Handler
}

// RoundTrip runs the handler on a server-side copy of req and returns once the handler has
// written its header (or returned), with the body still being written.
func (t *inProcessTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	sreq.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.Host = req.Host
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/2.0", 2, 0
	sreq.RemoteAddr = inProcessRemoteAddr
	sreq.Close = false
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}

	pr, pw := io.Pipe()
	w := &pipeWriter{
		header: http.Header{},
		pw:     pw,
		head:   req.Method == http.MethodHead,
		ready:  make(chan struct{}),
		proto:  sreq.Proto,
		req:    req,
		ctx:    ctx,
	}
	w.accepts, _ = req.Context().Value(objectWatchKey{}).(func(sample any) bool)
	done := make(chan struct{})
	// Cancellation (by the caller, or by closing the body) fails the handler's blocked and
	// later writes and ends the body with the context's error.
	stopAfter := context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })
	go func() {
		defer close(done)
		defer cancel()    // the request context ends when the handler returns, as in net/http
		defer stopAfter() // before cancel: a finished answer is not cut
		defer sreq.Body.Close()
		defer func() {
			if v := recover(); v != nil {
				w.abort(fmt.Errorf("%s %s: in-process handler panicked: %v", req.Method, req.URL.Path, v))
				return
			}
			w.finish()
		}()
		t.h.ServeHTTP(w, sreq)
	}()

	// ctx also ends when the handler returns, so only the caller's context means "give up";
	// a caller that gave up gets its context's error even if the header came at the same time.
	select {
	case <-w.ready:
	case <-req.Context().Done():
	}
	if err := req.Context().Err(); err != nil {
		cancel()
		pw.CloseWithError(err)
		<-done
		return nil, err
	}
	if w.err != nil {
		<-done
		return nil, w.err
	}
	// Every answer's body owns the handler's goroutine, even one that may carry no bytes.
	resp := w.resp
	resp.Body = &pipeBody{pr: pr, ctx: ctx, cancel: cancel, done: done, objects: w.objects, w: w}
	return resp, nil
}

// pipeWriter is the http.ResponseWriter (and http.Flusher) of an in-process request. Only the
// handler's goroutine calls its methods, as with any ResponseWriter.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	head   bool // a HEAD request: the body is not sent
	proto  string
	req    *http.Request

	committed bool
	bodyOK    bool
	ready     chan struct{} // closed once resp or err is set
	resp      *http.Response
	err       error

	deadline time.Time
	timer    *time.Timer

	ctx     context.Context       // the handler's request context
	accepts func(sample any) bool // the watcher's type check, if the caller is a Watcher
	objects chan objectEvent      // set by TakeWatchObjects; closed when the handler returns
	objErr  error                 // why the object stream broke, set before objects is closed
	otimer  *time.Timer           // bounds a WriteWatchObject by the write deadline
}

// objectWatchKey is the request context key under which a Watcher offers to take events as
// objects: its value is a func(sample any) bool saying whether objects like sample are of the
// watcher's type.
type objectWatchKey struct{}

// objectEvent is one watch event handed over as an object: a shared, read-only object of the
// watcher's type, or for api.Error a *api.Status.
type objectEvent struct {
	typ string
	obj any
}

// errObjectStream is a handler's Write after it chose to send a watch's events as objects.
var errObjectStream = errors.New("in-process watch: bytes written to a stream of objects")

var (
	_ http.ResponseWriter = (*pipeWriter)(nil)
	_ http.Flusher        = (*pipeWriter)(nil)
)

// TakeWatchObjects reports whether the caller takes this watch's events as objects like sample
// (a new object of the resource), and if so switches the answer to objects: every event must
// then go to WriteWatchObject, none to Write. It is false for any caller but a Watcher of
// sample's type, and once the header is written; asking again after true is true.
func (w *pipeWriter) TakeWatchObjects(sample any) bool {
	if w.objects != nil {
		return true
	}
	if w.committed || w.accepts == nil || w.head || !w.accepts(sample) {
		return false
	}
	w.objects = make(chan objectEvent)
	return true
}

// WriteWatchObject hands one event to the Watcher: typ with obj, which the Watcher and its
// readers share and must not modify (for api.Error, obj is a *api.Status). It blocks until the
// Watcher took it, the write deadline passes, or the request ends, as Write does.
func (w *pipeWriter) WriteWatchObject(typ string, obj any) error {
	if w.objects == nil {
		return errors.New("in-process watch: WriteWatchObject without TakeWatchObjects")
	}
	if !w.committed {
		w.commit(http.StatusOK, nil)
	}
	var expired <-chan time.Time
	if !w.deadline.IsZero() {
		d := time.Until(w.deadline)
		if d <= 0 {
			w.objErr = os.ErrDeadlineExceeded
			return os.ErrDeadlineExceeded
		}
		if w.otimer == nil {
			w.otimer = time.NewTimer(d)
		} else {
			w.otimer.Reset(d)
		}
		defer w.otimer.Stop()
		expired = w.otimer.C
	}
	select {
	case w.objects <- objectEvent{typ: typ, obj: obj}:
		return nil
	case <-w.ctx.Done():
		return context.Cause(w.ctx)
	case <-expired:
		w.objErr = os.ErrDeadlineExceeded
		return os.ErrDeadlineExceeded
	}
}

func (w *pipeWriter) Header() http.Header { return w.header }

// WriteHeader commits the status and a copy of the header; later calls are ignored, and 1xx
// codes other than 101 are not answers, as in net/http.
func (w *pipeWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.committed || (code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols) {
		return
	}
	w.commit(code, nil)
}

// commit builds the response from the status and header and releases RoundTrip. first is the
// first body write, from which a missing Content-Type is sniffed as net/http does.
func (w *pipeWriter) commit(code int, first []byte) {
	w.committed = true
	w.bodyOK = !w.head && code != http.StatusNoContent && code != http.StatusNotModified &&
		(code < 100 || code > 199)
	if _, ok := w.header["Content-Type"]; !ok && w.bodyOK && len(first) > 0 && w.header.Get("Transfer-Encoding") == "" {
		w.header.Set("Content-Type", http.DetectContentType(first))
	}
	w.resp = &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         w.proto,
		ProtoMajor:    2,
		Header:        w.header.Clone(),
		ContentLength: -1,
		Request:       w.req,
	}
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.resp.ContentLength = n
		}
	}
	if !w.bodyOK {
		w.resp.ContentLength = 0
	}
	close(w.ready)
}

// Write sends p to the client, blocking until the client has read it, the write deadline
// passes, or the request ends.
func (w *pipeWriter) Write(p []byte) (int, error) {
	if !w.committed {
		w.commit(http.StatusOK, p)
	}
	if !w.bodyOK {
		return 0, http.ErrBodyNotAllowed
	}
	if w.objects != nil {
		w.objErr = errObjectStream
		return 0, errObjectStream
	}
	if w.deadline.IsZero() {
		return w.pw.Write(p)
	}
	d := time.Until(w.deadline)
	if d <= 0 {
		w.pw.CloseWithError(os.ErrDeadlineExceeded)
		return 0, os.ErrDeadlineExceeded
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(d, func() { w.pw.CloseWithError(os.ErrDeadlineExceeded) })
	} else {
		w.timer.Reset(d)
	}
	n, err := w.pw.Write(p)
	w.timer.Stop()
	return n, err
}

// Flush commits the header; written data needs no flushing, as every Write hands its bytes to
// the reader.
func (w *pipeWriter) Flush() {
	if !w.committed {
		w.commit(http.StatusOK, nil)
	}
}

// SetWriteDeadline bounds the writes that follow, for http.ResponseController: a write still
// blocked at the deadline (a client that stopped reading) fails with os.ErrDeadlineExceeded
// and ends the body with that error, as a connection's deadline would. The zero time
// removes the bound.
func (w *pipeWriter) SetWriteDeadline(t time.Time) error {
	w.deadline = t
	return nil
}

// finish ends the answer after the handler returned: an implicit 200 if nothing was
// written, then end of body.
func (w *pipeWriter) finish() {
	if !w.committed {
		w.commit(http.StatusOK, nil)
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.objects != nil {
		close(w.objects)
	}
	w.pw.Close()
}

// abort ends the answer after the handler panicked: the caller gets err from RoundTrip if no
// header was written, otherwise from reading the body.
func (w *pipeWriter) abort(err error) {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.pw.CloseWithError(err)
	if w.objects != nil {
		w.objErr = err
		close(w.objects)
	}
	if !w.committed {
		w.committed = true
		w.err = err
		close(w.ready)
	}
}

// pipeBody is an in-process answer's body. Close cancels the handler's context if it still
// runs and waits for it to return.
type pipeBody struct {
	pr     *io.PipeReader
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	objects <-chan objectEvent // a watch's events as objects, or nil for bytes
	w       *pipeWriter        // for objErr, once objects is closed
}

// watchObjects returns the channel of a watch's events as objects, closed when the handler
// returned, and a func giving why the stream broke once it is closed (nil: it ended cleanly).
// ok is false when the answer is bytes.
func (b *pipeBody) watchObjects() (events <-chan objectEvent, broke func() error, ok bool) {
	if b.objects == nil {
		return nil, nil, false
	}
	return b.objects, func() error { return b.w.objErr }, true
}

func (b *pipeBody) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	if errors.Is(err, io.ErrClosedPipe) && b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	return n, err
}

func (b *pipeBody) Close() error {
	b.once.Do(func() {
		b.cancel()
		b.pr.CloseWithError(errBodyClosed)
	})
	<-b.done
	return nil
}
