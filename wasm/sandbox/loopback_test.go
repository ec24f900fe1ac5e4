package sandbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// outbound routes every request to one real server, as the runner will route Service names.
type outbound struct{ target *url.URL }

func (o outbound) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = o.target.Scheme, o.target.Host
	return http.DefaultTransport.RoundTrip(out)
}

func TestLoopback(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	web := compile(t, rt, webWasm(t))
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write([]byte("outside got " + string(b) + " for " + r.Host))
	}))
	defer outside.Close()
	target, _ := url.Parse(outside.URL)
	pods := map[string]sandbox.PodConfig{
		"without outbound": {},
		"with outbound":    {Outbound: outbound{target}},
	}
	for name, cfg := range pods {
		t.Run(name, func(t *testing.T) {
			cfg.Name = "loop"
			cfg.Containers = []sandbox.ContainerConfig{
				{Name: "front", Module: web, Ports: []int{8080}},
				{Name: "back", Module: web, Ports: []int{9000, 9001}},
			}
			front := serve(t, startPod(t, rt, cfg), 8080)
			tests := []struct {
				call, want string
			}{
				{"http://localhost:9000/echo", "201 ping"},
				{"http://127.0.0.1:9001/echo", "201 ping"},
				{"http://[::1]:9000/env?name=HOSTNAME", "200 loop"},
				{"http://localhost:8080/", "200 ok POST /"}, // itself, on another instance
				{"http://localhost:9999/", "error: Post \"http://localhost:9999/\": guest: connect to localhost:9999: connection refused: no container of pod loop declares port 9999"},
				{"https://localhost:9000/", "error: Post \"https://localhost:9000/\": guest: the pod loopback serves http, not https"},
			}
			if cfg.Outbound == nil {
				tests = append(tests, struct{ call, want string }{"http://hello.default/",
					"error: Post \"http://hello.default/\": guest: no route to host hello.default: pod loop reaches only its own ports on localhost"})
			} else {
				tests = append(tests, struct{ call, want string }{"http://hello.default/", "200 outside got ping for hello.default"})
			}
			for _, tt := range tests {
				_, body := fetch(t, front+"/call?url="+url.QueryEscape(tt.call))
				if body != tt.want {
					t.Errorf("call %s = %q, want %q", tt.call, body, tt.want)
				}
			}
		})
	}
}

func TestLoopbackBodyBound(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	web := compile(t, rt, webWasm(t))
	front := serve(t, startPod(t, rt, sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
		{Name: "front", Module: web, Ports: []int{8080}}, {Name: "back", Module: web, Ports: []int{9000}}}}), 8080)
	_, body := fetch(t, front+"/call?url="+url.QueryEscape("http://localhost:9000/big?n=40000000"))
	if !strings.HasPrefix(body, "200 ") || len(body) != 4+32<<20 {
		t.Fatalf("a 40 MB loopback response gives %d bytes, want it cut at 32 MiB", len(body))
	}
}
