//go:build wasip1

package guest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/wasmkube/wasmkube/wasm/internal/abi"
)

// An instance serves one request at a time, so the buffers of a request are reused for the next
// without locking: fewer allocations mean fewer garbage collections, which are slow in Wasm.
var (
	headScratch = make([]byte, 0, 2048)
	writer      = &responseWriter{header: make(http.Header), buf: make([]byte, 0, bodyBuffer)}
)

// handle is the export the host calls once per request. A panic in the handler is not recovered:
// it crashes the instance, the host answers 500 and replaces it, and the stack trace goes to the
// container's log.
//
//go:wasmexport wasmkube_handle_v1
func handle() {
	w := writer
	w.reset()
	r, err := readRequest()
	if err != nil {
		w.fail(err)
		return
	}
	h := registered()
	if h == nil {
		w.fail(errors.New("no handler registered: call guest.Handle in an init function"))
		return
	}
	h.ServeHTTP(w, r)
	w.finish()
}

// readRequest builds the *http.Request of the current call from the host's request head.
func readRequest() (*http.Request, error) {
	b, n := fetch(&headScratch, hostRequestHead)
	if n < 0 {
		return nil, fmt.Errorf("read request head: host error %d", n)
	}
	var head abi.RequestHead
	if err := head.Decode(b); err != nil {
		return nil, err
	}
	u, err := url.ParseRequestURI(head.URI)
	if err != nil {
		return nil, fmt.Errorf("read request head: %w", err)
	}
	major, minor, ok := http.ParseHTTPVersion(head.Proto)
	if !ok {
		major, minor = 1, 1
	}
	r := &http.Request{
		Method:        head.Method,
		URL:           u,
		Proto:         head.Proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        http.Header(head.Header),
		Host:          head.Host,
		RemoteAddr:    head.RemoteAddr,
		RequestURI:    head.URI,
		ContentLength: head.ContentLength,
		Body:          http.NoBody,
	}
	if head.ContentLength != 0 {
		r.Body = requestBody{}
	}
	return r, nil // its Context is context.Background()
}

// requestBody reads the current request's body from the host.
type requestBody struct{}

func (requestBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := hostRequestBodyRead(ptr(p), uint32(len(p)))
	switch {
	case n > 0:
		return int(n), nil
	case n == 0:
		return 0, io.EOF
	default:
		return 0, fmt.Errorf("guest: read request body: %s", lastError())
	}
}

func (requestBody) Close() error { return nil }

// bodyBuffer is how much of a response is held back before the head is sent: a response that
// fits is sent with a Content-Length, as net/http does.
const bodyBuffer = 4096

// responseWriter is the http.ResponseWriter handed to the guest's handler.
type responseWriter struct {
	header   http.Header
	status   int  // 0 until WriteHeader
	headSent bool // response_head called
	buf      []byte
	headBuf  []byte // the encoded head, reused
	err      error  // first failure talking to the host (the client went away)
}

var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
)

// reset readies the writer for the next request.
func (w *responseWriter) reset() {
	clear(w.header)
	w.status, w.headSent, w.err = 0, false, nil
	w.buf = w.buf[:0]
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 || w.headSent {
		fmt.Fprintf(os.Stderr, "guest: superfluous WriteHeader(%d)\n", code)
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("guest: invalid WriteHeader code %v", code))
	}
	if code < 200 {
		return // informational responses are not forwarded
	}
	w.status = code
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if len(w.buf)+len(p) <= bodyBuffer {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.flush(-1); err != nil {
		return 0, err
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush sends the head and any buffered body to the host.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = w.flush(-1)
}

// flush sends the head if it was not sent (with contentLength, -1 if unknown) and the buffer.
func (w *responseWriter) flush(contentLength int64) error {
	if !w.headSent {
		// The host sets Content-Length from the head and sniffs a missing Content-Type, as
		// net/http does: header work is cheaper there than in Wasm.
		w.headSent = true
		head := abi.ResponseHead{Status: w.status, ContentLength: contentLength, Header: abi.Header(w.header)}
		b := head.Append(w.headBuf[:0])
		w.headBuf = b
		if n := hostResponseHead(ptr(b), uint32(len(b))); n < 0 {
			w.err = fmt.Errorf("guest: write response head: %s", lastError())
			return w.err
		}
	}
	if len(w.buf) > 0 {
		err := w.writeBody(w.buf)
		w.buf = w.buf[:0]
		return err
	}
	return nil
}

func (w *responseWriter) writeBody(p []byte) error {
	for len(p) > 0 {
		n := hostResponseBodyWrite(ptr(p), uint32(len(p)))
		if n < 0 {
			w.err = fmt.Errorf("guest: write response body: %s", lastError())
			return w.err
		}
		p = p[n:]
	}
	return nil
}

// finish completes the response after the handler returned.
func (w *responseWriter) finish() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	length := int64(-1)
	if !w.headSent {
		length = int64(len(w.buf))
	}
	_ = w.flush(length)
}

// fail answers 500 with err's text when the request could not be handed to the handler.
func (w *responseWriter) fail(err error) {
	fmt.Fprintf(os.Stderr, "guest: %v\n", err)
	w.header.Set("Content-Type", "text/plain; charset=utf-8")
	w.status = http.StatusInternalServerError
	w.buf = append(w.buf, "guest: "+err.Error()+"\n"...)
	w.finish()
}
