package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/pki"
)

// echo answers with what it saw of the request in headers and the request body as its body.
func echo(t Target, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("X-Target", t.String())
	h.Set("X-Method", r.Method)
	h.Set("X-Host", r.Host)
	h.Set("X-Path", r.URL.Path)
	h.Set("X-Query", r.URL.RawQuery)
	h.Set("X-Request-URI", r.RequestURI)
	h.Set("X-Remote", r.RemoteAddr)
	h.Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
	h.Set("X-Custom", strings.Join(r.Header.Values("X-Custom"), ","))
	h.Set("X-User-Agent", r.Header.Get("User-Agent"))
	h.Set("X-Saw-Target-Header", strconv.FormatBool(r.Header.Get(TargetHeader) != ""))
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		h.Set("X-Peer-CN", r.TLS.PeerCertificates[0].Subject.CommonName)
	}
	w.WriteHeader(http.StatusCreated)
	w.Write(body)
}

func TestRoundTrip(t *testing.T) {
	p := newPKI(t)
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), echo)
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	addr := srv.Addr().String()

	// opaque hides the type of a body, so its length is unknown and it goes chunked.
	type opaque struct{ io.Reader }
	received, err := http.ReadRequest(bufio.NewReader(strings.NewReader(
		"PUT /as/received?q=1 HTTP/1.1\r\nHost: svc.ns\r\nX-Custom: r\r\nContent-Length: 4\r\n\r\nbody")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  func() *http.Request
		want map[string]string // response headers
		body string
	}{
		{"get with query", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://web.default/a/b?x=1&y=%20", nil)
			r.Header.Add("X-Custom", "one")
			r.Header.Add("X-Custom", "two")
			return r
		}, map[string]string{"X-Method": "GET", "X-Host": "web.default", "X-Path": "/a/b", "X-Query": "x=1&y=%20",
			"X-Request-URI": "/a/b?x=1&y=%20", "X-Custom": "one,two", "X-Content-Length": "0"}, ""},
		{"post with length", func() *http.Request {
			r, _ := http.NewRequest("POST", "http://web/upload", strings.NewReader("hello"))
			return r
		}, map[string]string{"X-Method": "POST", "X-Content-Length": "5"}, "hello"},
		{"post chunked", func() *http.Request {
			r, _ := http.NewRequest("POST", "http://web/stream", opaque{strings.NewReader("chunked body")})
			r.ContentLength = -1
			return r
		}, map[string]string{"X-Content-Length": "-1"}, "chunked body"},
		{"head", func() *http.Request {
			r, _ := http.NewRequest("HEAD", "http://web/", nil)
			return r
		}, map[string]string{"X-Method": "HEAD"}, ""},
		{"server request as received", func() *http.Request { return received },
			map[string]string{"X-Method": "PUT", "X-Host": "svc.ns", "X-Request-URI": "/as/received?q=1",
				"X-Custom": "r", "X-Content-Length": "4"}, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.RoundTrip(addr, testTarget, tt.req())
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			want := map[string]string{
				"X-Target": testTarget.String(), "X-Saw-Target-Header": "false", "X-User-Agent": "",
				"X-Peer-CN": "system:node:a",
			}
			for k, v := range tt.want {
				want[k] = v
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if resp.Header.Get("Connection") != "" || resp.Close {
				t.Errorf("response has Connection %q, Close %v", resp.Header.Get("Connection"), resp.Close)
			}
			_, port, _ := net.SplitHostPort(resp.Header.Get("X-Remote"))
			if want := strconv.Itoa(c.udp.LocalAddr().(*net.UDPAddr).Port); port != want {
				t.Errorf("RemoteAddr %q, want port %s", resp.Header.Get("X-Remote"), want)
			}
		})
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
}

