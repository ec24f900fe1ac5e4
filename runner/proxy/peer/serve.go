package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
)

// headerTimeout bounds reading a request's header from its stream.
const headerTimeout = 10 * time.Second

// maxHeaderBytes bounds a request's header, as net/http's server does by default.
const maxHeaderBytes = http.DefaultMaxHeaderBytes + bufSize

// bufSize is the size of the per-stream read and write buffers, and of the response prefix held
// back to compute a Content-Length.
const bufSize = 4 << 10

// serveStream reads the one request of st, serves it and ends the stream. It runs in its own
// goroutine, started by acceptStreams and awaited by Close.
//
// net/http's server could do this over a net.Conn per stream, but it takes a stream's FIN for a
// client that went away, and costs four goroutine hand-offs per request where this costs one.
func (s *Server) serveStream(sc *serverConn, st *quic.Stream) {
	defer s.handlers.Done()
	lr := &limitedReader{r: st, n: maxHeaderBytes}
	br := s.readers.Get().(*bufio.Reader)
	br.Reset(lr)
	defer func() {
		br.Reset(nil)
		s.readers.Put(br)
	}()
	st.SetReadDeadline(time.Now().Add(headerTimeout))
	req, err := http.ReadRequest(br)
	if err != nil {
		s.log.Debug("peer request unreadable", "peer", sc.conn.RemoteAddr(), "err", err)
		st.CancelRead(codeCanceled)
		st.CancelWrite(codeCanceled)
		return
	}
	st.SetReadDeadline(time.Time{})
	lr.n = math.MaxInt64 // the body is the handler's to limit

	ctx, cancel := context.WithCancel(st.Context()) // ends with the stream or the connection
	defer cancel()
	req = req.WithContext(ctx)
	req.RemoteAddr = sc.remote
	req.TLS = sc.tls

	bw := s.writers.Get().(*bufio.Writer)
	bw.Reset(st)
	w := &responseWriter{st: st, bw: bw, req: req, header: http.Header{}, contentLength: -1}
	defer func() {
		bw.Reset(nil)
		s.writers.Put(bw)
	}()

	if !s.handle(w, req) {
		st.CancelRead(codeCanceled)
		st.CancelWrite(codeCanceled)
		return
	}
	if err := w.finish(); err != nil {
		s.log.Debug("peer response cut short", "peer", sc.conn.RemoteAddr(), "err", err)
		st.CancelWrite(codeCanceled)
	}
	// The client sent its FIN with the request: take it in if the handler read the whole body,
	// else tell the client to stop sending.
	if !finRead(st, br) {
		st.CancelRead(codeNoError)
	}
}

// handle calls the Handler for req. A handler that panics is reported as net/http's server
// reports it (except http.ErrAbortHandler, which is silent), and handle returns false: the
// response must be aborted, not completed.
func (s *Server) handle(w *responseWriter, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			if v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				s.log.Error("peer handler panicked", "peer", req.RemoteAddr, "url", req.URL.String(),
					"panic", v, "stack", string(buf))
			}
		}
	}()
	t, err := parseTarget(req.Header.Get(TargetHeader))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return true
	}
	req.Header.Del(TargetHeader)
	s.handler(t, w, req)
	return true
}

// finRead reports whether st's FIN was there to read after everything buffered in br, without
// waiting for it.
func finRead(st *quic.Stream, br *bufio.Reader) bool {
	if br.Buffered() > 0 {
		return false
	}
	st.SetReadDeadline(time.Now())
	var b [1]byte
	for range 2 { // the first Read may only take the FIN in
		_, err := st.Read(b[:])
		if err == io.EOF {
			return true
		}
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			return false
		}
	}
	return false
}

// limitedReader reads from r until n bytes were read, then fails.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var errHeaderTooLarge = errors.New("request header too large")

// responseWriter writes an HTTP/1.1 response on a stream, as net/http's server would: the header
// goes with the first bytes of the body; a body the handler finishes within bufSize bytes without
// flushing gets a Content-Length, any other one is chunked; trailers are sent when declared.
type responseWriter struct {
	st     *quic.Stream
	bw     *bufio.Writer
	req    *http.Request
	header http.Header

	status        int   // 0 until WriteHeader
	headerSent    bool  // the status line and header are in bw
	chunked       bool  // the body is chunked
	contentLength int64 // declared by the handler, -1 if not
	written       int64 // body bytes accepted
	pending       []byte
	err           error // the first write error; later writes fail with it
}

var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
)

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 {
		return // superfluous, as net/http ignores it
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if code == http.StatusContinue {
			return // the client does not wait for it
		}
		w.writeInformational(code)
		return
	}
	w.status = code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			w.header.Del("Content-Length")
		}
	}
}

