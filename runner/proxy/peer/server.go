package peer

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// Handler serves a request that arrived from a peer for t (the proxy looks up the local pod). r is
// an ordinary server request: Host, URL (path and query), headers without TargetHeader, a
// streaming body, RemoteAddr the peer's UDP address and TLS the peer's verified connection state.
// w is in full-duplex mode: the handler may write the response while it still reads the body.
type Handler func(t Target, w http.ResponseWriter, r *http.Request)

// ServerConfig configures Listen.
type ServerConfig struct {
	// Addr is the UDP address to listen on, host:port; port 0 picks a free one. Required.
	Addr string
	// TLS is the server's TLS configuration, normally ServerTLS. Its NextProtos are replaced by
	// ALPN. Required.
	TLS *tls.Config
	// Handler serves every request. Required.
	Handler Handler
	// Logger receives what goes wrong in the background (slog.Default when nil).
	Logger *slog.Logger
}

// Server accepts QUIC connections from peer proxies and serves one request per stream.
type Server struct {
	handler Handler
	log     *slog.Logger
	udp     *net.UDPConn
	tr      *quic.Transport
	ln      *quic.Listener
	http    *http.Server
	streams *streamListener

	ctx    context.Context // canceled by Close: stops accepting connections
	cancel context.CancelFunc
	accept sync.WaitGroup // the accept loops
	served chan struct{}  // closed when http.Serve returns

	mu      sync.Mutex
	conns   map[*serverConn]struct{}
	closing bool

	accepted  atomic.Int64 // connections accepted, for tests and metrics
	closeOnce sync.Once
}

// serverConn is one accepted connection.
type serverConn struct {
	conn *quic.Conn
	tls  *tls.ConnectionState

	mu       sync.Mutex
	last     int64 // highest stream ID handed to a handler, -1 for none
	draining bool  // a goaway was sent: refuse further streams
}

// connKey is the context key under which a stream's request finds its *streamConn.
type connKey struct{}

// Listen starts a Server on cfg.Addr. The returned Server accepts connections until Close.
func Listen(cfg ServerConfig) (*Server, error) {
	switch {
	case cfg.TLS == nil:
		return nil, fmt.Errorf("listen for peers on %s: TLS configuration is required", cfg.Addr)
	case cfg.Handler == nil:
		return nil, fmt.Errorf("listen for peers on %s: handler is required", cfg.Addr)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	ua, err := net.ResolveUDPAddr("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for peers on %s: %w", cfg.Addr, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listen for peers on %s: %w", cfg.Addr, err)
	}
	tr := &quic.Transport{Conn: udp, StatelessResetKey: statelessResetKey(cfg.TLS)}
	qc := quicConfig(DefaultDialTimeout)
	qc.MaxIncomingUniStreams = -1 // clients open none
	ln, err := tr.Listen(withALPN(cfg.TLS), qc)
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, fmt.Errorf("listen for peers on %s: %w", cfg.Addr, err)
	}
	s := &Server{
		handler: cfg.Handler,
		log:     log,
		udp:     udp,
		tr:      tr,
		ln:      ln,
		streams: newStreamListener(udp.LocalAddr()),
		served:  make(chan struct{}),
		conns:   map[*serverConn]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c.(*streamConn))
		},
		DisableGeneralOptionsHandler: true,
	}
	// One request per stream: the server closes the stream after the response.
	s.http.SetKeepAlivesEnabled(false)
	go func() {
		defer close(s.served)
		s.http.Serve(s.streams)
	}()
	s.accept.Go(s.acceptConns)
	return s, nil
}

// Addr returns the UDP address the server listens on.
func (s *Server) Addr() *net.UDPAddr {
	return s.udp.LocalAddr().(*net.UDPAddr)
}

