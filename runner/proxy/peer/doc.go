// Package peer owns the transport between the proxies of two runners: a request for a pod hosted
// on another runner travels over QUIC to that runner's proxy, which serves it from the local pod.
// It does not choose endpoints, balance, or look pods up; the proxy does that on both ends.
//
// # Wire format
//
// Each runner keeps exactly one long-lived QUIC connection per peer address (ALPN "wk-peer/1",
// mutual TLS with certificates of the cluster CA, see ServerTLS and ClientTLS), and each request
// takes one bidirectional stream: the client writes the request in HTTP/1.1 framing
// (http.Request.Write) with the Target in the Wk-Peer-Target header, and reads the response with
// http.ReadResponse; both bodies stream, in both directions at once. The server side is net/http's
// own HTTP/1.1 server reading from the streams, so a Handler gets an ordinary *http.Request and a
// full http.ResponseWriter (chunking, Flush, trailers), in full-duplex mode.
//
// Raw streams rather than HTTP/3, because the transport must know whether a failed request reached
// the peer (ErrNotSent): with one stream per request the stream ID says so exactly. A server that
// shuts down stops accepting streams and closes each connection with the highest stream ID it handed
// to a handler, as HTTP/2's GOAWAY does; any later stream provably never ran and is retried once on
// a fresh connection or reported as ErrNotSent. HTTP/3's client hides both the streams and the
// close reason, and adds QPACK and control streams that buy nothing between two proxies: a stream
// per request already removes HTTP/1.1's head-of-line blocking.
//
// # Failure
//
// A connection that dies (the peer closed it, a stateless reset after the peer restarted, an idle
// timeout) is dropped and the next request dials again; concurrent requests share one dial. The
// server derives its stateless reset key from its certificate's key, so a peer restarted on the same
// address with the same identity resets stale connections at once instead of leaving them to time
// out.
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
	// keepAlivePeriod keeps idle connections (and NAT bindings) alive.
	keepAlivePeriod = 10 * time.Second
	// maxIdleTimeout closes a connection whose peer has been silent this long despite keep-alives.
	maxIdleTimeout = 30 * time.Second
	// maxStreams is how many requests one client may have in flight on a connection.
	maxStreams = 1024
	// closeGrace is how long Server.Close lets in-flight requests finish.
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
	// codeShutdown closes a connection of a server that shuts down; the reason carries the last
	// stream ID handed to a handler (see shutdownReason).
	codeShutdown = 0x12
)
