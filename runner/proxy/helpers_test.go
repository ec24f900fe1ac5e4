package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/runner/proxy"
	"github.com/wasmkube/wasmkube/runner/proxy/peer"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// harness is an API server, a client of it, a wazero runtime with samples/hello compiled and
// a runner certificate from the cluster CA.
type harness struct {
	api   *clustertest.API
	c     *client.Client
	rt    *sandbox.Runtime
	hello *sandbox.Module
	cert  tls.Certificate
	pool  *x509.CertPool
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	a := clustertest.StartAPI(tb, clustertest.WithConfig(func(c *apiserver.Config) {
		c.NodePorts = apiserver.PortRange{Min: 1024, Max: 65535} // tests pick free ports
	}))
	c, err := client.New(&client.Config{Server: a.URL, Token: a.Token, CAPEM: a.CAPEM})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	ctx := context.Background()
	rt, err := sandbox.NewRuntime(ctx, sandbox.RuntimeConfig{CacheDir: wasmtest.CacheDir(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(ctx) })
	m, err := rt.Compile(ctx, "", wasmtest.GoBuild(tb, "../../samples/hello", wasmtest.Reactor))
	if err != nil {
		tb.Fatal(err)
	}
	certPEM, keyPEM, err := a.CA.Issue(pki.CertRequest{
		CommonName: "system:node:test", Organization: []string{peer.NodesGroup},
		IPs:    []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)},
		Server: true, Client: true,
	}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		tb.Fatal(err)
	}
	return &harness{api: a, c: c, rt: rt, hello: m, cert: cert, pool: a.CA.Pool()}
}

// pods is what a test runner runs: the Local of its proxy.
type pods struct {
	mu sync.Mutex
	m  map[string]proxy.Backend
}

func newPods() *pods { return &pods{m: map[string]proxy.Backend{}} }

func (p *pods) add(name string, b proxy.Backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m["default/"+name] = b
}

func (p *pods) local(ns, name string) (proxy.Backend, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.m[ns+"/"+name]
	return b, ok
}

// startHello starts a sandbox pod of samples/hello named name, serving port 8080.
func (h *harness) startHello(tb testing.TB, name string) *sandbox.Pod {
	tb.Helper()
	return h.startPod(tb, sandbox.PodConfig{Name: name, Namespace: "default", Node: "a",
		Containers: []sandbox.ContainerConfig{{Name: "hello", Module: h.hello, Ports: []int{8080},
			Env: []string{"VERSION=v1"}, MemoryLimitBytes: 64 << 20, MaxInstances: 8}}})
}

func (h *harness) startPod(tb testing.TB, cfg sandbox.PodConfig) *sandbox.Pod {
	tb.Helper()
	ctx := context.Background()
	p, err := h.rt.NewPod(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close(ctx) })
	if err := p.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	return p
}

// startProxy runs a proxy of node at ip whose local pods are local, and registers the node
// with its InternalIP and peer port.
func (h *harness) startProxy(tb testing.TB, node, ip string, local *pods, change ...func(*proxy.Config)) *proxy.Proxy {
	tb.Helper()
	cfg := proxy.Config{Client: h.c, NodeName: node, NodeIP: ip, Local: local.local, Cert: h.cert, ClusterCA: h.pool}
	for _, f := range change {
		f(&cfg)
	}
	p, err := proxy.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: node,
		Annotations: map[string]string{proxy.PeerPortAnnotation: fmt.Sprint(p.PeerPort())}}}
	created, err := client.Nodes(h.c).Create(ctx, n)
	if err != nil {
		tb.Fatal(err)
	}
	created.Status.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: ip}}
	if _, err := client.Nodes(h.c).UpdateStatus(ctx, created); err != nil {
		tb.Fatal(err)
	}
	eventually(tb, "proxy "+node+" synced", p.Synced)
	return p
}

// freePort returns a port free for both TCP and UDP on ip.
func freePort(tb testing.TB, ip string) int {
	tb.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			tb.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", ip, port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	tb.Fatal("no free port")
	return 0
}

// endpoint is one ready address of an Endpoints object.
type endpoint struct{ pod, node string }

