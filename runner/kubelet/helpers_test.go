package kubelet_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/runner/kubelet"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

const nodeName = "node-1"

// logSource forwards pods/log to the source set later (the API server is built first).
type logSource struct {
	mu  sync.Mutex
	src apiserver.LogSource
}

func (l *logSource) set(src apiserver.LogSource) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.src = src
}

func (l *logSource) Logs(ctx context.Context, p *api.Pod, o apiserver.LogOptions, w io.Writer) error {
	l.mu.Lock()
	src := l.src
	l.mu.Unlock()
	if src == nil {
		return api.BadRequest("no runner yet")
	}
	return src.Logs(ctx, p, o, w)
}

// cluster is an API server and a client of it.
type cluster struct {
	api *clustertest.API
	c   *client.Client
	ls  *logSource
}

func newCluster(t testing.TB, change ...func(*apiserver.Config)) *cluster {
	t.Helper()
	ls := &logSource{}
	a := clustertest.StartAPI(t, clustertest.WithConfig(func(c *apiserver.Config) {
		c.LogSource = ls
		for _, f := range change {
			f(c)
		}
	}))
	c, err := client.New(&client.Config{Server: a.URL, Token: a.Token, CAPEM: a.CAPEM})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &cluster{api: a, c: c, ls: ls}
}

// runner is a running Runner.
type runner struct {
	*kubelet.Runner
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func (r *runner) stop(t testing.TB) {
	r.once.Do(func() {
		r.cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// startRunner runs a runner of nodeName with short back-offs, storing its data in dir; the API
// server reads its logs from it directly unless a change sets LogListen.
func (cl *cluster) startRunner(t testing.TB, dir string, change ...func(*kubelet.Config)) *runner {
	t.Helper()
	cfg := kubelet.Config{Client: cl.c, NodeName: nodeName, NodeIP: "127.0.0.1", DataDir: dir, CacheDir: wasmtest.CacheDir(t),
		RenewInterval: 200 * time.Millisecond, BackoffBase: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond}
	for _, f := range change {
		f(&cfg)
	}
	r, err := kubelet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &runner{Runner: r, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(func() { run.stop(t) })
	if cfg.LogListen == "" {
		cl.ls.set(r)
	}
	select {
	case <-r.Synced():
	case <-time.After(time.Minute):
		t.Fatal("runner did not sync")
	}
	return run
}

// modules are the test modules written to disk, as file:// images.
type modules struct{ hello, web, cmd, notWasm, minimal, trapInit, noExport string }

func buildModules(t testing.TB) modules {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	return modules{
		hello:    write("hello.wasm", wasmtest.GoBuild(t, "../../samples/hello", wasmtest.Reactor)),
		web:      write("web.wasm", wasmtest.GoBuild(t, "../../wasm/sandbox/testdata/web", wasmtest.Reactor)),
		cmd:      write("cmd.wasm", wasmtest.GoBuild(t, "../../wasm/sandbox/testdata/cmd", wasmtest.Command)),
		notWasm:  write("not.wasm", []byte("#!/bin/sh\necho this is not wasm\n")),
		minimal:  write("minimal.wasm", minimalHTTP()),
		trapInit: write("trap.wasm", trapAtInitialize()),
		noExport: write("noexport.wasm", (&wasmtest.Module{Memory: &wasmtest.Memory{Min: 1, Max: -1}}).Encode()),
	}
}

func pod(name, restart string, containers ...api.Container) *api.Pod {
	return &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec: api.PodSpec{NodeName: nodeName, RestartPolicy: restart, Containers: containers}}
}

func (cl *cluster) create(t testing.TB, p *api.Pod) *api.Pod {
	t.Helper()
	got, err := client.Pods(cl.c).Namespace(p.Namespace).Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitPod polls the pod until cond holds (nil error) and returns it; it fails after a minute with
// cond's last complaint.
func (cl *cluster) waitPod(t testing.TB, name string, cond func(*api.Pod) error) *api.Pod {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		p, err := client.Pods(cl.c).Namespace("default").Get(context.Background(), name)
		if err == nil {
			if last = cond(p); last == nil {
				return p
			}
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("pod %s: %v", name, last)
	return nil
}

func runningReady(p *api.Pod) error {
	if p.Status.Phase != api.PodRunning || !condition(p, api.PodReady) {
		return fmt.Errorf("phase %q ready %v, status %+v", p.Status.Phase, condition(p, api.PodReady), p.Status.ContainerStatuses)
	}
	return nil
}

func condition(p *api.Pod, typ string) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// get asks a pod's port over its loopback, as the proxy does.
func get(t testing.TB, r *runner, name string, port int, path string) (int, string) {
	t.Helper()
	sb, ok := r.Pod("default", name)
	if !ok {
		t.Fatalf("pod %s does not run", name)
	}
	rec := httptest.NewRecorder()
	sb.ServeHTTP(port, rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// logs reads pods/log through the API server.
func (cl *cluster) logs(t testing.TB, ctx context.Context, name, query string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cl.api.URL+"/api/v1/namespaces/default/pods/"+name+"/log?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cl.api.Token)
	resp, err := cl.api.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// minimalHTTP answers "hello\n":
//
//	(module
//	  (import "wasmkube" "response_body_write" (func $write (param i32 i32) (result i32)))
//	  (memory (export "memory") 1)
//	  (data (i32.const 0) "hello\n")
//	  (func (export "wasmkube_handle_v1") (drop (call $write (i32.const 0) (i32.const 6)))))
func minimalHTTP() []byte {
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{{Params: []byte{wasmtest.I32, wasmtest.I32}, Results: []byte{wasmtest.I32}}, {}},
		Imports: []wasmtest.Import{{Module: "wasmkube", Name: "response_body_write", Type: 0}},
		Funcs: []wasmtest.Func{{Type: 1, Body: wasmtest.Cat(
			wasmtest.I32Const(0), wasmtest.I32Const(6), wasmtest.Call(0), []byte{wasmtest.OpDrop})}},
		Memory: &wasmtest.Memory{Min: 1, Max: -1},
		Exports: []wasmtest.Export{
			{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc, Index: 1},
			{Name: "memory", Kind: wasmtest.ExportMemory},
		},
		Data: []wasmtest.Data{{Offset: 0, Bytes: []byte("hello\n")}},
	}
	return m.Encode()
}

// trapAtInitialize is an HTTP module whose _initialize traps:
//
//	(module (memory (export "memory") 1)
//	  (func (export "_initialize") unreachable) (func (export "wasmkube_handle_v1")))
func trapAtInitialize() []byte {
	m := wasmtest.Module{
		Types:  []wasmtest.FuncType{{}},
		Funcs:  []wasmtest.Func{{Type: 0, Body: []byte{wasmtest.OpUnreachable}}, {Type: 0}},
		Memory: &wasmtest.Memory{Min: 1, Max: -1},
		Exports: []wasmtest.Export{{Name: "_initialize", Kind: wasmtest.ExportFunc, Index: 0},
			{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc, Index: 1}, {Name: "memory", Kind: wasmtest.ExportMemory}},
	}
	return m.Encode()
}
