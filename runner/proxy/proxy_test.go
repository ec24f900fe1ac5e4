package proxy_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/quic-go/quic-go/http3"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/runner/proxy"
)

// threeHellos starts pods hello-0..2 on node a, a proxy of node a at 127.0.0.1 and a NodePort
// Service hello over them; it returns the proxy, the front door's URL and the pods.
func threeHellos(t *testing.T, h *harness, annotations map[string]string) (*proxy.Proxy, string, *pods) {
	t.Helper()
	local := newPods()
	var eps []endpoint
	for i := range 3 {
		name := fmt.Sprintf("hello-%d", i)
		local.add(name, h.startHello(t, name))
		eps = append(eps, endpoint{name, "a"})
	}
	p := h.startProxy(t, "a", "127.0.0.1", local)
	port := freePort(t, "127.0.0.1")
	h.createService(t, "hello", api.ServiceNodePort, 80, port, annotations)
	h.setEndpoints(t, "hello", eps)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	answersFrom(t, h1Client(t), url, 3, "hello-0", "hello-1", "hello-2")
	return p, url, local
}

func TestNodePortProtocols(t *testing.T) {
	h := newHarness(t)
	_, url, _ := threeHellos(t, h, nil)
	h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: h.pool}}
	t.Cleanup(func() { h3.Close() })
	tests := []struct {
		name   string
		client *http.Client
		proto  string
		altSvc bool
	}{
		{"HTTP/1.1", h1Client(t), "HTTP/1.1", true},
		{"h2c", h2cClient(t), "HTTP/2.0", true},
		{"HTTP/3", &http.Client{Transport: h3}, "HTTP/3.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := url
			if tt.name == "HTTP/3" {
				u = strings.Replace(url, "http://", "https://", 1)
			}
			resp, err := tt.client.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "Container Hostname: hello-") {
				t.Fatalf("GET = %d %q", resp.StatusCode, body)
			}
			if resp.Proto != tt.proto {
				t.Errorf("Proto = %s, want %s", resp.Proto, tt.proto)
			}
			port := strings.TrimSuffix(strings.TrimPrefix(url, "http://127.0.0.1:"), "/")
			want := ""
			if tt.altSvc {
				want = `h3=":` + port + `"; ma=86400`
			}
			if got := resp.Header.Get("Alt-Svc"); got != want {
				t.Errorf("Alt-Svc = %q, want %q", got, want)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	h := newHarness(t)
	_, url, _ := threeHellos(t, h, nil)
	c := h1Client(t)
	counts := map[string]int{}
	var order []string
	for range 9 {
		code, body, _ := get(t, c, url)
		if code != 200 {
			t.Fatalf("GET = %d %q", code, body)
		}
		counts[podOf(body)]++
		order = append(order, podOf(body))
	}
	for _, pod := range []string{"hello-0", "hello-1", "hello-2"} {
		if counts[pod] != 3 {
			t.Fatalf("answers %v: want each pod 3 times", order)
		}
	}
	for i := 3; i < len(order); i++ {
		if order[i] != order[i-3] {
			t.Fatalf("answers %v are not in turn", order)
		}
	}
}

// gate holds the requests to a backend until released.
type gate struct {
	proxy.Backend
	entered chan struct{}
	release chan struct{}
}

func (g *gate) ServeHTTP(port int, w http.ResponseWriter, r *http.Request) {
	g.entered <- struct{}{}
	<-g.release
	g.Backend.ServeHTTP(port, w, r)
}

func TestLeastRequests(t *testing.T) {
	h := newHarness(t)
	_, url, local := threeHellos(t, h, map[string]string{proxy.LoadBalancerAnnotation: proxy.LeastRequests})
	// hello-0 gets stuck on one request: the others must go to hello-1 and hello-2 only.
	b, _ := local.local("default", "hello-0")
	g := &gate{Backend: b, entered: make(chan struct{}), release: make(chan struct{})}
	local.add("hello-0", g)
	c := h1Client(t)
	stuck := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		// Least requests sends ties in turn: this lands on hello-0 within three requests.
		for {
			_, body, _ := get(t, c, url)
			if pod := podOf(body); pod == "hello-0" {
				stuck <- pod
				return
			}
		}
	})
	<-g.entered
	counts := map[string]int{}
	for range 10 {
		code, body, _ := get(t, c, url)
		if code != 200 {
			t.Fatalf("GET = %d %q", code, body)
		}
		counts[podOf(body)]++
	}
	close(g.release)
	wg.Wait()
	if counts["hello-0"] != 0 || counts["hello-1"] == 0 || counts["hello-2"] == 0 {
		t.Fatalf("answers %v while hello-0 was busy: want hello-1 and hello-2 only", counts)
	}
}

