package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/runner/proxy/peer"
)

// maxAttempts bounds the endpoints one request is tried on.
const maxAttempts = 3

// Errors of one attempt, counted under their reason.
var (
	// errPodGone: the endpoint's pod does not run where the Endpoints say (any more).
	errPodGone = errors.New("pod is not there")
	// errNoPeer: the endpoint's node has no known peer address.
	errNoPeer = errors.New("node has no proxy peer address")
)

// hopHeaders are the hop-by-hop headers a proxy must not forward (RFC 9110 7.6.1), besides
// those named in Connection.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders deletes the hop-by-hop headers of h.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		if _, ok := h[name]; ok {
			delete(h, name)
		}
	}
}

// serve forwards r to an endpoint of rp, retrying on others as the package comment says, and
// writes the answer to w; it counts the request and its duration.
func (p *Proxy) serve(rp *routePort, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	p.forward(rp, sw, r)
	sm := rp.route.metrics
	sm.request(sw.status())
	sm.duration.Observe(time.Since(start).Seconds())
}

// prepare rewrites r's headers for the hop to a pod: hop-by-hop headers removed, the client's
// address appended to X-Forwarded-For and X-Forwarded-Proto set to the scheme r came in by.
// Host is left alone.
func prepare(r *http.Request) {
	removeHopHeaders(r.Header)
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && ip != "" {
		if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		r.Header.Set("X-Forwarded-For", ip)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	r.Header.Set("X-Forwarded-Proto", proto)
}

func (p *Proxy) forward(rp *routePort, w *statusWriter, r *http.Request) {
	prepare(r)
	var body *replayBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &replayBody{src: r.Body}
	}
	sm := rp.route.metrics
	var triedBuf [maxAttempts]*endpoint
	tried := triedBuf[:0]
	var lastErr error
	var last *endpoint
	for range maxAttempts {
		e := rp.pick(tried)
		if e == nil {
			break
		}
		tried = append(tried, e)
		if body != nil {
			r.Body = body.view()
		}
		e.inflight.Add(1)
		sent, err := p.attempt(e, w, r)
		e.inflight.Add(-1)
		if err == nil {
			return
		}
		lastErr, last = err, e
		switch {
		case errors.Is(err, errPodGone):
			sm.error(reasonPodGone)
		case !sent:
			sm.error(reasonPeerUnreachable)
		default:
			sm.error(reasonUpstream)
		}
		if w.wrote || r.Context().Err() != nil || (sent && !idempotent(r.Method)) || (body != nil && !body.rewind()) {
			break
		}
	}
	if w.wrote {
		return // the response was cut short; nothing more can be said
	}
	svc := rp.route.namespace + "/" + rp.route.name
	if lastErr == nil {
		sm.error(reasonNoEndpoints)
		http.Error(w, "no ready endpoints for service "+svc, http.StatusServiceUnavailable)
		return
	}
	code := http.StatusBadGateway
	if errors.Is(lastErr, errPodGone) || errors.Is(lastErr, errNoPeer) || errors.Is(lastErr, peer.ErrNotSent) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, fmt.Sprintf("service %s: endpoint %s/%s on node %q (tried %d): %v",
		svc, last.namespace, last.pod, last.node, len(tried), lastErr), code)
}

// idempotent reports whether a request of method may be sent twice (RFC 9110 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// attempt sends r to e: in process when e's pod runs on this node, else to the proxy of its
// node. It returns nil once a response was written to w; sent reports whether a failed
// request may have reached the pod.
func (p *Proxy) attempt(e *endpoint, w *statusWriter, r *http.Request) (sent bool, err error) {
	if e.node == p.cfg.NodeName || e.node == "" {
		b, ok := p.cfg.Local(e.namespace, e.pod)
		if !ok {
			return false, fmt.Errorf("pod %s/%s on this node: %w", e.namespace, e.pod, errPodGone)
		}
		b.ServeHTTP(e.port, w, r)
		return true, nil
	}
	addr, ok := p.peerAddr(e.node)
	if !ok {
		return false, fmt.Errorf("node %s: %w", e.node, errNoPeer)
	}
	resp, err := p.peers.RoundTrip(addr, peer.Target{Namespace: e.namespace, Pod: e.pod, Port: e.port}, r)
	if err != nil {
		if errors.Is(err, peer.ErrNotSent) {
			return false, fmt.Errorf("peer %s at %s: %w", e.node, addr, err)
		}
		return true, fmt.Errorf("peer %s at %s: %w", e.node, addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(NotFoundHeader) != "" {
		return false, fmt.Errorf("pod %s/%s on node %s: %w", e.namespace, e.pod, e.node, errPodGone)
	}
	copyResponse(w, resp)
	return true, nil
}

// copyResponse writes resp to w, streaming its body: each chunk read is flushed to the client.
func copyResponse(w *statusWriter, resp *http.Response) {
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	removeHopHeaders(h)
	announced := len(resp.Trailer) > 0
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if err == nil {
				w.Flush()
			}
		}
		if err != nil {
			break // io.EOF, or a body cut short: the client sees it short too
		}
	}
	if announced {
		for k, vv := range resp.Trailer {
			h[k] = vv
		}
	}
}

// statusWriter records whether and with which status a response was started.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what was written so far, if the underlying writer can.
func (w *statusWriter) Flush() {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the response's status, 200 if the handler wrote nothing (as net/http sends).
func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}
