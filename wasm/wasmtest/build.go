package wasmtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Build modes for GoBuild.
const (
	// Reactor builds an HTTP module: -buildmode=c-shared, exporting _initialize.
	Reactor = "c-shared"
	// Command builds a command module exporting _start.
	Command = "exe"
)

type build struct {
	once sync.Once
	wasm []byte
	err  error
}

// builds memoizes GoBuild for the life of the test binary: compiling a Go guest takes seconds,
// and every test of a package wants the same few modules.
var builds sync.Map // "mode dir" -> *build

// GoBuild compiles the Go program in dir (relative to the test's working directory) with
// GOOS=wasip1 GOARCH=wasm and the given mode (Reactor or Command), and returns the module's bytes.
// It builds each program once per test binary; a failed build fails tb.
func GoBuild(tb testing.TB, dir, mode string) []byte {
	tb.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	v, _ := builds.LoadOrStore(mode+" "+abs, &build{})
	b := v.(*build)
	b.once.Do(func() { b.wasm, b.err = goBuild(abs, mode) })
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.wasm
}

func goBuild(dir, mode string) ([]byte, error) {
	out, err := os.MkdirTemp("", "wasmkube-guest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	wasm := filepath.Join(out, "guest.wasm")
	cmd := exec.Command(goTool(), "build", "-buildmode="+mode, "-o", wasm, ".")
	cmd.Dir = dir
	// The test binary may run with CGO_ENABLED=1 and GOFLAGS=-race; neither applies to wasip1.
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build guest %s: %w\n%s", dir, err, stderr.String())
	}
	return os.ReadFile(wasm)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// CacheDir returns the wazero compilation cache shared by every test binary of the repository
// (os.TempDir()/wasmkube-test-cache), so that repeated runs skip compiling the Go guests.
func CacheDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), "wasmkube-test-cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}