func TestConcurrentRequestsShareOneConnection(t *testing.T) {
	p := newPKI(t)
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), echo)
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	const n = 64
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			body := fmt.Sprintf("request %d", i)
			req, _ := http.NewRequest("POST", "http://web/", strings.NewReader(body))
			resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || string(got) != body {
				errs <- fmt.Errorf("request %d: body %q, %v", i, got, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := srv.accepted.Load(); got != 1 {
		t.Errorf("server accepted %d connections, want 1", got)
	}
}

func TestPeerRestart(t *testing.T) {
	tests := []struct {
		name string
		stop func(*Server)
	}{
		// Close says goodbye, which the client may or may not have read when it sends the next
		// request on the old connection.
		{"graceful", func(s *Server) { s.Close() }},
		// A crash says nothing: the restarted peer (same identity, so same stateless reset key)
		// answers the old connection with a stateless reset.
		{"crash", func(s *Server) {
			s.tr.Close()
			s.udp.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			serverTLS := ServerTLS(p.node(t, "b"), p.pool)
			first := listen(t, "", serverTLS, echo)
			addr := first.Addr().String()
			c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
			get := func() error {
				req, _ := http.NewRequest("GET", "http://web/", nil)
				resp, err := c.RoundTrip(addr, testTarget, req)
				if err != nil {
					return err
				}
				readAll(t, resp)
				return nil
			}
			for range 3 {
				if err := get(); err != nil {
					t.Fatal(err)
				}
			}
			tt.stop(first)
			second := listen(t, addr, serverTLS, echo)
			for range 3 {
				if err := get(); err != nil {
					t.Fatalf("request after restart: %v", err)
				}
			}
			if got := second.accepted.Load(); got != 1 {
				t.Errorf("restarted server accepted %d connections, want 1", got)
			}
		})
	}
}

// TestShutdownLosesNoRequest closes a server under a stream of non-idempotent requests: each one
// either succeeds, or fails with ErrNotSent and was never served.
func TestShutdownLosesNoRequest(t *testing.T) {
	p := newPKI(t)
	var served atomic.Int64
	warm := make(chan struct{})
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if served.Add(1) == 50 {
			close(warm)
		}
		w.Write([]byte("ok"))
	})
	c := NewClient(ClientConfig{TLS: ClientTLS(p.node(t, "a"), p.pool), Logger: quietLogger(), DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	var ok, notSent atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				req, _ := http.NewRequest("POST", "http://web/", strings.NewReader("payload"))
				resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
				if errors.Is(err, ErrNotSent) {
					notSent.Add(1)
					return
				}
				if err != nil {
					t.Errorf("request neither served nor ErrNotSent: %v", err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != "ok" {
					t.Errorf("response %q, %v", b, err)
					return
				}
				ok.Add(1)
			}
		})
	}
	<-warm
	srv.Close()
	wg.Wait()
	t.Logf("%d served, %d not sent", ok.Load(), notSent.Load())
	if ok.Load() != served.Load() {
		t.Errorf("client saw %d responses, handler served %d requests", ok.Load(), served.Load())
	}
}

func TestDeadAddressIsNotSent(t *testing.T) {
	p := newPKI(t)
	// A port that was just free, and is closed again: nothing answers there.
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := u.LocalAddr().String()
	u.Close()
	c := NewClient(ClientConfig{TLS: ClientTLS(p.node(t, "a"), p.pool), Logger: quietLogger(), DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("POST", "http://web/", body)
	_, err = c.RoundTrip(addr, testTarget, req)
	if !errors.Is(err, ErrNotSent) {
		t.Fatalf("RoundTrip to a dead address: %v, want ErrNotSent", err)
	}
	if !body.closed.Load() {
		t.Error("request body not closed")
	}
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

func TestRefusedPeers(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	var served atomic.Int64
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(t Target, w http.ResponseWriter, r *http.Request) {
		served.Add(1)
	})
	wrongIP := p.issue(t, pki.CertRequest{CommonName: "system:node:c", Organization: []string{NodesGroup},
		IPs: []net.IP{net.IPv4(127, 0, 0, 9)}, Server: true, Client: true})
	noGroup := p.issue(t, pki.CertRequest{CommonName: "system:node:c", IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Server: true, Client: true})
	tests := []struct {
		name   string
		addr   string
		client *tls.Config
	}{
		{"client without certificate", srv.Addr().String(), &tls.Config{RootCAs: p.pool}},
		{"client certificate of another CA", srv.Addr().String(), ClientTLS(other.node(t, "a"), other.pool)},
		{"client certificate of another CA, trusting ours", srv.Addr().String(), ClientTLS(other.node(t, "a"), p.pool)},
		{"client certificate without system:nodes", srv.Addr().String(), ClientTLS(noGroup, p.pool)},
		{"server certificate for another IP", listen(t, "", ServerTLS(wrongIP, p.pool), echo).Addr().String(), ClientTLS(p.node(t, "a"), p.pool)},
		{"server certificate without system:nodes", listen(t, "", ServerTLS(noGroup, p.pool), echo).Addr().String(), ClientTLS(p.node(t, "a"), p.pool)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.client)
			req, _ := http.NewRequest("GET", "http://web/", nil)
			resp, err := c.RoundTrip(tt.addr, testTarget, req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("request succeeded")
			}
			if !errors.Is(err, ErrNotSent) {
				t.Errorf("error %v does not wrap ErrNotSent", err)
			}
			t.Logf("refused: %v", err)
		})
	}
	if n := served.Load(); n != 0 {
		t.Errorf("handler served %d refused requests", n)
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("server accepted %d connections from refused clients", n)
	}
}

