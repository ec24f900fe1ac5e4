package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// ErrNotSent is wrapped (errors.Is) by RoundTrip's error when the request provably never reached
// the peer's handler: the dial or handshake failed, the peer refused the certificate, the
// connection was closed before the stream opened, or the peer shut down without serving the
// stream. The caller may send the request elsewhere even if it is not idempotent, provided it
// still has the body (RoundTrip may have read part of it).
var ErrNotSent = errors.New("request not sent to peer")

// errConnLost is wrapped when the connection died before the response arrived, and the peer may
// or may not have served the request.
var errConnLost = errors.New("connection to peer lost")

// ErrClientClosed is returned (with ErrNotSent) by RoundTrip after Close.
var ErrClientClosed = errors.New("peer client closed")

// ClientConfig configures NewClient.
type ClientConfig struct {
	// TLS is the client's TLS configuration, normally ClientTLS. Its NextProtos are replaced by
	// ALPN; an empty ServerName is set to the IP address dialled. Required.
	TLS *tls.Config
	// Logger receives what goes wrong in the background (slog.Default when nil).
	Logger *slog.Logger
	// DialTimeout bounds a dial including the handshake; zero means DefaultDialTimeout.
	DialTimeout time.Duration
}

// Client sends requests to peer proxies, over one QUIC connection per peer address shared by all
// requests to it. It is safe for concurrent use.
type Client struct {
	tls         *tls.Config
	log         *slog.Logger
	dialTimeout time.Duration
	quic        *quic.Config

	ctx      context.Context // canceled by Close: aborts dials
	cancel   context.CancelFunc
	watchers sync.WaitGroup // one per connection, reading the peer's goaway

	readers sync.Pool // *bufio.Reader of bufSize
	writers sync.Pool // *bufio.Writer of bufSize

	mu     sync.Mutex
	udp    *net.UDPConn    // created by the first dial
	tr     *quic.Transport // on udp
	peers  map[string]*peerConn
	live   map[*peerConn]struct{} // open connections, including draining ones no longer in peers
	closed bool
}

// peerConn is the connection to one peer address, or the dial that will make it.
type peerConn struct {
	addr  string
	ready chan struct{} // closed when the dial is over; then conn or err is set
	conn  *quic.Conn
	err   error

	inflight atomic.Int64 // requests using conn
	draining atomic.Bool  // the peer sent a goaway: close conn when inflight drops to 0
}

// release ends one request on pc, closing a draining connection after its last request.
func (pc *peerConn) release() {
	if pc.inflight.Add(-1) == 0 && pc.draining.Load() {
		pc.conn.CloseWithError(codeNoError, "drained")
	}
}

// NewClient returns a Client; it dials nothing until the first request.
func NewClient(cfg ClientConfig) *Client {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	var tc *tls.Config
	if cfg.TLS != nil {
		tc = withALPN(cfg.TLS)
	}
	c := &Client{
		tls:         tc,
		log:         log,
		dialTimeout: timeout,
		quic:        quicConfig(timeout),
		peers:       map[string]*peerConn{},
		live:        map[*peerConn]struct{}{},
	}
	c.quic.MaxIncomingUniStreams = 1 // the goaway
	c.readers.New = func() any { return bufio.NewReaderSize(nil, bufSize) }
	c.writers.New = func() any { return bufio.NewWriterSize(nil, bufSize) }
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// RoundTrip sends req to the peer proxy at addr (UDP host:port) for t and returns its response,
// whose body streams from the peer; the caller must close it. It is safe for concurrent use. req
// may be a server request as received (RequestURI set, URL without host): its Host, method, path,
// query, headers and body are sent as they are, without Expect (the body goes at once). req is not
// modified; its body is closed, as by an http.RoundTripper.
//
// Canceling req's context aborts the stream, also while the response body is being read. A
// request that fails on a connection that was already open, before any response, is retried once
// on a new connection if it provably was not served or is idempotent, and its body can be
// replayed (none, or unread, or GetBody set). The error wraps ErrNotSent when the request provably
// never reached the peer's handler.
func (c *Client) RoundTrip(addr string, t Target, req *http.Request) (*http.Response, error) {
	if err := t.validate(); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("peer %s: %w: %w", addr, ErrNotSent, err)
	}
	if c.tls == nil {
		closeBody(req)
		return nil, fmt.Errorf("peer %s: %w: client has no TLS configuration", addr, ErrNotSent)
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		pc, fresh, err := c.conn(ctx, addr)
		if err != nil {
			closeBody(req)
			return nil, fmt.Errorf("peer %s: %w: %w", addr, ErrNotSent, err)
		}
		resp, bodyUsed, err := c.send(pc, t, req)
		if err == nil {
			return resp, nil
		}
		// A connection that was open before this request may have died under it (the peer
		// restarted): resend once what provably was not served, or is safe to serve twice.
		retry := errors.Is(err, ErrNotSent) || errors.Is(err, errConnLost) && idempotent(req)
		if attempt == 0 && !fresh && retry && ctx.Err() == nil {
			if connClosing(err) {
				// Streams learn of the close just before the connection does: wait for it,
				// so the retry does not pick the dying connection again.
				select {
				case <-pc.conn.Context().Done():
				case <-ctx.Done():
				}
				c.drop(pc)
			}
			if next, ok := rewind(req, bodyUsed); ok {
				c.log.Debug("peer connection went away; resending on a new one", "peer", addr, "err", err)
				req = next
				continue
			}
		}
		if !bodyUsed {
			closeBody(req)
		}
		return nil, fmt.Errorf("peer %s: %w", addr, err)
	}
}