// Close shuts the server down gracefully: it stops accepting connections, tells each client which
// of its streams it accepted (a goaway: the client sends later requests elsewhere, and closes the
// connection once its requests in flight are answered), and waits a few seconds for that. Then it
// closes what is left, naming the last stream served in the close reason, so that clients learn
// which requests never ran (ErrNotSent). It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.ln.Close()
		s.cancel()
		s.mu.Lock()
		s.closing = true
		conns := make([]*serverConn, 0, len(s.conns))
		for sc := range s.conns {
			conns = append(conns, sc)
		}
		s.mu.Unlock()
		for _, sc := range conns {
			s.goaway(sc)
		}
		grace := time.NewTimer(closeGrace)
	wait:
		for _, sc := range conns {
			select {
			case <-sc.conn.Context().Done():
			case <-grace.C:
				s.log.Warn("peer server closing connections with requests in flight", "addr", s.Addr())
				break wait
			}
		}
		grace.Stop()
		for _, sc := range conns {
			sc.mu.Lock()
			last := sc.last
			sc.mu.Unlock()
			sc.conn.CloseWithError(codeShutdown, shutdownReason(last))
		}
		s.accept.Wait()
		s.http.Close()
		<-s.served
		s.tr.Close()
		s.udp.Close()
	})
	return nil
}

// goaway makes sc refuse new streams and tells the client the last one it accepted.
func (s *Server) goaway(sc *serverConn) {
	sc.mu.Lock()
	sc.draining = true
	last := sc.last
	sc.mu.Unlock()
	st, err := sc.conn.OpenUniStream()
	if err == nil {
		_, err = io.WriteString(st, goawayMessage(last))
		st.Close()
	}
	if err != nil {
		s.log.Debug("peer goaway not sent", "peer", sc.conn.RemoteAddr(), "err", err)
		sc.conn.CloseWithError(codeShutdown, shutdownReason(last))
	}
}

// acceptConns accepts connections until Close.
func (s *Server) acceptConns() {
	for {
		conn, err := s.ln.Accept(s.ctx)
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("peer listener stopped", "addr", s.Addr(), "err", err)
			}
			return
		}
		s.accepted.Add(1)
		state := conn.ConnectionState().TLS
		sc := &serverConn{conn: conn, tls: &state, last: -1}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			conn.CloseWithError(codeShutdown, shutdownReason(-1))
			continue
		}
		s.conns[sc] = struct{}{}
		s.mu.Unlock()
		s.accept.Go(func() { s.acceptStreams(sc) })
	}
}

// acceptStreams hands each stream of sc to the HTTP server, or refuses it once sc is draining,
// until sc closes.
func (s *Server) acceptStreams(sc *serverConn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
	for {
		st, err := sc.conn.AcceptStream(sc.conn.Context())
		if err != nil {
			s.log.Debug("peer connection closed", "peer", sc.conn.RemoteAddr(), "err", err)
			return
		}
		sc.mu.Lock()
		if sc.draining {
			sc.mu.Unlock()
			st.CancelRead(codeRefused)
			st.CancelWrite(codeRefused)
			continue
		}
		sc.last = int64(st.StreamID())
		sc.mu.Unlock()
		select {
		case s.streams.conns <- &streamConn{Stream: st, sc: sc}:
		case <-s.streams.done:
			// Only after every connection closed; the client sees the close, not this.
			st.CancelRead(codeRefused)
			st.CancelWrite(codeRefused)
		}
	}
}

// serveHTTP takes the Target off r and calls the Handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	t, err := parseTarget(r.Header.Get(TargetHeader))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Header.Del(TargetHeader)
	c, _ := r.Context().Value(connKey{}).(*streamConn)
	if c != nil {
		r.TLS = c.sc.tls
		defer c.handlerDone.Store(true)
	}
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		s.log.Debug("peer request: full duplex unavailable", "err", err)
	}
	s.handler(t, w, r)
}

// shutdownReason is the reason of a codeShutdown close: the last stream ID served.
func shutdownReason(last int64) string {
	return "shutdown; last stream " + strconv.FormatInt(last, 10)
}

// goawayMessage is what the server writes on a unidirectional stream when it starts draining.
func goawayMessage(last int64) string {
	return "goaway; last stream " + strconv.FormatInt(last, 10)
}

