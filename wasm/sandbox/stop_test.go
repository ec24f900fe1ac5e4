package sandbox_test

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// loopAtInitialize is an HTTP module whose _initialize loops forever:
//
//	(module (memory (export "memory") 1)
//	  (func (export "_initialize") (loop (br 0))) (func (export "wasmkube_handle_v1")))
func loopAtInitialize() []byte {
	m := wasmtest.Module{
		Types:  []wasmtest.FuncType{typeVoid},
		Funcs:  []wasmtest.Func{{Type: 0, Body: loopForever}, {Type: 0}},
		Memory: noMax,
		Exports: []wasmtest.Export{{Name: "_initialize", Kind: wasmtest.ExportFunc, Index: 0},
			{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc, Index: 1}, {Name: "memory", Kind: wasmtest.ExportMemory}},
	}
	return m.Encode()
}

// loopAtStart is an HTTP module whose start section loops forever:
//
//	(module (memory (export "memory") 1)
//	  (func $loop (loop (br 0))) (start $loop) (func (export "wasmkube_handle_v1")))
func loopAtStart() []byte {
	m := wasmtest.Module{
		Types:  []wasmtest.FuncType{typeVoid},
		Funcs:  []wasmtest.Func{{Type: 0, Body: loopForever}, {Type: 0}},
		Memory: noMax,
		Exports: []wasmtest.Export{{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc, Index: 1},
			{Name: "memory", Kind: wasmtest.ExportMemory}},
	}
	wasm := m.Encode()
	pos := 8 // the start section goes before the code section (10)
	for wasm[pos] != 10 {
		size, n := binary.Uvarint(wasm[pos+1:])
		pos += 1 + n + int(size)
	}
	return slices.Concat(wasm[:pos], []byte{8, 1, 0}, wasm[pos:])
}

// TestStopLoopingGuests stops guests looping in each place a guest runs: its handler at the
// request's deadline, its _initialize at the request timeout, a command when the runtime closes.
func TestStopLoopingGuests(t *testing.T) {
	t.Run("handler at the deadline, many times over", func(t *testing.T) {
		rt := newRuntime(t, sandbox.RuntimeConfig{})
		ex := newExits()
		p := startPod(t, rt, sandbox.PodConfig{Name: "spin", OnExit: ex.record, Containers: []sandbox.ContainerConfig{
			{Name: "spin", Module: compile(t, rt, handlerModule(loopForever)), Ports: []int{80},
				RequestTimeout: 20 * time.Millisecond, MaxInstances: 4},
			{Name: "ok", Module: compile(t, rt, minimalHTTP()), Ports: []int{81}, MaxInstances: 2},
		}})
		// Looping and healthy requests from 4 goroutines: every loop is killed with a 504 and its
		// instance replaced; no healthy call, on instances whose timers are reused, is touched.
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					port, want := 81, http.StatusOK
					if (g+i)%4 == 0 {
						port, want = 80, http.StatusGatewayTimeout
					}
					rec := httptest.NewRecorder()
					p.ServeHTTP(port, rec, httptest.NewRequest("GET", "/", nil))
					if rec.Code != want {
						t.Errorf("port %d: %d %q, want %d", port, rec.Code, rec.Body.String(), want)
					}
				}
			}()
		}
		wg.Wait()
		for range 10 {
			if x := ex.next(t); x.Container != "spin" || x.Reason != sandbox.ReasonDeadlineExceeded || x.ExitCode != sandbox.ExitCodeKilled {
				t.Fatalf("exit = %+v", x)
			}
		}
		if s := p.Stats(); s[0].Instances > 4 || s[1].Instances > 2 {
			t.Fatalf("stats %+v: more instances than the bound", s)
		}
	})
	for _, tt := range []struct {
		name, want string
		module     []byte
	}{
		{"_initialize", "_initialize", loopAtInitialize()},
		{"start section", "wasmkube.start", loopAtStart()},
	} {
		t.Run(tt.name+" at the request timeout", func(t *testing.T) {
			rt := newRuntime(t, sandbox.RuntimeConfig{})
			ex := newExits()
			p, err := rt.NewPod(context.Background(), sandbox.PodConfig{Name: "slow", OnExit: ex.record,
				Containers: []sandbox.ContainerConfig{{Name: "c", Module: compile(t, rt, tt.module), Ports: []int{80},
					RequestTimeout: 50 * time.Millisecond}}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			if err := p.Start(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want %s killed", err, tt.want)
			}
			if x := ex.next(t); x.Reason != sandbox.ReasonDeadlineExceeded {
				t.Fatalf("exit = %+v", x)
			}
		})
	}
	t.Run("garbage collection during a loop", func(t *testing.T) {
		// A goroutine in native code cannot be preempted: without the guest's periodic exits, a
		// collection would wait for the loop to be killed, here in an hour.
		rt := newRuntime(t, sandbox.RuntimeConfig{})
		p, url := webPod(t, rt, func(c *sandbox.PodConfig) { c.Containers[0].RequestTimeout = time.Hour })
		done := make(chan int)
		go func() {
			status, _ := fetch(t, url+"/loop")
			done <- status
		}()
		eventually(t, "the loop to run", func() bool { return p.Stats()[0].Idle == 0 })
		collected := make(chan struct{})
		go func() {
			runtime.GC()
			close(collected)
		}()
		now, cancel := context.WithCancel(context.Background())
		cancel()
		select {
		case <-collected:
		case <-time.After(time.Minute):
			p.Close(now)
			t.Fatal("garbage collection blocked by a looping guest")
		}
		p.Close(now)
		if status := <-done; status != http.StatusServiceUnavailable {
			t.Fatalf("killed request: %d, want 503", status)
		}
	})
	t.Run("command when the runtime closes", func(t *testing.T) {
		rt := newRuntime(t, sandbox.RuntimeConfig{})
		ex := newExits()
		p := startPod(t, rt, sandbox.PodConfig{Name: "job", OnExit: ex.record, Containers: []sandbox.ContainerConfig{
			{Name: "job", Module: compile(t, rt, cmdWasm(t)), Args: []string{"loop"}}}})
		eventually(t, "the command to run", func() bool { return p.Stats()[0].Instances == 1 })
		if err := rt.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if x := ex.next(t); x.Reason != sandbox.ReasonStopped || x.ExitCode != sandbox.ExitCodeKilled {
			t.Fatalf("exit = %+v", x)
		}
	})
}
