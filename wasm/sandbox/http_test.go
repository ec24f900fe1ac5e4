package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// webPod starts a pod with the web test module at port 8080.
func webPod(t *testing.T, rt *sandbox.Runtime, mutate func(*sandbox.PodConfig)) (*sandbox.Pod, string) {
	t.Helper()
	cfg := sandbox.PodConfig{Name: "web-1", Namespace: "team", Node: "node-a",
		Containers: []sandbox.ContainerConfig{{Name: "web", Module: compile(t, rt, webWasm(t)), Ports: []int{8080},
			Args: []string{"--flag", "x"}, Env: []string{"GREETING=hi", "GREETING=hello"}}}}
	if mutate != nil {
		mutate(&cfg)
	}
	p := startPod(t, rt, cfg)
	return p, serve(t, p, 8080)
}

func TestHTTPModule(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	_, url := webPod(t, rt, nil)
	tests := []struct {
		name, path string
		want       string
	}{
		{"root", "/a/b?c=d", "ok GET /a/b"},
		{"env", "/env?name=GREETING", "hello"},
		{"identity", "/identity", "web-1 team node-a web-1"},
		{"args", "/args", "web --flag x"},
		{"sleep sleeps", "/sleep?d=20ms", "true"},
		{"no file system", "/ls?path=/", "error: open /: Bad file number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := fetch(t, url+tt.path)
			if status != 200 || body != tt.want {
				t.Fatalf("GET %s = %d %q, want 200 %q", tt.path, status, body, tt.want)
			}
		})
	}
	t.Run("clock", func(t *testing.T) {
		_, body := fetch(t, url+"/time")
		guest, _ := strconv.ParseInt(body, 10, 64)
		if d := time.Now().Unix() - guest; d < -2 || d > 2 {
			t.Fatalf("guest time %d, host %d", guest, time.Now().Unix())
		}
	})
	t.Run("randomness", func(t *testing.T) {
		_, a := fetch(t, url+"/rand")
		_, b := fetch(t, url+"/rand")
		if a == b || len(a) != 32 {
			t.Fatalf("rand gave %q then %q", a, b)
		}
	})
	t.Run("request and response", func(t *testing.T) {
		req, _ := http.NewRequest("POST", url+"/echo", strings.NewReader(strings.Repeat("body", 10000)))
		req.Header.Set("X-Test", "yes")
		req.Host = "example.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 201 || resp.Header.Get("X-Echo") != "yes" || resp.Header.Get("X-Host") != "example.test" ||
			string(b) != strings.Repeat("body", 10000) {
			t.Fatalf("echo = %d %v %d bytes", resp.StatusCode, resp.Header, len(b))
		}
	})
	t.Run("large response streams", func(t *testing.T) {
		status, body := fetch(t, url+"/big?n=1000000")
		if status != 200 || len(body) != 1000000 {
			t.Fatalf("big = %d, %d bytes", status, len(body))
		}
	})
	t.Run("small response has a length", func(t *testing.T) {
		resp, err := http.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ContentLength != int64(len("ok GET /")) || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("ContentLength %d, Content-Type %q", resp.ContentLength, resp.Header.Get("Content-Type"))
		}
	})
}