func TestLargeBodies(t *testing.T) {
	p := newPKI(t)
	// The handler streams the body back as it reads it: both directions are in flight at once.
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	payload := make([]byte, 1<<20)
	rand.Read(payload)
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			var body io.Reader = bytes.NewReader(payload)
			if chunked {
				body = struct{ io.Reader }{body}
			}
			req, _ := http.NewRequest("POST", "http://web/", body)
			if chunked {
				req.ContentLength = -1
			}
			resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, resp)
			if sha256.Sum256([]byte(got)) != sha256.Sum256(payload) {
				t.Fatalf("echoed %d bytes, not the %d sent", len(got), len(payload))
			}
		})
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name string
		// flush makes the handler send the header and a first chunk before it waits, so the
		// cancellation hits the response body instead of RoundTrip.
		flush bool
	}{
		{"while waiting for the response", false},
		{"while reading the response body", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			started, canceled := make(chan struct{}), make(chan struct{})
			srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
				if tt.flush {
					w.Write([]byte("first"))
					w.(http.Flusher).Flush()
				}
				close(started)
				<-r.Context().Done()
				close(canceled)
			})
			c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://web/", nil)
			if !tt.flush {
				go func() {
					<-started
					cancel()
				}()
				_, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("RoundTrip: %v, want context.Canceled", err)
				}
			} else {
				resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				buf := make([]byte, 5)
				if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
					t.Fatalf("first chunk %q, %v", buf, err)
				}
				<-started
				cancel()
				if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
					t.Fatalf("reading the rest: %v, want context.Canceled", err)
				}
			}
			select {
			case <-canceled:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler's context was not canceled")
			}
		})
	}
}

func TestBadTarget(t *testing.T) {
	p := newPKI(t)
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), echo)
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	for _, tgt := range []Target{{Pod: "p", Port: 1}, {Namespace: "n", Pod: "p/q", Port: 1}, {Namespace: "n", Pod: "p"}} {
		t.Run(tgt.String(), func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://web/", nil)
			if _, err := c.RoundTrip(srv.Addr().String(), tgt, req); !errors.Is(err, ErrBadTarget) {
				t.Fatalf("RoundTrip: %v, want ErrBadTarget", err)
			}
		})
	}
}

func TestTargetParsesBack(t *testing.T) {
	for _, tgt := range []Target{testTarget, {Namespace: "kube-system", Pod: "a.b-c", Port: 65535}} {
		t.Run(tgt.String(), func(t *testing.T) {
			got, err := parseTarget(tgt.String())
			if err != nil || got != tgt {
				t.Fatalf("parseTarget(%q) = %v, %v", tgt.String(), got, err)
			}
		})
	}
}

func TestResponseFraming(t *testing.T) {
	p := newPKI(t)
	big := strings.Repeat("b", 3*bufSize)
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Write([]byte("<html>small</html>"))
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(big))
		case "/declared":
			w.Header().Set("Content-Length", "5")
			w.Write([]byte("12345"))
		case "/trailers":
			w.Header().Set("Trailer", "X-Sum")
			w.Write([]byte("body"))
			w.Header().Set("X-Sum", "42")
			w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
		case "/hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte("after hints"))
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/unread":
			// Answer without reading the (large) body: the client stops sending it.
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
	})
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	tests := []struct {
		name, method, path string
		body               io.Reader
		status             int
		wantBody           string
		contentLength      int64
		header, trailer    map[string]string
	}{
		{"small gets a length and a sniffed type", "GET", "/small", nil, 200, "<html>small</html>", 18,
			map[string]string{"Content-Type": "text/html; charset=utf-8"}, nil},
		{"big is chunked", "GET", "/big", nil, 200, big, -1, map[string]string{"Content-Type": "text/plain"}, nil},
		{"declared length", "GET", "/declared", nil, 200, "12345", 5, nil, nil},
		{"HEAD gets the length GET would", "HEAD", "/small", nil, 200, "", 18, nil, nil},
		{"trailers", "GET", "/trailers", nil, 200, "body", -1, nil, map[string]string{"X-Sum": "42", "X-Late": "yes"}},
		{"early hints are skipped", "GET", "/hints", nil, 202, "after hints", 11, nil, nil},
		{"no content", "GET", "/nocontent", nil, 204, "", 0, nil, nil},
		{"response before the body was read", "POST", "/unread", bytes.NewReader(make([]byte, 1<<20)), 413, "", 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://web"+tt.path, tt.body)
			resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tt.status || body != tt.wantBody || resp.ContentLength != tt.contentLength {
				t.Errorf("got %d, %d bytes, ContentLength %d; want %d, %d bytes, ContentLength %d",
					resp.StatusCode, len(body), resp.ContentLength, tt.status, len(tt.wantBody), tt.contentLength)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			for k, v := range tt.trailer {
				if got := resp.Trailer.Get(k); got != v {
					t.Errorf("trailer %s = %q, want %q (trailers %v)", k, got, v, resp.Trailer)
				}
			}
		})
	}
}