func TestNoEndpoints(t *testing.T) {
	h := newHarness(t)
	h.startProxy(t, "a", "127.0.0.1", newPods())
	port := freePort(t, "127.0.0.1")
	h.createService(t, "hello", api.ServiceNodePort, 80, port, nil)
	h.setEndpoints(t, "hello", nil, endpoint{"hello-0", "a"}) // not ready: never used
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	c := h1Client(t)
	eventually(t, "front door open", func() bool {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	code, body, _ := get(t, c, url)
	if want := "no ready endpoints for service default/hello\n"; code != 503 || body != want {
		t.Fatalf("GET = %d %q, want 503 %q", code, body, want)
	}
}

func TestEndpointLeavesRotation(t *testing.T) {
	h := newHarness(t)
	_, url, _ := threeHellos(t, h, nil)
	h.setEndpoints(t, "hello", []endpoint{{"hello-0", "a"}, {"hello-2", "a"}}, endpoint{"hello-1", "a"})
	c := h1Client(t)
	answersFrom(t, c, url, 4, "hello-0", "hello-2")
	for range 20 {
		if _, body, _ := get(t, c, url); podOf(body) == "hello-1" {
			t.Fatal("hello-1 still answers after it left the Endpoints")
		}
	}
}

func TestRetryPodGone(t *testing.T) {
	h := newHarness(t)
	p, url, _ := threeHellos(t, h, nil)
	// hello-gone is listed ready but runs nowhere: requests that pick it go to the next pod.
	h.setEndpoints(t, "hello", []endpoint{{"hello-0", "a"}, {"hello-gone", "a"}, {"hello-1", "a"}})
	c := h1Client(t)
	answersFrom(t, c, url, 6, "hello-0", "hello-1")
	for i := range 12 {
		if code, body, _ := get(t, c, url); code != 200 {
			t.Fatalf("GET #%d = %d %q", i, code, body)
		}
	}
	text := scrape(t, p)
	if !strings.Contains(text, `wasmkube_proxy_errors_total{namespace="default",reason="pod_gone",service="hello"}`) {
		t.Fatalf("metrics lack the pod_gone errors:\n%s", text)
	}
}

func TestOutbound(t *testing.T) {
	h := newHarness(t)
	p, _, _ := threeHellos(t, h, nil)
	svc, err := client.Services(h.c).Namespace("default").Get(context.Background(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	rt := p.Outbound("default")
	tests := []struct{ name, url, err string }{
		{"name", "http://hello/", ""},
		{"name.ns", "http://hello.default/x", ""},
		{"name.ns.svc", "http://hello.default.svc:80/", ""},
		{"fqdn", "http://hello.default.svc.cluster.local/", ""},
		{"clusterIP", "http://" + svc.Spec.ClusterIP + ":80/", ""},
		{"unknown", "http://nope/", `host "nope" from namespace default: no such service`},
		{"other namespace", "http://hello.kube-system/", `host "hello.kube-system"`},
		{"wrong port", "http://hello:8080/", "service default/hello: service has no such port 8080 (has 80)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			resp, err := rt.RoundTrip(req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("RoundTrip = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "Container Hostname: hello-") {
				t.Fatalf("RoundTrip = %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestGuestCallsService runs the loopback sample's frontend with BACKEND_URL=http://hello: its
// call leaves the pod through Outbound and reaches a hello pod.
func TestGuestCallsService(t *testing.T) {
	h := newHarness(t)
	p, _, _ := threeHellos(t, h, nil)
	front, err := h.rt.Compile(context.Background(), "", wasmtestBuild(t, "../../samples/loopback/frontend"))
	if err != nil {
		t.Fatal(err)
	}
	pod := h.startPodOutbound(t, "front", front, p.Outbound("default"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { pod.ServeHTTP(8080, w, r) }))
	t.Cleanup(srv.Close)
	code, body, _ := get(t, h1Client(t), srv.URL+"/")
	if want := "frontend in front: backend answered 200: Container Hostname: hello-"; code != 200 || !strings.HasPrefix(body, want) {
		t.Fatalf("GET = %d %q, want 200 %q...", code, body, want)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	p, url, _ := threeHellos(t, h, nil)
	for range 5 {
		get(t, h1Client(t), url)
	}
	text := scrape(t, p)
	for _, want := range []string{
		`wasmkube_proxy_requests_total{code="200",namespace="default",service="hello"}`,
		`wasmkube_proxy_request_duration_seconds_bucket{namespace="default",service="hello",le="+Inf"}`,
		`wasmkube_proxy_endpoints{namespace="default",service="hello"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func scrape(t *testing.T, p *proxy.Proxy) string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// TestFrontDoorFollowsService checks that a front door moves when the Service's nodePort
// changes and closes when the Service is deleted.
func TestFrontDoorFollowsService(t *testing.T) {
	h := newHarness(t)
	_, url, _ := threeHellos(t, h, nil)
	svcs := client.Services(h.c).Namespace("default")
	ctx := context.Background()
	svc, err := svcs.Get(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	moved := freePort(t, "127.0.0.1")
	svc.Spec.Ports[0].NodePort = int32(moved)
	if _, err := svcs.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	c := h1Client(t)
	newURL := fmt.Sprintf("http://127.0.0.1:%d/", moved)
	answersFrom(t, c, newURL, 3, "hello-0", "hello-1", "hello-2")
	refused := func(u string) func() bool {
		return func() bool {
			c := h1Client(t) // new connections: a closed door refuses them
			resp, err := c.Get(u)
			if err == nil {
				resp.Body.Close()
			}
			return err != nil
		}
	}
	eventually(t, "old front door closed", refused(url))
	if err := svcs.Delete(ctx, "hello", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "front door closed with its Service", refused(newURL))
}

// TestEndpointChurn sends requests from many goroutines while the Endpoints change under them,
// never empty: every request must succeed.
func TestEndpointChurn(t *testing.T) {
	h := newHarness(t)
	_, url, _ := threeHellos(t, h, nil)
	sets := [][]endpoint{{{"hello-0", "a"}, {"hello-1", "a"}}, {{"hello-1", "a"}, {"hello-2", "a"}}, {{"hello-2", "a"}, {"hello-0", "a"}}}
	c := h1Client(t)
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				resp, err := c.Get(url)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("GET = %d %q", resp.StatusCode, body)
					return
				}
			}
		})
	}
	for i := range 30 {
		h.setEndpoints(t, "hello", sets[i%len(sets)])
	}
	close(stop)
	wg.Wait()
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