// Close closes every connection and makes later requests fail with ErrClientClosed. Requests in
// flight fail; their goroutines end as their streams die.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	peers := c.peers
	c.peers = nil
	tr, udp := c.tr, c.udp
	c.mu.Unlock()
	c.cancel()
	for _, pc := range peers {
		<-pc.ready // dials end promptly: c.ctx is canceled
	}
	c.mu.Lock()
	live := c.live
	c.live = nil
	c.mu.Unlock()
	for pc := range live {
		pc.conn.CloseWithError(codeNoError, "client closed")
	}
	if tr != nil {
		tr.Close()
	}
	c.watchers.Wait()
	if udp != nil {
		udp.Close()
	}
	return nil
}

// conn returns the connection to addr, dialling it unless another request already is. fresh
// reports that the connection was dialled for this request or concurrently with it.
func (c *Client) conn(ctx context.Context, addr string) (pc *peerConn, fresh bool, err error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, false, ErrClientClosed
		}
		pc = c.peers[addr]
		if pc == nil {
			pc = &peerConn{addr: addr, ready: make(chan struct{})}
			c.peers[addr] = pc
			c.mu.Unlock()
			c.dial(pc)
			return pc, true, pc.err
		}
		c.mu.Unlock()
		select {
		case <-pc.ready:
		default:
			fresh = true
			select {
			case <-pc.ready:
			case <-ctx.Done():
				return nil, false, fmt.Errorf("wait for dial: %w", ctx.Err())
			}
		}
		if pc.err != nil {
			return nil, fresh, pc.err
		}
		if pc.conn.Context().Err() == nil {
			return pc, fresh, nil
		}
		c.drop(pc) // dead; its AfterFunc may not have run yet
	}
}

// dial connects pc and publishes the result. The dial does not depend on the context of the
// request that started it, since others may wait for it; DialTimeout and Close bound it.
func (c *Client) dial(pc *peerConn) {
	defer close(pc.ready)
	conn, err := c.dialQUIC(pc.addr)
	if err == nil {
		c.mu.Lock()
		if c.closed {
			err = ErrClientClosed
		} else {
			c.live[pc] = struct{}{}
		}
		c.mu.Unlock()
		if err != nil {
			conn.CloseWithError(codeNoError, "client closed")
		}
	}
	if err != nil {
		pc.err = fmt.Errorf("dial: %w", err)
		c.drop(pc)
		return
	}
	pc.conn = conn
	context.AfterFunc(conn.Context(), func() {
		c.log.Debug("peer connection closed", "peer", pc.addr, "err", context.Cause(conn.Context()))
		c.drop(pc)
		c.mu.Lock()
		delete(c.live, pc)
		c.mu.Unlock()
	})
	c.watchers.Go(func() { c.watchGoaway(pc) })
}

// watchGoaway waits for the peer's goaway on pc: then later requests go to a new connection, and
// pc closes once the requests on it are answered. It returns when pc closes.
func (c *Client) watchGoaway(pc *peerConn) {
	for {
		st, err := pc.conn.AcceptUniStream(pc.conn.Context())
		if err != nil {
			return
		}
		msg, err := io.ReadAll(io.LimitReader(st, 128))
		last, ok := parseLastStream(string(msg))
		if err != nil || !ok || !strings.HasPrefix(string(msg), "goaway;") {
			c.log.Warn("peer sent a malformed goaway", "peer", pc.addr, "message", string(msg), "err", err)
			st.CancelRead(codeCanceled)
			continue
		}
		c.log.Debug("peer is going away", "peer", pc.addr, "last stream", last)
		c.drop(pc)
		pc.draining.Store(true)
		if pc.inflight.Load() == 0 {
			pc.conn.CloseWithError(codeNoError, "drained")
		}
	}
}

func (c *Client) dialQUIC(addr string) (*quic.Conn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	tr, err := c.transport()
	if err != nil {
		return nil, err
	}
	tc := c.tls
	if tc.ServerName == "" {
		tc = tc.Clone()
		tc.ServerName = ua.IP.String()
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.dialTimeout)
	defer cancel()
	return tr.Dial(ctx, ua, tc, c.quic)
}

