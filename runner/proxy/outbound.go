package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wasmkube/wasmkube/control/informer"
)

// ErrNoService is returned by the Outbound transport for a host that names no Service.
var ErrNoService = errors.New("no such service")

// ErrNoServicePort is returned by the Outbound transport for a Service that has no port of
// the number asked.
var ErrNoServicePort = errors.New("service has no such port")

// Outbound returns the transport for the requests of guests in namespace: it resolves the
// host of each request as Kubernetes' DNS would for a pod of namespace (NAME, NAME.NS,
// NAME.NS.svc, NAME.NS.svc.cluster.local, or a Service's clusterIP) at the URL's port (80 by
// default) and sends it through the proxy as a front door would, retries and metrics
// included. A host that names no Service fails with ErrNoService, a port the Service does not
// have with ErrNoServicePort. The response body streams from the pod while it writes; it must
// be closed.
func (p *Proxy) Outbound(namespace string) http.RoundTripper {
	return &outbound{p: p, namespace: namespace}
}

type outbound struct {
	p         *Proxy
	namespace string
}

func (o *outbound) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Host == "" {
		return nil, errors.New("proxy: outbound request has no host")
	}
	rp, err := o.resolve(req.URL)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, err
	}
	in := req.Clone(req.Context())
	in.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	in.RequestURI = req.URL.RequestURI()
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RemoteAddr = ""
	in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	pw := newPipeResponse()
	go func() {
		// Owned by the response: it ends when the handler returns, which it does at the latest
		// once the body is closed (its writes fail) or the request's context ends.
		defer pw.finish()
		defer in.Body.Close()
		o.p.serve(rp, pw, in)
	}()
	select {
	case <-pw.ready:
		return pw.response(req), nil
	case <-req.Context().Done():
		pw.pr.CloseWithError(req.Context().Err())
		return nil, fmt.Errorf("proxy: %s %s: %w", req.Method, req.URL.Redacted(), context.Cause(req.Context()))
	}
}

// resolve finds the Service port u names.
func (o *outbound) resolve(u *url.URL) (*routePort, error) {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if s := u.Port(); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("proxy: host %s: port %q: %w", u.Host, s, err)
		}
		port = n
	}
	e := o.p.lookup(o.namespace, host)
	if e == nil {
		return nil, fmt.Errorf("proxy: host %q from namespace %s: %w: want NAME, NAME.NAMESPACE, NAME.NAMESPACE.svc, NAME.NAMESPACE.svc.cluster.local or a Service's clusterIP",
			host, o.namespace, ErrNoService)
	}
	r := e.route.Load()
	rp := r.byPort(port)
	if rp == nil {
		ports := make([]string, 0, len(r.ports))
		for _, p := range r.ports {
			ports = append(ports, strconv.Itoa(p.port))
		}
		return nil, fmt.Errorf("proxy: host %s: service %s/%s: %w %d (has %s)", u.Host, r.namespace, r.name,
			ErrNoServicePort, port, strings.Join(ports, ", "))
	}
	return rp, nil
}

// lookup finds the Service that host names for a client in namespace, or nil.
func (p *Proxy) lookup(namespace, host string) *entry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if net.ParseIP(host) != nil {
		return p.byIP[host]
	}
	parts := strings.Split(host, ".")
	switch {
	case len(parts) == 1:
		return p.entries[informer.Key(namespace, parts[0])]
	case len(parts) == 2,
		len(parts) == 3 && parts[2] == "svc",
		len(parts) == 5 && slices.Equal(parts[2:], []string{"svc", "cluster", "local"}):
		return p.entries[informer.Key(parts[1], parts[0])]
	}
	return nil
}

// pipeResponse is the http.ResponseWriter of a guest's request: the head is handed over once
// written, the body streams through a pipe to the response's reader.
type pipeResponse struct {
	header http.Header
	pr     *io.PipeReader
	pw     *io.PipeWriter
	ready  chan struct{}
	once   sync.Once
	code   int
	sent   http.Header // the header as it was when the head was written
}

func newPipeResponse() *pipeResponse {
	pr, pw := io.Pipe()
	return &pipeResponse{header: http.Header{}, pr: pr, pw: pw, ready: make(chan struct{})}
}

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) WriteHeader(code int) {
	if code < 200 {
		return // 1xx are not passed on
	}
	w.once.Do(func() {
		w.code, w.sent = code, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

// Flush has nothing to do: every Write reaches the reader before it returns.
func (w *pipeResponse) Flush() { w.WriteHeader(http.StatusOK) }

// finish ends the body once the handler returned.
func (w *pipeResponse) finish() {
	w.WriteHeader(http.StatusOK)
	w.pw.Close()
}

func (w *pipeResponse) response(req *http.Request) *http.Response {
	cl := int64(-1)
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil {
		cl = n
	}
	return &http.Response{
		Status:        strconv.Itoa(w.code) + " " + http.StatusText(w.code),
		StatusCode:    w.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          w.pr,
		ContentLength: cl,
		Request:       req,
	}
}
