package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmkube/wasmkube/wasm/internal/abi"
	"github.com/wasmkube/wasmkube/wasm/internal/interrupt"
)

// Errors that callers branch on; returned errors wrap them with the object and the cause.
var (
	// ErrNotWasm means the bytes are not a WebAssembly binary at all.
	ErrNotWasm = errors.New("not a Wasm file")
	// ErrInvalidModule means the binary does not decode or validate.
	ErrInvalidModule = errors.New("invalid Wasm module")
	// ErrMissingExport means the module is neither an HTTP module nor a command.
	ErrMissingExport = errors.New("missing export")
	// ErrUnknownImport means the module imports something the sandbox does not provide.
	ErrUnknownImport = errors.New("unknown import")
	// ErrDigestMismatch means a sha256 digest given to Compile does not match the bytes.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrMemoryLimit means a memory limit is below the module's minimum memory.
	ErrMemoryLimit = errors.New("memory limit below the module's minimum memory")
	// ErrClosed means the Runtime or Pod was closed.
	ErrClosed = errors.New("closed")
	// ErrNoInstance means no instance could be had for a request before its deadline.
	ErrNoInstance = errors.New("no instance available")
	// ErrRunning means a command container is still running.
	ErrRunning = errors.New("container is running")
)

// Kind tells HTTP modules (reactors) from commands.
type Kind int

// Module kinds.
const (
	// KindHTTP is a reactor exporting the guest SDK's handler.
	KindHTTP Kind = iota + 1
	// KindCommand is a WASI command exporting _start.
	KindCommand
)

// String returns "http" or "command".
func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "http"
	case KindCommand:
		return "command"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// RuntimeConfig configures a Runtime. Zero fields take the defaults in their comments.
type RuntimeConfig struct {
	// CacheDir is the directory of wazero's compilation cache; compiled code found there is not
	// compiled again (a Go guest: ~1 s cold, ~45 ms cached). Empty keeps compiled code in memory.
	CacheDir string
	// TrustedGuests compiles guests as they are, without the checks that let the sandbox stop
	// them (package wasm/internal/interrupt: a countdown at every loop header and, every 1024
	// back-edges, an exit from native code and a look at a stop flag, set at the deadline). The
	// checks are cheap: measured on 2 vCPUs, a warm call of the hello sample takes 11 us with them
	// and 9 us without, the minimal module 0.40 us and 0.27 us. (wazero's own checks,
	// WithCloseOnContextDone, used before, leave native code at every back-edge and start a
	// goroutine per call: 40-76 us and 1.8-2.9 us on the same machine.) Instrumenting adds ~25 ms
	// to compiling a Go guest, cached or not. Without the checks a guest cannot be stopped: a
	// looping one never answers, keeps a core busy, and, as native code cannot be preempted,
	// stalls every garbage collection of the whole process. Only for trusted code.
	TrustedGuests bool
	// IdleTimeout is how long an HTTP module's instance beyond the first may stay idle before it
	// is closed (30s).
	IdleTimeout time.Duration
}

// Default fills unset fields.
func (c *RuntimeConfig) Default() {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Second
	}
}

// Validate reports a field that cannot be used.
func (c *RuntimeConfig) Validate() error {
	if c.IdleTimeout < 0 {
		return fmt.Errorf("runtime config: idle timeout %v must not be negative", c.IdleTimeout)
	}
	return nil
}

// Runtime compiles modules and runs pods. It is safe for concurrent use.
type Runtime struct {
	cfg   RuntimeConfig
	wz    wazero.Runtime
	cache wazero.CompilationCache

	wasiFuncs map[string]bool // names the WASI host module exports
	hostFuncs map[string]bool // names the wasmkube host module exports

	mu      sync.Mutex
	closed  bool
	modules map[string]*compilation // by digest
	pods    map[*Pod]struct{}       // not closed yet
}

// compilation is a module being compiled or compiled; done is closed when m or err is set.
type compilation struct {
	done chan struct{}
	m    *Module
	err  error
}

// NewRuntime returns a Runtime with the WASI and wasmkube host modules ready. Close it to release
// compiled code and the cache.
func NewRuntime(ctx context.Context, cfg RuntimeConfig) (*Runtime, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("open compilation cache %s: %w", cfg.CacheDir, err)
		}
	} else {
		cache = wazero.NewCompilationCache()
	}
	// Guests are stopped by the checks of package interrupt, compiled into them, not by wazero's.
	wz := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	r := &Runtime{cfg: cfg, wz: wz, cache: cache, modules: map[string]*compilation{}, pods: map[*Pod]struct{}{}}
	if err := r.instantiateHostModules(ctx); err != nil {
		wz.Close(ctx)
		cache.Close(ctx)
		return nil, err
	}
	return r, nil
}

func (r *Runtime) instantiateHostModules(ctx context.Context) error {
	// WASI, with a listener on the functions that grow files: it turns a volume's refusal into
	// ENOSPC (see noSpaceListener).
	wasi, err := wasi_snapshot_preview1.NewBuilder(r.wz).
		Compile(experimental.WithFunctionListenerFactory(ctx, experimental.FunctionListenerFactoryFunc(noSpaceListenerFactory)))
	if err != nil {
		return fmt.Errorf("compile WASI host module: %w", err)
	}
	r.wasiFuncs = names(wasi.ExportedFunctions())
	if _, err := r.wz.InstantiateModule(ctx, wasi, wazero.NewModuleConfig()); err != nil {
		return fmt.Errorf("instantiate WASI host module: %w", err)
	}
	host, err := hostModule(r.wz).Compile(ctx)
	if err != nil {
		return fmt.Errorf("compile wasmkube host module: %w", err)
	}
	r.hostFuncs = names(host.ExportedFunctions())
	if _, err := r.wz.InstantiateModule(ctx, host, wazero.NewModuleConfig()); err != nil {
		return fmt.Errorf("instantiate wasmkube host module: %w", err)
	}
	return nil
}

