package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

func newRuntime(tb testing.TB, cfg sandbox.RuntimeConfig) *sandbox.Runtime {
	tb.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = wasmtest.CacheDir(tb)
	}
	rt, err := sandbox.NewRuntime(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func compile(tb testing.TB, rt *sandbox.Runtime, wasm []byte) *sandbox.Module {
	tb.Helper()
	m, err := rt.Compile(context.Background(), "", wasm)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// startPod creates and starts a pod, closing it when the test ends.
func startPod(tb testing.TB, rt *sandbox.Runtime, cfg sandbox.PodConfig) *sandbox.Pod {
	tb.Helper()
	p, err := rt.NewPod(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close(context.Background()) })
	if err := p.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return p
}

// serve puts a pod's port behind a real HTTP server on 127.0.0.1 and returns its URL.
func serve(tb testing.TB, p *sandbox.Pod, port int) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.ServeHTTP(port, w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// fetch GETs url and returns the status and body.
func fetch(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// exits collects what a pod reports to OnExit.
type exits struct {
	mu   sync.Mutex
	list []sandbox.Exit
	ch   chan sandbox.Exit
}

func newExits() *exits { return &exits{ch: make(chan sandbox.Exit, 100)} }

func (e *exits) record(x sandbox.Exit) {
	e.mu.Lock()
	e.list = append(e.list, x)
	e.mu.Unlock()
	e.ch <- x
}

// next waits for the next exit, failing the test if none comes within a minute (a hang).
func (e *exits) next(tb testing.TB) sandbox.Exit {
	tb.Helper()
	select {
	case x := <-e.ch:
		return x
	case <-time.After(time.Minute):
		tb.Fatal("no exit reported")
		return sandbox.Exit{}
	}
}

// eventually polls cond until it holds, failing after a minute.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
