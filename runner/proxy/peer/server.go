package peer

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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

	ctx    context.Context // canceled by Close: stops accepting connections and streams
	cancel context.CancelFunc
	accept sync.WaitGroup // the accept loops
	served chan struct{}  // closed when http.Serve returns

	mu    sync.Mutex
	conns map[*serverConn]struct{}

	active       atomic.Int64  // streams handed to the HTTP server and not yet closed
	streamClosed chan struct{} // signaled when a stream closes, for Close to recount active

	accepted  atomic.Int64 // connections accepted, for tests and metrics
	closeOnce sync.Once
}

// serverConn is one accepted connection.
type serverConn struct {
	conn *quic.Conn
	tls  *tls.ConnectionState
	last atomic.Int64 // highest stream ID handed to a handler, -1 for none
}

// connKey is the context key under which a stream's request finds its *serverConn.
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
	ln, err := tr.Listen(withALPN(cfg.TLS), quicConfig(DefaultDialTimeout))
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

		streamClosed: make(chan struct{}, 1),
		conns:        map[*serverConn]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       maxIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c.(*streamConn).sc)
		},
		DisableGeneralOptionsHandler: true,
	}
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

// Close stops accepting connections and streams, lets requests in flight finish for a few seconds,
// then closes every connection, telling each peer which of its streams were served so that it can
// resend the others elsewhere. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.ln.Close()
		s.cancel()
		s.accept.Wait()
		// A stream ends when its client has read the response and said so (FIN) or gave up, so
		// closing the connections after that loses no response in flight.
		grace := time.NewTimer(closeGrace)
	wait:
		for s.active.Load() > 0 {
			select {
			case <-s.streamClosed:
			case <-grace.C:
				s.log.Warn("peer server closing with requests in flight", "addr", s.Addr(), "streams", s.active.Load())
				break wait
			}
		}
		grace.Stop()
		s.http.Close()
		<-s.served
		s.mu.Lock()
		for sc := range s.conns {
			sc.conn.CloseWithError(codeShutdown, shutdownReason(sc.last.Load()))
		}
		s.mu.Unlock()
		s.tr.Close()
		s.udp.Close()
	})
	return nil
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
		sc := &serverConn{conn: conn, tls: &state}
		sc.last.Store(-1)
		s.mu.Lock()
		s.conns[sc] = struct{}{}
		s.mu.Unlock()
		s.accept.Go(func() { s.acceptStreams(sc) })
	}
}

// acceptStreams hands each stream of sc to the HTTP server until sc dies or Close.
func (s *Server) acceptStreams(sc *serverConn) {
	defer func() {
		if sc.conn.Context().Err() != nil {
			s.mu.Lock()
			delete(s.conns, sc)
			s.mu.Unlock()
		}
	}()
	for {
		st, err := sc.conn.AcceptStream(s.ctx)
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Debug("peer connection closed", "peer", sc.conn.RemoteAddr(), "err", err)
			}
			return
		}
		s.active.Add(1)
		select {
		case s.streams.conns <- &streamConn{Stream: st, sc: sc, srv: s}:
			sc.last.Store(int64(st.StreamID()))
		case <-s.ctx.Done():
			s.active.Add(-1)
			st.CancelRead(codeRefused)
			st.CancelWrite(codeRefused)
			return
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
	if sc, ok := r.Context().Value(connKey{}).(*serverConn); ok {
		r.TLS = sc.tls
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

// parseShutdownReason returns the last stream ID from a shutdownReason.
func parseShutdownReason(reason string) (int64, bool) {
	v, ok := strings.CutPrefix(reason, "shutdown; last stream ")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// quicConfig is the QUIC configuration of both sides.
func quicConfig(handshake time.Duration) *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout:  handshake,
		MaxIdleTimeout:        maxIdleTimeout,
		KeepAlivePeriod:       keepAlivePeriod,
		MaxIncomingStreams:    maxStreams,
		MaxIncomingUniStreams: -1,
	}
}

// streamConn is one request stream as the net.Conn net/http serves.
type streamConn struct {
	*quic.Stream
	sc     *serverConn
	srv    *Server
	closed sync.Once
}

func (c *streamConn) LocalAddr() net.Addr  { return c.sc.conn.LocalAddr() }
func (c *streamConn) RemoteAddr() net.Addr { return c.sc.conn.RemoteAddr() }

// Close ends the response (FIN) and discards what the client may still send.
func (c *streamConn) Close() error {
	var err error
	c.closed.Do(func() {
		c.Stream.CancelRead(codeNoError)
		err = c.Stream.Close()
		c.srv.active.Add(-1)
		select {
		case c.srv.streamClosed <- struct{}{}:
		default:
		}
	})
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