func TestMinimalModule(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	p := startPod(t, rt, sandbox.PodConfig{Name: "min",
		Containers: []sandbox.ContainerConfig{{Name: "c", Module: compile(t, rt, minimalHTTP()), Ports: []int{80}}}})
	status, body := fetch(t, serve(t, p, 80))
	if status != 200 || body != "hello\n" {
		t.Fatalf("GET = %d %q", status, body)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(81, rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("undeclared port: %d, want 502", rec.Code)
	}
}

// TestHostileHTTPGuests: each guest misbehaves in a request; the request gets its status, the
// instance is reported and replaced, and the pod (and a bystander pod) keep serving.
func TestHostileHTTPGuests(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	web := compile(t, rt, webWasm(t))
	bystander := startPod(t, rt, sandbox.PodConfig{Name: "bystander",
		Containers: []sandbox.ContainerConfig{{Name: "c", Module: compile(t, rt, minimalHTTP()), Ports: []int{80}}}})
	bystanderURL := serve(t, bystander, 80)
	tests := []struct {
		name       string
		module     *sandbox.Module
		path       string
		limit      int64
		wantStatus int
		wantReason sandbox.Reason
		wantCode   uint32
		timeout    time.Duration // 1s by default: what looping and sleeping guests run into
	}{
		{"panic", web, "/panic", 0, 500, sandbox.ReasonError, sandbox.ExitCodeTrap, 0}, // Go aborts with a trap
		{"exit", web, "/exit?code=7", 0, 500, sandbox.ReasonError, 7, 0},
		{"infinite loop", web, "/loop", 0, 504, sandbox.ReasonDeadlineExceeded, sandbox.ExitCodeKilled, 0},
		{"sleep past deadline", web, "/sleep?d=1h", 0, 504, sandbox.ReasonDeadlineExceeded, sandbox.ExitCodeKilled, 0},
		{"memory past limit", web, "/alloc?mb=100", 64 << 20, 500, sandbox.ReasonOOMKilled, sandbox.ExitCodeKilled, time.Minute},
		{"hand-written loop", compile(t, rt, handlerModule(loopForever)), "/", 0, 504, sandbox.ReasonDeadlineExceeded, sandbox.ExitCodeKilled, 0},
		{"hand-written growth", compile(t, rt, handlerModule(growForever)), "/", 8 << 20, 500, sandbox.ReasonOOMKilled, sandbox.ExitCodeKilled, time.Minute},
		{"hand-written trap", compile(t, rt, handlerModule([]byte{0x00})), "/", 0, 500, sandbox.ReasonError, sandbox.ExitCodeTrap, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.timeout == 0 {
				tt.timeout = time.Second
			}
			ex := newExits()
			var stderr wasmtest.Buffer
			p := startPod(t, rt, sandbox.PodConfig{Name: "hostile", OnExit: ex.record,
				Containers: []sandbox.ContainerConfig{{Name: "c", Module: tt.module, Ports: []int{80},
					MemoryLimitBytes: tt.limit, RequestTimeout: tt.timeout, Stderr: &stderr}}})
			url := serve(t, p, 80)
			status, body := fetch(t, url+tt.path)
			if status != tt.wantStatus {
				t.Fatalf("GET %s = %d %q, want %d", tt.path, status, body, tt.wantStatus)
			}
			x := ex.next(t)
			if x.Container != "c" || x.Reason != tt.wantReason || x.ExitCode != tt.wantCode {
				t.Fatalf("exit = %+v, want %s code %d", x, tt.wantReason, tt.wantCode)
			}
			if !strings.Contains(stderr.String(), "instance killed: "+string(tt.wantReason)) {
				t.Fatalf("stderr does not say the instance was killed:\n%s", stderr.String())
			}
			if tt.module == web {
				if status, body := fetch(t, url+"/"); status != 200 || body != "ok GET /" {
					t.Fatalf("after %s: GET / = %d %q", tt.name, status, body)
				}
			}
			if status, _ := fetch(t, bystanderURL); status != 200 {
				t.Fatalf("bystander pod answered %d", status)
			}
		})
	}
}

func TestPanicAfterHead(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	ex := newExits()
	p, _ := webPod(t, rt, func(c *sandbox.PodConfig) { c.OnExit = ex.record })
	rec := httptest.NewRecorder()
	p.ServeHTTP(8080, rec, httptest.NewRequest("GET", "/panic-late", nil))
	if rec.Code != 200 || rec.Body.String() != "partial" {
		t.Fatalf("got %d %q: the head and body sent before the panic stand", rec.Code, rec.Body.String())
	}
	if x := ex.next(t); x.Reason != sandbox.ReasonError {
		t.Fatalf("exit = %+v", x)
	}
}

func TestTrapAtInitialize(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	ex := newExits()
	p, err := rt.NewPod(context.Background(), sandbox.PodConfig{Name: "broken", OnExit: ex.record,
		Containers: []sandbox.ContainerConfig{{Name: "c", Module: compile(t, rt, trapAtInitialize()), Ports: []int{80}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	err = p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "_initialize") || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Start = %v, want the trap in _initialize", err)
	}
	if x := ex.next(t); x.Reason != sandbox.ReasonError || x.ExitCode != sandbox.ExitCodeTrap {
		t.Fatalf("exit = %+v", x)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(80, rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("request to a module that cannot start: %d, want 503", rec.Code)
	}
}

func TestMemoryLimitBelowMinimum(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	_, err := rt.NewPod(context.Background(), sandbox.PodConfig{Name: "p",
		Containers: []sandbox.ContainerConfig{{Name: "c", Module: compile(t, rt, bigMemory(100)), MemoryLimitBytes: 1 << 20}}})
	if !errors.Is(err, sandbox.ErrMemoryLimit) {
		t.Fatalf("NewPod = %v, want ErrMemoryLimit", err)
	}
}

// TestPoolGrowsAndWaits holds instances busy through the pod's Outbound, which the test controls.
func TestPoolGrowsAndWaits(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{IdleTimeout: 10 * time.Millisecond})
	gate := newGate()
	p, url := webPod(t, rt, func(c *sandbox.PodConfig) {
		c.Outbound = gate
		c.Containers[0].MaxInstances = 3
	})
	var wg sync.WaitGroup
	results := make(chan string, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := fetch(t, url+"/call?url=http://outside.test/")
			results <- body
		}()
	}
	for range 3 {
		<-gate.entered
	}
	if s := p.Stats()[0]; s.Instances != 3 || s.Idle != 0 {
		t.Fatalf("3 requests in flight: %+v", s)
	}
	// The pool is full: a fourth request waits, and gives up when its client does.
	req := httptest.NewRequest("GET", "/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	p.ServeHTTP(8080, rec, req.WithContext(ctx))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "no instance available") {
		t.Fatalf("request to a full pool: %d %q, want 503", rec.Code, rec.Body.String())
	}
	close(gate.release)
	wg.Wait()
	close(results)
	for body := range results {
		if body != "200 outside" {
			t.Fatalf("call = %q", body)
		}
	}
	eventually(t, "idle instances closed", func() bool { return p.Stats()[0].Instances == 1 })
}

// gate is an Outbound that holds each request until released.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 100), release: make(chan struct{})} }

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("outside")),
		ContentLength: 7, Request: req}, nil
}