// parseLastStream returns the last stream ID from a shutdownReason or goawayMessage.
func parseLastStream(s string) (int64, bool) {
	_, v, ok := strings.Cut(s, "; last stream ")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// quicConfig is the QUIC configuration of both sides.
func quicConfig(handshake time.Duration) *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: handshake,
		MaxIdleTimeout:       maxIdleTimeout,
		KeepAlivePeriod:      keepAlivePeriod,
		MaxIncomingStreams:   maxStreams,
	}
}

// streamConn is one request stream as the net.Conn net/http serves.
//
// The client closes its side of the stream (FIN) as soon as the request is written, so that a
// request costs one packet each way. net/http's server, though, takes the end of its input for a
// client that went away and cancels the request's context, so Read hides the FIN: after it, Read
// blocks until its deadline (net/http aborts its background read that way), until the client
// cancels the stream, or until the stream is closed.
//
// Writes net/http makes after the handler returned (the end of the response) are held until Close,
// so that the FIN goes in the same packet as the last bytes.
type streamConn struct {
	*quic.Stream
	sc          *serverConn
	handlerDone atomic.Bool

	wmu    sync.Mutex
	tail   []byte // writes held after the handler returned
	closed bool   // the FIN was sent

	mu       sync.Mutex
	eof      bool          // the client's FIN was read
	deadline time.Time     // read deadline
	wake     chan struct{} // closed when the deadline changes, if a Read waits after the FIN
}

func (c *streamConn) LocalAddr() net.Addr  { return c.sc.conn.LocalAddr() }
func (c *streamConn) RemoteAddr() net.Addr { return c.sc.conn.RemoteAddr() }

func (c *streamConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	eof := c.eof
	c.mu.Unlock()
	if !eof {
		n, err := c.Stream.Read(p)
		if err != io.EOF {
			return n, err
		}
		c.mu.Lock()
		c.eof = true
		c.mu.Unlock()
		if n > 0 {
			return n, nil
		}
	}
	return 0, c.waitAfterEOF()
}

// waitAfterEOF blocks a Read after the client's FIN; see streamConn.
func (c *streamConn) waitAfterEOF() error {
	for {
		c.mu.Lock()
		deadline := c.deadline
		if c.wake == nil {
			c.wake = make(chan struct{})
		}
		wake := c.wake
		c.mu.Unlock()
		var timer *time.Timer
		var expired <-chan time.Time
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(d)
			expired = timer.C
		}
		var err error
		select {
		case <-wake:
		case <-expired:
			err = os.ErrDeadlineExceeded
		case <-c.Stream.Context().Done():
			// Closed by us, canceled by the client (STOP_SENDING), or the connection died.
			err = io.EOF
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return err
		}
	}
}

func (c *streamConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
	c.mu.Unlock()
	return c.Stream.SetReadDeadline(t)
}

func (c *streamConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Stream.SetWriteDeadline(t)
}

func (c *streamConn) Write(p []byte) (int, error) {
	if c.handlerDone.Load() {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if c.closed {
			return 0, net.ErrClosed
		}
		c.tail = append(c.tail, p...)
		return len(p), nil
	}
	return c.Stream.Write(p)
}

// CloseWrite ends the response (FIN). net/http calls it before it lingers on a connection whose
// request body was left unread.
func (c *streamConn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if len(c.tail) > 0 {
		_, err := c.Stream.Write(c.tail)
		c.tail = nil
		if err != nil {
			return err
		}
	}
	return c.Stream.Close()
}

// Close ends the response (FIN) and discards whatever the client may still send.
func (c *streamConn) Close() error {
	err := c.CloseWrite()
	c.Stream.CancelRead(codeNoError)
	return err
}

// streamListener feeds accepted streams to http.Server.Serve.
type streamListener struct {
	addr  net.Addr
	conns chan *streamConn
	done  chan struct{}
	once  sync.Once
}

func newStreamListener(addr net.Addr) *streamListener {
	return &streamListener{addr: addr, conns: make(chan *streamConn), done: make(chan struct{})}
}

func (l *streamListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *streamListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *streamListener) Addr() net.Addr { return l.addr }

var _ net.Conn = (*streamConn)(nil)