// transport returns the client's QUIC transport, creating it and its UDP socket on first use.
func (c *Client) transport() (*quic.Transport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClientClosed
	}
	if c.tr == nil {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{})
		if err != nil {
			return nil, fmt.Errorf("open UDP socket: %w", err)
		}
		c.udp, c.tr = udp, &quic.Transport{Conn: udp}
	}
	return c.tr, nil
}

// drop forgets pc if it is still the connection to its address.
func (c *Client) drop(pc *peerConn) {
	c.mu.Lock()
	if c.peers[pc.addr] == pc {
		delete(c.peers, pc.addr)
	}
	c.mu.Unlock()
}

// send runs req on one new stream of pc. bodyUsed reports that the body was handed to the
// stream's writer, which closes it.
func (c *Client) send(pc *peerConn, t Target, req *http.Request) (_ *http.Response, bodyUsed bool, _ error) {
	ctx := req.Context()
	pc.inflight.Add(1)
	st, err := pc.conn.OpenStreamSync(ctx)
	if err != nil {
		pc.release()
		if pc.conn.Context().Err() != nil {
			c.drop(pc)
		}
		return nil, false, fmt.Errorf("open stream: %w: %w", ErrNotSent, err)
	}
	x := &exchange{c: c, pc: pc, st: st, done: make(chan struct{})}
	x.stop = context.AfterFunc(ctx, x.abort)
	out := outgoing(req, t)
	go x.write(out)

	x.br = c.readers.Get().(*bufio.Reader)
	x.br.Reset(st)
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(x.br, out)
		if err != nil {
			x.finish(false)
			x.recycle()
			return nil, true, x.failure(ctx, err)
		}
		// Informational responses (103 Early Hints, a stray 100) are not the response.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	resp.Request = req
	if resp.Body == http.NoBody {
		x.finish(true)
		x.recycle()
		return resp, true, nil
	}
	resp.Body = &responseBody{rc: resp.Body, x: x, ctx: ctx}
	return resp, true, nil
}

// outgoing returns the request as it goes on the wire: a shallow copy with its own header,
// carrying t, without Expect and Connection: close, which concern the hop to this proxy.
func outgoing(req *http.Request, t Target) *http.Request {
	out := new(http.Request)
	*out = *req
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Header.Set(TargetHeader, t.String())
	// The body goes right away; a 100 Continue would only be one more response to skip.
	out.Header.Del("Expect")
	out.Close = false
	// http.Request.Write adds a User-Agent unless the header is present; add none.
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""}
	}
	if out.Body == http.NoBody {
		out.Body = nil
	}
	return out
}

// rewind returns req ready to be sent again, if its body allows.
func rewind(req *http.Request, bodyUsed bool) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody || !bodyUsed {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	next := req.Clone(req.Context())
	next.Body = body
	return next, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// exchange is one request's stream on the client side.
type exchange struct {
	c    *Client
	pc   *peerConn
	st   *quic.Stream
	br   *bufio.Reader
	stop func() bool // stops the context watch

	done     chan struct{} // closed when write returns
	writeErr error         // why the request could not be written; set before done closes
	localErr bool          // writeErr did not come from the stream (the body failed, say)

	finishOnce sync.Once
}

// write writes the request, streaming its body; it runs in its own goroutine, which ends when
// the request is written or the stream dies (finish and abort cancel it).
func (x *exchange) write(out *http.Request) {
	defer close(x.done)
	sw := &streamWriter{st: x.st}
	bw := x.c.writers.Get().(*bufio.Writer)
	bw.Reset(sw)
	defer func() {
		bw.Reset(nil)
		x.c.writers.Put(bw)
	}()
	if out.Body != nil {
		out.Body = &flushingBody{rc: out.Body, bw: bw}
	}
	err := out.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		// FIN now, in the request's last packet: the server serves one request per stream. This
		// fails only if the stream was canceled meanwhile, which reading the response reports.
		x.st.Close()
	}
	if err != nil {
		x.writeErr, x.localErr = err, sw.err == nil
		// The peer must not take a truncated request for a whole one; when the request itself
		// failed (not the stream), there is no response to wait for either.
		x.st.CancelWrite(codeCanceled)
		if x.localErr {
			x.st.CancelRead(codeCanceled)
		}
	}
}

// abort cancels the stream both ways; it runs when the request's context ends.
func (x *exchange) abort() {
	x.st.CancelRead(codeCanceled)
	x.st.CancelWrite(codeCanceled)
}