// TestStreamingResponse checks that a flushed chunk reaches the client while the handler still
// runs, and that the request body streams to the handler while the client still writes it.
func TestStreaming(t *testing.T) {
	p := newPKI(t)
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(bytes.ToUpper(buf[:n]))
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
	})
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://web/", pr)
	done := make(chan struct{})
	var resp *http.Response
	var rtErr error
	go func() {
		defer close(done)
		resp, rtErr = c.RoundTrip(srv.Addr().String(), testTarget, req)
	}()
	pw.Write([]byte("ping"))
	<-done // the response header came back while the body is still open
	if rtErr != nil {
		t.Fatal(rtErr)
	}
	defer resp.Body.Close()
	for _, word := range []string{"ping", "pong"} {
		if word == "pong" {
			pw.Write([]byte(word))
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != strings.ToUpper(word) {
			t.Fatalf("echo of %q: %q, %v", word, buf, err)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Fatalf("after the body ended: %q, %v", rest, err)
	}
}

// TestGracefulClose closes a server with a request in flight: the request completes, and the
// client sends later requests elsewhere (here: nowhere, so ErrNotSent).
func TestGracefulClose(t *testing.T) {
	p := newPKI(t)
	entered, release := make(chan struct{}), make(chan struct{})
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		w.Write([]byte("done"))
	})
	c := NewClient(ClientConfig{TLS: ClientTLS(p.node(t, "a"), p.pool), Logger: quietLogger(), DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	addr := srv.Addr().String()
	slow := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://web/slow", strings.NewReader("x"))
		resp, err := c.RoundTrip(addr, testTarget, req)
		if err == nil {
			var b []byte
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && string(b) != "done" {
				err = fmt.Errorf("body %q", b)
			}
		}
		slow <- err
	}()
	<-entered
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	// Once the client has the goaway, new requests do not use the draining connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		_, has := c.peers[addr]
		c.mu.Unlock()
		if !has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client kept the draining connection")
		}
		runtime.Gosched()
	}
	req, _ := http.NewRequest("POST", "http://web/", strings.NewReader("y"))
	if _, err := c.RoundTrip(addr, testTarget, req); !errors.Is(err, ErrNotSent) {
		t.Errorf("request after goaway: %v, want ErrNotSent", err)
	}
	close(release)
	if err := <-slow; err != nil {
		t.Errorf("request in flight during Close: %v", err)
	}
	<-closed
}

// TestNoGoroutineLeak runs requests of every kind, closes both ends, and expects the goroutines
// to return to their number before.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	p := newPKI(t)
	srv, err := Listen(ServerConfig{Addr: "127.0.0.1:0", TLS: ServerTLS(p.node(t, "b"), p.pool), Handler: echo, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(ClientConfig{TLS: ClientTLS(p.node(t, "a"), p.pool), Logger: quietLogger()})
	for i := range 20 {
		req, _ := http.NewRequest("POST", "http://web/", strings.NewReader("body"))
		resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			readAll(t, resp)
		} else {
			resp.Body.Close() // abandoned
		}
	}
	c.Close()
	srv.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

// TestHandlerPanic checks that a panicking handler aborts its stream, not the server.
func TestHandlerPanic(t *testing.T) {
	p := newPKI(t)
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			w.Write([]byte("partial"))
			panic(http.ErrAbortHandler)
		}
		w.Write([]byte("fine"))
	})
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	req, _ := http.NewRequest("GET", "http://web/panic", nil)
	resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a panicking handler's response read as complete")
	}
	req, _ = http.NewRequest("GET", "http://web/", nil)
	resp, err = c.RoundTrip(srv.Addr().String(), testTarget, req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "fine" {
		t.Fatalf("body %q", body)
	}
}

func TestHeaderTooLarge(t *testing.T) {
	p := newPKI(t)
	srv := listen(t, "", ServerTLS(p.node(t, "b"), p.pool), echo)
	c := newClient(t, ClientTLS(p.node(t, "a"), p.pool))
	req, _ := http.NewRequest("GET", "http://web/", nil)
	req.Header.Set("X-Big", strings.Repeat("h", 2<<20))
	if resp, err := c.RoundTrip(srv.Addr().String(), testTarget, req); err == nil {
		resp.Body.Close()
		t.Fatalf("a 2 MiB header was served: %d", resp.StatusCode)
	}
}
