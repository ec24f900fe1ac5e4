package proxy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/runner/proxy"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// TestRemoteEndpoint runs two proxies, of node a at 127.0.0.1 and node b at 127.0.0.2, with the
// only hello pod on b: a's front door reaches it over QUIC through b's proxy.
func TestRemoteEndpoint(t *testing.T) {
	h := newHarness(t)
	onA, onB := newPods(), newPods()
	onB.add("hello-b", h.startHello(t, "hello-b"))
	a := h.startProxy(t, "a", "127.0.0.1", onA)
	h.startProxy(t, "b", "127.0.0.2", onB)
	port := freePort(t, "127.0.0.1")
	h.createService(t, "hello", api.ServiceNodePort, 80, port, nil)
	h.setEndpoints(t, "hello", []endpoint{{"hello-b", "b"}})
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		t.Run("through "+ip, func(t *testing.T) {
			answersFrom(t, h1Client(t), fmt.Sprintf("http://%s:%d/", ip, port), 3, "hello-b")
		})
	}
	t.Run("POST with a body", func(t *testing.T) {
		resp, err := h1Client(t).Post(fmt.Sprintf("http://127.0.0.1:%d/", port), "text/plain", strings.NewReader(strings.Repeat("x", 100_000)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST = %d", resp.StatusCode)
		}
	})
	// hello-gone is listed on b but b does not run it: b says so and a retries on hello-b,
	// whatever the method.
	h.setEndpoints(t, "hello", []endpoint{{"hello-gone", "b"}, {"hello-b", "b"}})
	eventually(t, "endpoints updated", func() bool {
		return strings.Contains(scrape(t, a), `wasmkube_proxy_endpoints{namespace="default",service="hello"} 2`)
	})
	c := h1Client(t)
	for i := range 6 {
		resp, err := c.Post(fmt.Sprintf("http://127.0.0.1:%d/", port), "text/plain", strings.NewReader("hi"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST #%d = %d", i, resp.StatusCode)
		}
	}
	if text := scrape(t, a); !strings.Contains(text, `wasmkube_proxy_errors_total{namespace="default",reason="pod_gone",service="hello"}`) {
		t.Fatalf("metrics of a lack the pod_gone errors:\\n%s", text)
	}
}

// TestLoadBalancer runs two proxies that both serve a LoadBalancer Service's address
// 127.0.0.3 at its port, sharing it with SO_REUSEPORT, besides their node ports.
func TestLoadBalancer(t *testing.T) {
	h := newHarness(t)
	local := newPods()
	local.add("hello-0", h.startHello(t, "hello-0"))
	var logs [2]wasmtest.Buffer
	h.startProxy(t, "a", "127.0.0.1", local, func(c *proxy.Config) { c.Logger = logTo(&logs[0]) })
	h.startProxy(t, "b", "127.0.0.2", newPods(), func(c *proxy.Config) { c.Logger = logTo(&logs[1]) })
	port, nodePort := freePort(t, "127.0.0.3"), freePort(t, "127.0.0.1")
	svc := h.createService(t, "hello", api.ServiceLoadBalancer, port, nodePort, nil)
	h.setEndpoints(t, "hello", []endpoint{{"hello-0", "a"}})
	svc.Status.LoadBalancer.Ingress = []api.LoadBalancerIngress{{IP: "127.0.0.3"}}
	if _, err := client.Services(h.c).Namespace("default").UpdateStatus(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	lb := fmt.Sprintf("127.0.0.3:%d", port)
	for i := range logs {
		eventually(t, fmt.Sprintf("proxy %d serves %s", i, lb), func() bool {
			return strings.Contains(logs[i].String(), "front door open") && strings.Contains(logs[i].String(), "addr="+lb)
		})
	}
	for _, url := range []string{"http://" + lb + "/", fmt.Sprintf("http://127.0.0.2:%d/", nodePort)} {
		answersFrom(t, h1Client(t), url, 3, "hello-0")
	}
}
