package proxy_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/wasmkube/wasmkube/control/api"
)

// benchSetup runs two hello pods behind a NodePort Service: on node a when remote is false,
// else on node b, reached through a's proxy over QUIC. It returns a's front door URL and the
// pods.
func benchSetup(b *testing.B, remote bool) (*harness, string, *pods) {
	h := newHarness(b)
	onA, onB := newPods(), newPods()
	node, local := "a", onA
	if remote {
		node, local = "b", onB
	}
	var eps []endpoint
	for i := range 2 {
		name := fmt.Sprintf("hello-%d", i)
		local.add(name, h.startHello(b, name))
		eps = append(eps, endpoint{name, node})
	}
	h.startProxy(b, "a", "127.0.0.1", onA)
	if remote {
		h.startProxy(b, "b", "127.0.0.2", onB)
	}
	port := freePort(b, "127.0.0.1")
	h.createService(b, "hello", api.ServiceNodePort, 80, port, nil)
	h.setEndpoints(b, "hello", eps)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	answersFrom(b, h1Client(b), url, 4, "hello-0", "hello-1")
	return h, url, local
}

// latencies collects request durations and reports their p50 and p99.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	at := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Microseconds()) }
	b.ReportMetric(at(0.5), "p50-us")
	b.ReportMetric(at(0.99), "p99-us")
	b.ReportMetric(float64(len(l.d))/b.Elapsed().Seconds(), "req/s")
}

// run sends b.N requests with do from concurrency goroutines (1: sequential).
func run(b *testing.B, concurrency int, do func() error) {
	var l latencies
	b.ResetTimer()
	if concurrency == 1 {
		d := make([]time.Duration, 0, b.N)
		for range b.N {
			start := time.Now()
			if err := do(); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		l.add(d)
	} else {
		b.SetParallelism((concurrency + 1) / 2) // GOMAXPROCS goroutines each; 2 on the target machine
		b.RunParallel(func(pb *testing.PB) {
			var d []time.Duration
			for pb.Next() {
				start := time.Now()
				if err := do(); err != nil {
					b.Error(err)
					return
				}
				d = append(d, time.Since(start))
			}
			l.add(d)
		})
	}
	b.StopTimer()
	l.report(b)
}

// getter returns a func that GETs url with c and checks the answer.
func getter(c *http.Client, url string) func() error {
	return func() error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "Container Hostname: hello-") {
			return fmt.Errorf("GET %s = %d %q", url, resp.StatusCode, body)
		}
		return nil
	}
}

func benchProtocols(b *testing.B, remote bool) {
	h, url, _ := benchSetup(b, remote)
	h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: h.pool}}
	b.Cleanup(func() { h3.Close() })
	clients := []struct {
		name string
		c    *http.Client
		url  string
	}{
		{"HTTP1", h1Client(b), url},
		{"h2c", h2cClient(b), url},
		{"HTTP3", &http.Client{Transport: h3}, strings.Replace(url, "http://", "https://", 1)},
	}
	for _, c := range clients {
		for _, conc := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/c=%d", c.name, conc), func(b *testing.B) {
				run(b, conc, getter(c.c, c.url))
			})
		}
	}
}

// BenchmarkNodePortHTTP1 is a client on the same machine asking samples/hello through a front
// door over keep-alive HTTP/1.1, one request at a time and 64 at once.
func BenchmarkNodePortHTTP1(b *testing.B) {
	_, url, _ := benchSetup(b, false)
	c := h1Client(b)
	for _, conc := range []int{1, 64} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) { run(b, conc, getter(c, url)) })
	}
}

// BenchmarkNodePort covers the three protocols of a front door to pods on its own node.
func BenchmarkNodePort(b *testing.B) { benchProtocols(b, false) }

// BenchmarkNodePortRemote is BenchmarkNodePort with the pods on another runner, one QUIC hop
// away.
func BenchmarkNodePortRemote(b *testing.B) { benchProtocols(b, true) }

// BenchmarkInProcess calls a hello pod's ServeHTTP directly, as the proxy does for local
// endpoints: the floor against which the proxy's added latency is measured.
func BenchmarkInProcess(b *testing.B) {
	_, _, local := benchSetup(b, false)
	pod, _ := local.local("default", "hello-0")
	for _, conc := range []int{1, 64} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			run(b, conc, func() error {
				rec := httptest.NewRecorder()
				pod.ServeHTTP(8080, rec, httptest.NewRequest(http.MethodGet, "/", nil))
				if rec.Code != 200 {
					return fmt.Errorf("ServeHTTP = %d %q", rec.Code, rec.Body)
				}
				return nil
			})
		})
	}
}

// BenchmarkDirectHTTP1 serves a hello pod from a bare net/http server on 127.0.0.1, without the
// proxy: the difference to BenchmarkNodePortHTTP1 is what the proxy's own work costs, the
// difference to BenchmarkInProcess what HTTP over loopback costs.
func BenchmarkDirectHTTP1(b *testing.B) {
	_, _, local := benchSetup(b, false)
	pod, _ := local.local("default", "hello-0")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { pod.ServeHTTP(8080, w, r) }))
	b.Cleanup(srv.Close)
	c := h1Client(b)
	for _, conc := range []int{1, 64} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) { run(b, conc, getter(c, srv.URL+"/")) })
	}
}