func TestConcurrentRequests(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	p, url := webPod(t, rt, func(c *sandbox.PodConfig) { c.Containers[0].MaxInstances = 2 })
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := fetch(t, fmt.Sprintf("%s/n%d", url, i))
			if status != 200 || body != fmt.Sprintf("ok GET /n%d", i) {
				t.Errorf("request %d: %d %q", i, status, body)
			}
		}()
	}
	wg.Wait()
	if s := p.Stats()[0]; s.Instances > 2 || s.MemoryBytes == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRestartHTTPContainer(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	p, url := webPod(t, rt, nil)
	fetch(t, url+"/alloc?mb=1")
	if _, body := fetch(t, url+"/alloc?mb=0"); body != "holding 1 MiB" {
		t.Fatalf("before restart: %q", body)
	}
	if err := p.Restart(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if _, body := fetch(t, url+"/alloc?mb=0"); body != "holding 0 MiB" {
		t.Fatalf("after restart the instance is fresh: %q", body)
	}
}

func TestClosePod(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	t.Run("drains requests in flight", func(t *testing.T) {
		gate := newGate()
		p, url := webPod(t, rt, func(c *sandbox.PodConfig) { c.Outbound = gate })
		done := make(chan string)
		go func() {
			_, body := fetch(t, url+"/call?url=http://outside.test/")
			done <- body
		}()
		<-gate.entered
		closed := make(chan error)
		go func() { closed <- p.Close(context.Background()) }()
		eventually(t, "the pod to refuse requests", func() bool {
			rec := httptest.NewRecorder()
			p.ServeHTTP(8080, rec, httptest.NewRequest("GET", "/", nil))
			return rec.Code == http.StatusServiceUnavailable
		})
		close(gate.release)
		if body := <-done; body != "200 outside" {
			t.Fatalf("request in flight: %q", body)
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("kills at the deadline", func(t *testing.T) {
		p, url := webPod(t, rt, func(c *sandbox.PodConfig) { c.Containers[0].RequestTimeout = time.Hour })
		done := make(chan int)
		go func() {
			status, _ := fetch(t, url+"/loop")
			done <- status
		}()
		eventually(t, "the loop to run", func() bool { return p.Stats()[0].Idle == 0 })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want the deadline", err)
		}
		if status := <-done; status != http.StatusServiceUnavailable {
			t.Fatalf("killed request: %d, want 503", status)
		}
	})
}

// TestPoolHammer mixes healthy and crashing requests from many goroutines on a small pool: every
// request is answered, and the pool never holds more than its bound.
func TestPoolHammer(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{IdleTimeout: time.Millisecond})
	ex := newExits()
	go func() {
		for range ex.ch { // drain: the pod reports every crash
		}
	}()
	p, url := webPod(t, rt, func(c *sandbox.PodConfig) {
		c.Containers[0].MaxInstances = 3
		c.Containers = append(c.Containers, sandbox.ContainerConfig{Name: "back", Module: c.Containers[0].Module,
			Ports: []int{9000}, MaxInstances: 2})
		c.OnExit = func(x sandbox.Exit) { ex.ch <- x }
	})
	// No request calls its own container: with every instance waiting on a call to itself, a
	// bounded pool starves until the requests' deadlines, as a bounded thread pool would.
	paths := []string{"/", "/panic", "/sleep?d=1ms", "/call?url=http://localhost:9000/panic", "/call?url=http://localhost:9000/"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				path := paths[(g+i)%len(paths)]
				status, body := fetch(t, url+path)
				if want := map[string]int{"/panic": 500}[path]; want == 0 && status != 200 || want != 0 && status != want {
					t.Errorf("GET %s = %d %q", path, status, body)
				}
				if s := p.Stats()[0]; s.Instances > 3 {
					t.Errorf("%d instances, bound 3", s.Instances)
				}
			}
		}()
	}
	wg.Wait()
	close(ex.ch)
	// The last request to a container may have crashed its last instance: one healthy request
	// through both leaves each with at least one.
	if status, body := fetch(t, url+"/call?url=http://localhost:9000/"); status != 200 || !strings.HasPrefix(body, "200 ") {
		t.Fatalf("GET /call = %d %q", status, body)
	}
	eventually(t, "the pools to shrink", func() bool {
		s := p.Stats()
		return s[0].Instances == 1 && s[1].Instances == 1
	})
}