// writeInformational sends a 1xx response with the header as it is now (103 Early Hints).
func (w *responseWriter) writeInformational(code int) {
	if w.err != nil {
		return
	}
	fmt.Fprintf(w.bw, "HTTP/1.1 %03d %s\r\n", code, http.StatusText(code))
	w.header.Write(w.bw)
	w.bw.WriteString("\r\n")
	w.err = w.bw.Flush()
}

// bodyAllowed reports whether the response may have a body.
func (w *responseWriter) bodyAllowed() bool {
	return w.req.Method != http.MethodHead && w.status != http.StatusNoContent &&
		w.status != http.StatusNotModified && (w.status < 100 || w.status >= 200)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.bodyAllowed() {
		if w.req.Method == http.MethodHead {
			w.written += int64(len(p)) // as net/http: a HEAD handler may write what GET would
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.headerSent {
		if len(w.pending)+len(p) <= bufSize {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		if err := w.sendHeader(false); err != nil {
			return 0, err
		}
	}
	return len(p), w.writeBody(p)
}

// sendHeader writes the status line and header into bw, then the pending body. final means the
// handler returned, so the pending body is the whole body.
func (w *responseWriter) sendHeader(final bool) error {
	w.headerSent = true
	h := w.header
	if _, ok := h["Content-Type"]; !ok && len(w.pending) > 0 && h.Get("Content-Encoding") == "" {
		h.Set("Content-Type", http.DetectContentType(w.pending))
	}
	switch {
	case !w.bodyAllowed():
		if w.req.Method == http.MethodHead && final && w.contentLength < 0 && w.written > 0 {
			h.Set("Content-Length", strconv.FormatInt(w.written, 10))
		}
	case w.contentLength >= 0:
	case final && !w.hasTrailers():
		w.contentLength = int64(len(w.pending))
		h.Set("Content-Length", strconv.Itoa(len(w.pending)))
	default:
		w.chunked = true
		h.Del("Content-Length")
		h.Set("Transfer-Encoding", "chunked")
	}
	fmt.Fprintf(w.bw, "HTTP/1.1 %03d %s\r\n", w.status, http.StatusText(w.status))
	if err := h.WriteSubset(w.bw, trailerPrefixed(h)); err != nil {
		w.err = err
		return err
	}
	w.bw.WriteString("\r\n")
	pending := w.pending
	w.pending = nil
	if !w.bodyAllowed() {
		return nil
	}
	return w.writeBody(pending)
}

// writeBody writes p as the body goes: chunked or not.
func (w *responseWriter) writeBody(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if w.chunked {
		w.bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		w.bw.WriteString("\r\n")
	}
	_, err := w.bw.Write(p)
	if w.chunked && err == nil {
		_, err = w.bw.WriteString("\r\n")
	}
	if err != nil {
		w.err = err
	}
	return err
}

// Flush sends the header and what was written of the body.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError is Flush, reporting whether the bytes could be written (http.ResponseController).
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if !w.headerSent {
		if err := w.sendHeader(false); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
	}
	return w.err
}

// EnableFullDuplex is a no-op: a handler may always read the body while it writes the response.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// SetReadDeadline sets the deadline for reading the request body (http.ResponseController).
func (w *responseWriter) SetReadDeadline(t time.Time) error { return w.st.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for writing the response (http.ResponseController).
func (w *responseWriter) SetWriteDeadline(t time.Time) error { return w.st.SetWriteDeadline(t) }

// finish completes the response after the handler returned and ends the stream (FIN) with its
// last bytes.
func (w *responseWriter) finish() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if !w.headerSent {
		if err := w.sendHeader(true); err != nil {
			return err
		}
	}
	if w.chunked {
		w.bw.WriteString("0\r\n")
		for _, k := range w.declaredTrailers() {
			for _, v := range w.header.Values(k) {
				fmt.Fprintf(w.bw, "%s: %s\r\n", k, v)
			}
		}
		for k, vv := range w.header {
			if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				for _, v := range vv {
					fmt.Fprintf(w.bw, "%s: %s\r\n", name, v)
				}
			}
		}
		w.bw.WriteString("\r\n")
	} else if w.bodyAllowed() && w.contentLength >= 0 && w.written < w.contentLength {
		w.err = fmt.Errorf("handler wrote %d bytes of the %d declared", w.written, w.contentLength)
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	return w.st.Close()
}

// declaredTrailers returns the trailer names the handler announced in the Trailer header.
func (w *responseWriter) declaredTrailers() []string {
	var names []string
	for _, v := range w.header.Values("Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, http.CanonicalHeaderKey(name))
			}
		}
	}
	return names
}

// hasTrailers reports whether the response will carry trailers, which needs chunking.
func (w *responseWriter) hasTrailers() bool {
	return len(w.declaredTrailers()) > 0 || len(trailerPrefixed(w.header)) > 0
}

// trailerPrefixed returns the header keys that are trailers, not header fields.
func trailerPrefixed(h http.Header) map[string]bool {
	var m map[string]bool
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			if m == nil {
				m = map[string]bool{}
			}
			m[k] = true
		}
	}
	return m
}