func names(defs map[string]api.FunctionDefinition) map[string]bool {
	m := make(map[string]bool, len(defs))
	for name := range defs {
		m[name] = true
	}
	return m
}

// Close closes the runtime: every pod still open is closed without draining (close pods first to
// drain them), its instances killed and waited for, and compiled code is released.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	pods := r.pods
	r.pods = nil
	r.mu.Unlock()
	now, cancel := context.WithCancel(ctx)
	cancel()
	for p := range pods {
		p.Close(now) // killed requests are no error of the runtime's
	}
	err := r.wz.Close(ctx)
	if cerr := r.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// Module is a compiled module, shared by every pod that runs it.
type Module struct {
	digest    string
	kind      Kind
	compiled  wazero.CompiledModule
	minMemory uint64 // bytes: the exported memory's minimum
}

// Digest returns the digest the module was compiled under.
func (m *Module) Digest() string { return m.digest }

// Kind returns whether the module is an HTTP module or a command.
func (m *Module) Kind() Kind { return m.kind }

// MinMemoryBytes returns the size of the module's memory at start, below which no memory limit
// can go.
func (m *Module) MinMemoryBytes() uint64 { return m.minMemory }

// Compile compiles wasm, or returns the module compiled before under the same digest. A digest of
// the form "sha256:<hex>" is checked against wasm (ErrDigestMismatch); an empty digest is
// computed. It fails with ErrNotWasm, ErrInvalidModule, ErrUnknownImport or ErrMissingExport for
// modules the sandbox cannot run. Concurrent calls for one digest compile once.
func (r *Runtime) Compile(ctx context.Context, digest string, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	actual := "sha256:" + hex.EncodeToString(sum[:])
	if digest == "" {
		digest = actual
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		head := wasm[:min(len(wasm), 16)]
		return nil, fmt.Errorf("compile module %s: %w (it starts with %q, not \"\\x00asm\")", digest, ErrNotWasm, head)
	}
	if strings.HasPrefix(digest, "sha256:") && digest != actual {
		return nil, fmt.Errorf("compile module %s: %w: the bytes are %s", digest, ErrDigestMismatch, actual)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("compile module %s: runtime %w", digest, ErrClosed)
	}
	if c, ok := r.modules[digest]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.m, c.err
		case <-ctx.Done():
			return nil, fmt.Errorf("compile module %s: %w", digest, ctx.Err())
		}
	}
	c := &compilation{done: make(chan struct{})}
	r.modules[digest] = c
	r.mu.Unlock()

	c.m, c.err = r.compile(ctx, digest, wasm)
	if c.err != nil {
		r.mu.Lock()
		delete(r.modules, digest) // a later call may succeed, e.g. with a longer context
		r.mu.Unlock()
	}
	close(c.done)
	return c.m, c.err
}

func (r *Runtime) compile(ctx context.Context, digest string, wasm []byte) (*Module, error) {
	if !r.cfg.TrustedGuests {
		var err error
		if wasm, err = interrupt.Instrument(wasm); err != nil {
			return nil, fmt.Errorf("compile module %s: %w: %w", digest, ErrInvalidModule, err)
		}
	}
	cm, err := r.wz.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile module %s: %w: %v", digest, ErrInvalidModule, err)
	}
	m := &Module{digest: digest, compiled: cm}
	if err := r.inspect(m); err != nil {
		cm.Close(ctx)
		return nil, fmt.Errorf("compile module %s: %w", digest, err)
	}
	return m, nil
}

// inspect checks m's imports and exports and sets its kind.
func (r *Runtime) inspect(m *Module) error {
	cm := m.compiled
	for _, def := range cm.ImportedFunctions() {
		module, name, _ := def.Import()
		switch {
		case module == wasi_snapshot_preview1.ModuleName && r.wasiFuncs[name]:
		case module == abi.ImportModule && r.hostFuncs[name]:
		default:
			return fmt.Errorf("%w: function %s.%s (the sandbox provides %s and %s)",
				ErrUnknownImport, module, name, wasi_snapshot_preview1.ModuleName, abi.ImportModule)
		}
	}
	for _, def := range cm.ImportedMemories() {
		module, name, _ := def.Import()
		return fmt.Errorf("%w: memory %s.%s (each instance has its own memory)", ErrUnknownImport, module, name)
	}
	for _, mem := range cm.ExportedMemories() {
		m.minMemory = uint64(mem.Min()) << 16
	}
	exports := cm.ExportedFunctions()
	if _, ok := exports[abi.StartExport]; ok {
		// A command, even if it exports the handler: a Go program built as a command that
		// imports the guest SDK (for its Client) does.
		m.kind = KindCommand
		return nil
	}
	if h, ok := exports[abi.HandleExport]; ok {
		if len(h.ParamTypes()) != 0 || len(h.ResultTypes()) != 0 {
			return fmt.Errorf("%w: export %s must take and return nothing", ErrInvalidModule, abi.HandleExport)
		}
		m.kind = KindHTTP
		return nil
	}
	if _, ok := exports[abi.InitializeExport]; ok {
		return fmt.Errorf("%w: a reactor without %s (is it built with the wasmkube guest SDK, github.com/wasmkube/wasmkube/wasm/guest?)",
			ErrMissingExport, abi.HandleExport)
	}
	return fmt.Errorf("%w: neither %s (an HTTP module: the guest SDK, built with -buildmode=c-shared) nor %s (a command)",
		ErrMissingExport, abi.HandleExport, abi.StartExport)
}
