// Package peer owns the transport between the proxies of two runners: a request for a pod hosted
// on another runner travels over QUIC to that runner's proxy, which serves it from the local pod.
// It does not choose endpoints, balance, or look pods up; the proxy does that on both ends.
//
// # Wire format
//
// Each runner keeps exactly one long-lived QUIC connection per peer address (ALPN "wk-peer/1",
// mutual TLS with node certificates of the cluster CA, see ServerTLS and ClientTLS), and each
// request takes one bidirectional stream. The client writes the request in HTTP/1.1 framing
// (http.Request.Write) with the Target in TargetHeader and ends its side of the stream with the
// request's last bytes; the server answers in HTTP/1.1 framing and ends its side with the
// response's last bytes, so a small request costs one packet each way. Bodies stream in both
// directions at once. The server reads requests with http.ReadRequest and gives the Handler a
// ResponseWriter that frames like net/http's (Content-Length for short bodies, chunking and
// trailers otherwise, Flush, 1xx).
//
// Raw streams rather than HTTP/3, because the transport must know whether a failed request reached
// the peer (ErrNotSent), and the stream ID says so exactly: a server that shuts down sends a goaway
// naming the last stream it accepted and refuses later ones (HTTP/2's GOAWAY, on a unidirectional
// stream), and if it must close a connection anyway it names that stream in the close reason.
// HTTP/3's client hides both the streams and the close reason, and adds QPACK and control streams
// that buy nothing between two proxies: a stream per request already removes HTTP/1.1's
// head-of-line blocking. Raw streams rather than net/http's server over a net.Conn per stream,
// because that server takes a stream's FIN for a client that went away, and its goroutine hand-offs
// cost twice the throughput on a loaded machine.
//
// # Failure
//
// A connection that dies (the peer closed it, a stateless reset after the peer restarted, an idle
// timeout) is dropped and the next request dials again; concurrent requests share one dial. A
// request that dies with an established connection is resent once on a new one if it provably did
// not run or is idempotent. The server derives its stateless reset key from its certificate's key,
// so a peer restarted on the same address with the same identity resets stale connections at once
// instead of leaving them to time out.
package peer

import "time"

// ALPN is the application protocol both sides negotiate.
const ALPN = "wk-peer/1"

// NodesGroup is the group (subject O) a peer certificate must carry.
const NodesGroup = "system:nodes"

// TargetHeader carries the Target of a request from the client to the server, which removes it
// before the Handler sees the request.
const TargetHeader = "Wk-Peer-Target"

// Timeouts and limits of the connections.
const (
	// DefaultDialTimeout bounds a dial, QUIC and TLS handshake included.
	DefaultDialTimeout = 3 * time.Second
	// keepAlivePeriod keeps idle connections (and NAT bindings) alive, and lets a dead peer be
	// noticed quickly.
	keepAlivePeriod = time.Second
	// maxIdleTimeout closes a connection whose peer has been silent this long despite
	// keep-alives: the requests in flight to a runner that died fail after it (and the proxy
	// retries the idempotent ones elsewhere) instead of hanging.
	maxIdleTimeout = 4 * time.Second
	// maxStreams is how many requests one client may have in flight on a connection.
	maxStreams = 1024
	// closeGrace is how long Server.Close lets clients drain their connections.
	closeGrace = 3 * time.Second
)

// Application error codes on the wire.
const (
	// codeNoError closes a stream or connection that is simply done.
	codeNoError = 0
	// codeCanceled aborts a stream whose request was canceled or whose body was abandoned.
	codeCanceled = 0x10
	// codeRefused resets a stream the server refused without handing it to a handler.
	codeRefused = 0x11
	// codeShutdown closes a connection of a server that shuts down without the client having
	// drained it; the reason carries the last stream ID handed to a handler (shutdownReason).
	codeShutdown = 0x12
)
