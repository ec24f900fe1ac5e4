package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
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

	ctx      context.Context // canceled by Close: stops accepting connections
	cancel   context.CancelFunc
	accept   sync.WaitGroup // the accept loops
	handlers sync.WaitGroup // serveStream goroutines
	readers  sync.Pool      // *bufio.Reader of bufSize
	writers  sync.Pool      // *bufio.Writer of bufSize

	mu      sync.Mutex
	conns   map[*serverConn]struct{}
	closing bool

	accepted  atomic.Int64 // connections accepted, for tests and metrics
	closeOnce sync.Once
}

// serverConn is one accepted connection.
type serverConn struct {
	conn   *quic.Conn
	tls    *tls.ConnectionState
	remote string // conn.RemoteAddr().String()

	mu       sync.Mutex
	last     int64 // highest stream ID handed to a handler, -1 for none
	draining bool  // a goaway was sent: refuse further streams
}

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
		conns:   map[*serverConn]struct{}{},
	}
	s.readers.New = func() any { return bufio.NewReaderSize(nil, bufSize) }
	s.writers.New = func() any { return bufio.NewWriterSize(nil, bufSize) }
	s.ctx, s.cancel = context.WithCancel(context.Background())
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
		// The handlers' contexts ended with their connections; give them a moment to notice.
		handled := make(chan struct{})
		go func() {
			s.handlers.Wait()
			close(handled)
		}()
		grace.Reset(closeGrace)
		select {
		case <-handled:
		case <-grace.C:
			s.log.Warn("peer server closed with handlers still running", "addr", s.Addr())
		}
		grace.Stop()
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
		sc := &serverConn{conn: conn, tls: &state, remote: conn.RemoteAddr().String(), last: -1}
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

// acceptStreams serves each stream of sc in a goroutine of its own, or refuses it once sc is
// draining, until sc closes.
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
		s.handlers.Add(1)
		sc.mu.Unlock()
		go s.serveStream(sc, st)
	}
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
