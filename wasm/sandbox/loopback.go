package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
)

// maxLoopbackBody bounds a response buffered on the pod loopback.
const maxLoopbackBody = 32 << 20

var errLoopbackBodyTooLarge = fmt.Errorf("response body over %d bytes on the pod loopback", maxLoopbackBody)

// roundTrip routes a guest's outbound request: to a container of this pod for localhost:PORT, in
// process; anywhere else through PodConfig.Outbound.
func (p *Pod) roundTrip(req *http.Request) (*http.Response, error) {
	if !isLoopback(req.URL.Hostname()) {
		if p.cfg.Outbound == nil {
			return nil, fmt.Errorf("no route to host %s: pod %s reaches only its own ports on localhost", req.URL.Host, p.cfg.Name)
		}
		return p.cfg.Outbound.RoundTrip(req)
	}
	if req.URL.Scheme != "http" {
		return nil, fmt.Errorf("the pod loopback serves http, not %s", req.URL.Scheme)
	}
	port := 80
	if s := req.URL.Port(); s != "" {
		var err error
		if port, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("port %q: %w", s, err)
		}
	}
	c := p.ports[port]
	if c == nil {
		return nil, fmt.Errorf("connect to localhost:%d: connection refused: no container of pod %s declares port %d", port, p.cfg.Name, port)
	}
	if !p.enter() {
		return nil, fmt.Errorf("connect to localhost:%d: pod %s is shutting down", port, p.cfg.Name)
	}
	defer p.leave()
	in := *req // what a server would see
	in.RemoteAddr = "127.0.0.1:0"
	in.RequestURI = req.URL.RequestURI()
	rec := &recorder{header: http.Header{}}
	c.serve(rec, &in)
	return rec.response(req), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// recorder is the http.ResponseWriter of a loopback request: it buffers the response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len() == 0 && len(b) > 0 && r.header.Get("Content-Type") == "" && r.header.Get("Transfer-Encoding") == "" {
		r.header.Set("Content-Type", http.DetectContentType(b)) // as net/http's server does
	}
	if room := maxLoopbackBody - r.body.Len(); len(b) > room {
		n, _ := r.body.Write(b[:room])
		return n, errLoopbackBodyTooLarge
	}
	return r.body.Write(b)
}

func (r *recorder) response(req *http.Request) *http.Response {
	r.WriteHeader(http.StatusOK)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", r.status, http.StatusText(r.status)),
		StatusCode:    r.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.header,
		ContentLength: int64(r.body.Len()),
		Body:          io.NopCloser(bytes.NewReader(r.body.Bytes())),
		Request:       req,
	}
}
