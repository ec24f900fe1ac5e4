package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

func TestCommands(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	cmd := compile(t, rt, cmdWasm(t))
	web := compile(t, rt, webWasm(t))
	tests := []struct {
		name       string
		module     *sandbox.Module
		args       []string
		limit      int64
		deadline   time.Duration
		withWeb    bool // a sibling HTTP container "api" at port 8080
		wantReason sandbox.Reason
		wantCode   uint32
		wantStdout string
		wantStderr string
	}{
		{name: "exit 0", module: cmd, args: []string{"exit", "0"}, wantReason: sandbox.ReasonCompleted,
			wantStdout: "exiting with 0\n", wantStderr: "to stderr\n"},
		{name: "exit 3", module: cmd, args: []string{"exit", "3"}, wantReason: sandbox.ReasonError, wantCode: 3,
			wantStdout: "exiting with 3\n"},
		{name: "returns from main", module: cmd, args: []string{"args", "a b"}, wantReason: sandbox.ReasonCompleted,
			wantStdout: "[job args a b]\n"},
		{name: "env", module: cmd, args: []string{"env", "POD_NAMESPACE"}, wantReason: sandbox.ReasonCompleted,
			wantStdout: "batch\n"},
		{name: "panic", module: cmd, args: []string{"panic"}, wantReason: sandbox.ReasonError, wantCode: 2,
			wantStderr: "panic: command panic"},
		{name: "hand-written exit", module: compile(t, rt, commandModule(exitWith(5))), wantReason: sandbox.ReasonError, wantCode: 5},
		{name: "trap at start", module: compile(t, rt, commandModule([]byte{0x00})), wantReason: sandbox.ReasonError,
			wantCode: sandbox.ExitCodeTrap},
		{name: "loop past active deadline", module: cmd, args: []string{"loop"}, deadline: 300 * time.Millisecond,
			wantReason: sandbox.ReasonDeadlineExceeded, wantCode: sandbox.ExitCodeKilled},
		{name: "sleep past active deadline", module: cmd, args: []string{"sleep", "1h"}, deadline: 300 * time.Millisecond,
			wantReason: sandbox.ReasonDeadlineExceeded, wantCode: sandbox.ExitCodeKilled},
		{name: "memory past limit", module: cmd, args: []string{"alloc"}, limit: 32 << 20,
			wantReason: sandbox.ReasonOOMKilled, wantCode: sandbox.ExitCodeKilled},
		{name: "hand-written growth", module: compile(t, rt, commandModule(growForever)), limit: 4 << 20,
			wantReason: sandbox.ReasonOOMKilled, wantCode: sandbox.ExitCodeKilled},
		{name: "calls its pod", module: cmd, args: []string{"call", "http://localhost:8080/x"}, withWeb: true,
			wantReason: sandbox.ReasonCompleted, wantStdout: "200 ok GET /x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newExits()
			var stdout, stderr wasmtest.Buffer
			cfg := sandbox.PodConfig{Name: "job-1", Namespace: "batch", OnExit: ex.record, ActiveDeadline: tt.deadline,
				Containers: []sandbox.ContainerConfig{{Name: "job", Module: tt.module, Args: tt.args,
					MemoryLimitBytes: tt.limit, Stdout: &stdout, Stderr: &stderr}}}
			if tt.withWeb {
				cfg.Containers = append(cfg.Containers, sandbox.ContainerConfig{Name: "api", Module: web, Ports: []int{8080}})
			}
			startPod(t, rt, cfg)
			x := ex.next(t)
			if x.Container != "job" || x.Reason != tt.wantReason || x.ExitCode != tt.wantCode {
				t.Fatalf("exit = %+v, want %s code %d\nstdout: %s\nstderr: %s", x, tt.wantReason, tt.wantCode, stdout.String(), stderr.String())
			}
			if tt.wantReason == sandbox.ReasonCompleted && x.Err != nil {
				t.Fatalf("completed with error %v", x.Err)
			}
			if stdout.String() != tt.wantStdout {
				t.Fatalf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if !strings.HasPrefix(stderr.String(), tt.wantStderr) {
				t.Fatalf("stderr = %q, want it to start with %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestCommandRestartAndStop(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	cmd := compile(t, rt, cmdWasm(t))
	ex := newExits()
	var stdout wasmtest.Buffer
	p := startPod(t, rt, sandbox.PodConfig{Name: "p", OnExit: ex.record, Containers: []sandbox.ContainerConfig{
		{Name: "once", Module: cmd, Args: []string{"exit", "0"}, Stdout: &stdout},
		{Name: "forever", Module: cmd, Args: []string{"sleep", "1h"}},
	}})
	if x := ex.next(t); x.Container != "once" || x.Reason != sandbox.ReasonCompleted {
		t.Fatalf("exit = %+v", x)
	}
	if err := p.Restart(context.Background(), "once"); err != nil {
		t.Fatal(err)
	}
	if x := ex.next(t); x.Container != "once" || x.Reason != sandbox.ReasonCompleted {
		t.Fatalf("exit = %+v", x)
	}
	if stdout.String() != "exiting with 0\nexiting with 0\n" {
		t.Fatalf("stdout after a restart: %q", stdout.String())
	}
	if err := p.Restart(context.Background(), "forever"); !errors.Is(err, sandbox.ErrRunning) {
		t.Fatalf("Restart of a running command = %v, want ErrRunning", err)
	}
	eventually(t, "the sleeper's stats", func() bool {
		s := p.Stats()
		return s[1].Instances == 1 && s[1].MemoryBytes > 0
	})
	// Kill ends the sleeper alone, as a failed liveness probe does; it can run again.
	if err := p.Kill("once", "probe"); err == nil {
		t.Fatal("Kill of a command that is not running succeeded")
	}
	if err := p.Kill("forever", "Liveness probe failed: no answer"); err != nil {
		t.Fatal(err)
	}
	x := ex.next(t)
	if x.Container != "forever" || x.Reason != sandbox.ReasonError || x.ExitCode != sandbox.ExitCodeKilled ||
		x.Err == nil || !strings.Contains(x.Err.Error(), "Liveness probe failed: no answer") {
		t.Fatalf("exit after Kill = %+v", x)
	}
	if err := p.Restart(context.Background(), "forever"); err != nil {
		t.Fatalf("Restart after Kill: %v", err)
	}
	eventually(t, "the sleeper runs again", func() bool { return p.Stats()[1].Instances == 1 })
	// Close stops the sleeping command at once; it has no way to be asked.
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if x := ex.next(t); x.Container != "forever" || x.Reason != sandbox.ReasonStopped {
		t.Fatalf("exit = %+v", x)
	}
	if err := p.Restart(context.Background(), "once"); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Restart after Close = %v, want ErrClosed", err)
	}
}