// finish releases the stream once the response is over: read to its end (complete) or abandoned.
func (x *exchange) finish(complete bool) {
	x.finishOnce.Do(func() {
		x.stop()
		code := quic.StreamErrorCode(codeCanceled)
		if complete {
			code = codeNoError
		}
		// The server's FIN normally comes with the end of the response: read it (without
		// waiting) to complete the stream; only if it is not there yet, tell the server to stop.
		if !complete || !x.finRead() {
			x.st.CancelRead(code)
		}
		select {
		case <-x.done:
		default:
			// The peer answered before taking the whole body; stop sending it.
			x.st.CancelWrite(code)
		}
		x.pc.release()
	})
}

// recycle returns the response reader to the pool; only the goroutine reading the response may
// call it, once nothing will read the response any more.
func (x *exchange) recycle() {
	x.br.Reset(nil)
	x.c.readers.Put(x.br)
	x.br = nil
}

// finRead reports whether the stream's FIN was there to read after the response.
func (x *exchange) finRead() bool {
	if x.br.Buffered() > 0 {
		return false // the response is followed by junk
	}
	x.st.SetReadDeadline(time.Now())
	var b [1]byte
	for range 2 { // the first Read may only take the FIN in
		if _, err := x.st.Read(b[:]); err != nil {
			if err == io.EOF {
				return true
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return false
			}
			continue
		}
		return false
	}
	return false
}

// failure explains why the response could not be read.
func (x *exchange) failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("read response: %w", context.Cause(ctx))
	}
	select {
	case <-x.done:
		if x.localErr {
			return fmt.Errorf("write request: %w", x.writeErr)
		}
	default:
	}
	if notSent(x.st, x.pc.conn, err) {
		// Refused streams and shutdowns both mean the connection is going away.
		x.c.drop(x.pc)
		return fmt.Errorf("read response: %w: %w", ErrNotSent, err)
	}
	if connClosing(err) {
		return fmt.Errorf("read response: %w: %w", errConnLost, err)
	}
	return fmt.Errorf("read response: %w", err)
}

// connClosing reports whether err is the error of a connection that closed or is closing.
func connClosing(err error) bool {
	var (
		ae *quic.ApplicationError
		te *quic.TransportError
		sr *quic.StatelessResetError
		it *quic.IdleTimeoutError
	)
	return errors.As(err, &ae) || errors.As(err, &te) || errors.As(err, &sr) || errors.As(err, &it)
}

// idempotent reports whether req may be served twice (RFC 9110 9.2.2, and the Idempotency-Key
// headers net/http's Transport honours).
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// notSent reports whether err on stream st proves that the peer never served the request.
func notSent(st *quic.Stream, conn *quic.Conn, err error) bool {
	var se *quic.StreamError
	if errors.As(err, &se) && se.Remote && se.ErrorCode == codeRefused {
		return true
	}
	cause := err
	if conn.Context().Err() != nil {
		cause = context.Cause(conn.Context())
	}
	var ae *quic.ApplicationError
	if errors.As(cause, &ae) && ae.Remote && ae.ErrorCode == codeShutdown {
		last, ok := parseLastStream(ae.ErrorMessage)
		return ok && int64(st.StreamID()) > last
	}
	// The peer refused the handshake (its verdict on our certificate arrives after our side of
	// the handshake completed): it never accepted the connection, so never served a stream on it.
	var te *quic.TransportError
	if errors.As(cause, &te) && te.Remote && te.ErrorCode.IsCryptoError() {
		return true
	}
	return false
}

// responseBody is the body of a response from a peer; reading it to the end or closing it
// releases the stream.
type responseBody struct {
	rc  io.ReadCloser
	x   *exchange
	ctx context.Context
	eof bool // rc is done and its reader recycled
}

func (b *responseBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.x.finish(true)
		b.x.recycle()
		b.eof = true
	case err != nil:
		if b.ctx.Err() != nil {
			err = fmt.Errorf("read peer response: %w", context.Cause(b.ctx))
		}
		b.x.finish(false)
	}
	return n, err
}

func (b *responseBody) Close() error {
	b.x.finish(false)
	return nil
}

// streamWriter records whether writing to the stream failed.
type streamWriter struct {
	st  *quic.Stream
	err error
}

func (w *streamWriter) Write(p []byte) (int, error) {
	n, err := w.st.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// flushingBody flushes what was written of the request before each read of its body, so a body
// that trickles in reaches the peer as it comes instead of when a buffer fills. Reads and writes
// happen on the writer goroutine only.
type flushingBody struct {
	rc io.ReadCloser
	bw *bufio.Writer
}

func (b *flushingBody) Read(p []byte) (int, error) {
	if b.bw.Buffered() > 0 {
		if err := b.bw.Flush(); err != nil {
			return 0, err
		}
	}
	return b.rc.Read(p)
}

func (b *flushingBody) Close() error { return b.rc.Close() }