// createService creates a Service default/name of type typ with one port "http" (port 80,
// or port when type is LoadBalancer) to the pods' port "http" (8080) and the given nodePort.
func (h *harness) createService(tb testing.TB, name, typ string, port, nodePort int, annotations map[string]string) *api.Service {
	tb.Helper()
	svc := &api.Service{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default", Annotations: annotations},
		Spec: api.ServiceSpec{Type: typ, Ports: []api.ServicePort{{Name: "http", Port: int32(port),
			TargetPort: api.FromString("http"), NodePort: int32(nodePort)}}}}
	got, err := client.Services(h.c).Namespace("default").Create(context.Background(), svc)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// setEndpoints writes the Endpoints of Service default/name: eps ready, notReady not, all on
// port "http" 8080.
func (h *harness) setEndpoints(tb testing.TB, name string, eps []endpoint, notReady ...endpoint) {
	tb.Helper()
	addrs := func(list []endpoint) []api.EndpointAddress {
		var out []api.EndpointAddress
		for _, e := range list {
			node := e.node
			out = append(out, api.EndpointAddress{IP: "127.0.0.1", NodeName: &node,
				TargetRef: &api.ObjectReference{Kind: "Pod", Namespace: "default", Name: e.pod}})
		}
		return out
	}
	ep := &api.Endpoints{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
		Subsets: []api.EndpointSubset{{Addresses: addrs(eps), NotReadyAddresses: addrs(notReady),
			Ports: []api.EndpointPort{{Name: "http", Port: 8080}}}}}
	r := client.Endpoints(h.c).Namespace("default")
	ctx := context.Background()
	if cur, err := r.Get(ctx, name); err == nil {
		ep.ResourceVersion = cur.ResourceVersion
		if _, err := r.Update(ctx, ep); err != nil {
			tb.Fatal(err)
		}
		return
	}
	if _, err := r.Create(ctx, ep); err != nil {
		tb.Fatal(err)
	}
}

// get sends a GET to url with c and returns the status, the body and the header.
func get(tb testing.TB, c *http.Client, url string) (int, string, http.Header) {
	tb.Helper()
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// podOf returns the pod name a hello answer names.
func podOf(body string) string {
	line, _, _ := strings.Cut(body, "\n")
	return strings.TrimPrefix(line, "Container Hostname: ")
}

// answersFrom polls url until n requests in a row come back 200 from exactly the pods in want.
func answersFrom(tb testing.TB, c *http.Client, url string, n int, want ...string) {
	tb.Helper()
	eventually(tb, fmt.Sprintf("%s answered by %v", url, want), func() bool {
		seen := map[string]bool{}
		for range n {
			resp, err := c.Get(url)
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return false
			}
			seen[podOf(string(b))] = true
		}
		if len(seen) != len(want) {
			return false
		}
		for _, w := range want {
			if !seen[w] {
				return false
			}
		}
		return true
	})
}

// eventually polls cond until it holds, failing after a minute.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// h1 and h2c are plain clients of the front doors; each test gets its own connections.
func h1Client(tb testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func h2cClient(tb testing.TB) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// wasmtestBuild builds the reactor in dir.
func wasmtestBuild(tb testing.TB, dir string) []byte {
	return wasmtest.GoBuild(tb, dir, wasmtest.Reactor)
}

// startPodOutbound starts a pod of one module serving 8080 whose calls go out through out, with
// BACKEND_URL=http://hello.
func (h *harness) startPodOutbound(tb testing.TB, name string, m *sandbox.Module, out http.RoundTripper) *sandbox.Pod {
	tb.Helper()
	return h.startPod(tb, sandbox.PodConfig{Name: name, Namespace: "default", Node: "a", Outbound: out,
		Containers: []sandbox.ContainerConfig{{Name: "frontend", Module: m, Ports: []int{8080},
			Env: []string{"BACKEND_URL=http://hello"}, MemoryLimitBytes: 64 << 20}}})
}

// logTo is a logger writing text lines to w, for a test that reads a proxy's log.
func logTo(w *wasmtest.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
