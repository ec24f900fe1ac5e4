package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/client"
)

// The end-to-end tests drive the real wk binary, built once per test run.
var (
	buildOnce sync.Once
	wkBinary  string
	buildErr  error
)

func wkBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wk-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		wkBinary = filepath.Join(dir, "wk")
		cmd := exec.Command("go", "build", "-o", wkBinary, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return wkBinary
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a wk process started by a test; its output is kept for failure messages.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

func startProc(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(wkBin(t), args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("output of wk %s:\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop interrupts the process and waits for it.
func (p *proc) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	exited := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-exited
	}
	<-p.done
}

// kill sends SIGKILL and waits.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	<-p.done
}

// startServer runs `wk server` on dataDir and returns it with an admin client once it serves.
func startServer(t testing.TB, dataDir, addr string, extra ...string) (*proc, *client.Client) {
	t.Helper()
	args := append([]string{"server", "--data-dir", dataDir, "--api-addr", addr}, extra...)
	p := startProc(t, nil, args...)
	deadline := time.Now().Add(60 * time.Second)
	kc := filepath.Join(dataDir, "kubeconfig")
	for time.Now().Before(deadline) {
		if strings.Contains(p.output(), "export KUBECONFIG=") {
			cfg, err := client.FromKubeconfig(kc, "")
			if err != nil {
				t.Fatal(err)
			}
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			return p, c
		}
		select {
		case <-p.done:
			t.Fatalf("wk server exited:\n%s", p.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("wk server did not start:\n%s", p.output())
	return nil, nil
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
