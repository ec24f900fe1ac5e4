package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmkube/wasmkube/wasm/internal/abi"
)

// Reason says why a module instance ended; the values are Kubernetes' container state reasons
// where one exists.
type Reason string

// Reasons.
const (
	// ReasonCompleted: a command exited with code 0.
	ReasonCompleted Reason = "Completed"
	// ReasonError: the guest exited with a non-zero code, trapped or panicked.
	ReasonError Reason = "Error"
	// ReasonOOMKilled: the guest grew its memory past its limit.
	ReasonOOMKilled Reason = "OOMKilled"
	// ReasonDeadlineExceeded: a request or the pod's active deadline ran out.
	ReasonDeadlineExceeded Reason = "DeadlineExceeded"
	// ReasonStopped: the pod was closed or the container restarted.
	ReasonStopped Reason = "Stopped"
)

// Exit codes for instances the sandbox ended, as a Linux container would show them.
const (
	// ExitCodeKilled is reported for OOMKilled, DeadlineExceeded and Stopped (128 + SIGKILL).
	ExitCodeKilled = 137
	// ExitCodeTrap is reported for a trap (128 + SIGABRT).
	ExitCodeTrap = 134
)

// Exit describes the end of one module instance: a command that finished, or an HTTP module's
// instance that was killed. HTTP instances closed for being idle are not reported.
type Exit struct {
	Container string
	Reason    Reason
	// ExitCode is the guest's exit code, or ExitCodeKilled / ExitCodeTrap.
	ExitCode uint32
	// Err is the trap or exit error as wazero reported it; nil for ReasonCompleted.
	Err      error
	Started  time.Time
	Finished time.Time
}

// Message returns a one-line description for a container status.
func (e Exit) Message() string {
	if e.Err == nil {
		return string(e.Reason)
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

// httpStatus is the status a request gets when its instance ends with e.
func (e Exit) httpStatus() int {
	switch e.Reason {
	case ReasonDeadlineExceeded:
		return http.StatusGatewayTimeout
	case ReasonStopped:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// instanceKey is the context key under which calls carry their *instance to host functions.
type instanceKey struct{}

func instanceOf(ctx context.Context) *instance {
	inst, _ := ctx.Value(instanceKey{}).(*instance)
	return inst
}

// instance is one module instance. Only the goroutine that holds it (from the pool, or the one
// running a command) touches it, so its fields need no lock.
type instance struct {
	c       *container
	mod     api.Module
	handle  api.Function    // HTTP modules
	mem     *linearMemory   // its memory, under the container's limit
	ctx     context.Context // base of every call: carries the instance; canceled when the pod is killed
	started time.Time
	idle    time.Time // when it was last returned to the pool
	gen     int       // the pool generation it belongs to

	// The request being handled (HTTP modules, during a call).
	req       *http.Request
	w         http.ResponseWriter
	headSent  bool
	head      []byte // the request's encoded head, once built
	headBuilt bool

	responses []*http.Response // outbound responses by handle; nil when closed
	lastErr   string
	noSpace   bool // a volume refused a write during the current WASI call

	stopper // stops the guest at its deadline or when its context ends (stop.go)
}

// newInstance instantiates the container's module in ctx, without running its start function.
func (c *container) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{c: c, mem: &linearMemory{limit: c.memoryLimit}, started: time.Now()}
	ctx = context.WithValue(ctx, instanceKey{}, inst)
	inst.ctx = ctx
	fsc := wazero.NewFSConfig()
	for _, m := range c.mounts {
		if m.files != nil {
			fsc = fsc.(sysfs.FSConfig).WithSysFSMount(m.files.fsView(), m.path)
			continue
		}
		fsc = fsc.(sysfs.FSConfig).WithSysFSMount(m.volume.FS(m.readOnly, inst.refusedForSpace), m.path)
	}
	cfg := c.moduleConfig.WithFSConfig(fsc).WithNanosleep(inst.nanosleep).WithStartFunctions()
	mod, err := c.pod.rt.wz.InstantiateModule(experimental.WithMemoryAllocator(ctx, inst.mem), c.module.compiled, cfg)
	if err != nil {
		inst.mem.release()
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	inst.mod = mod
	inst.watch(ctx, mod)
	if inst.mem.overLimit {
		inst.close()
		return nil, fmt.Errorf("instantiate: %w", ErrMemoryLimit)
	}
	inst.handle = mod.ExportedFunction(abi.HandleExport)
	return inst, nil
}

// start runs the instance's start function (_initialize or _start) until deadline (none if zero).
// A nil error means it returned or exited with code 0.
func (inst *instance) start(name string, deadline time.Time) error {
	fn := inst.mod.ExportedFunction(name)
	if fn == nil {
		return nil
	}
	err := inst.callUntil(fn, deadline)
	if inst.mem.oom {
		return errOutOfMemory
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		return nil
	}
	return err
}

// refusedForSpace is the volumes' callback for a write refused at the size limit.
func (inst *instance) refusedForSpace() { inst.noSpace = true }

// nanosleep is the guest's sleep: it ends early when the running call is canceled, so that a
// sleeping guest is stopped at its deadline like a running one.
func (inst *instance) nanosleep(ns int64) {
	if inst.c.pod.rt.cfg.TrustedGuests {
		time.Sleep(time.Duration(ns))
		return
	}
	t := time.NewTimer(time.Duration(ns))
	select {
	case <-t.C:
	case <-inst.callContext().Done():
		t.Stop()
	}
}

// exit describes how the instance ended, given the error of its last call.
func (inst *instance) exit(err error) Exit {
	e := Exit{Container: inst.c.name, Err: err, Started: inst.started, Finished: time.Now()}
	var exitErr *sys.ExitError
	switch {
	case inst.mem.oom:
		e.Reason, e.ExitCode = ReasonOOMKilled, ExitCodeKilled
		e.Err = fmt.Errorf("memory limit of %d bytes reached: %w", inst.mem.limit, err)
	case err == nil:
		e.Reason = ReasonCompleted
	case errors.As(err, &exitErr):
		switch code := exitErr.ExitCode(); code {
		case sys.ExitCodeDeadlineExceeded:
			e.Reason, e.ExitCode = ReasonDeadlineExceeded, ExitCodeKilled
		case sys.ExitCodeContextCanceled:
			e.Reason, e.ExitCode = ReasonStopped, ExitCodeKilled
		case 0:
			e.Reason, e.Err = ReasonCompleted, nil
		default:
			e.Reason, e.ExitCode = ReasonError, code
		}
	default:
		e.Reason, e.ExitCode = ReasonError, ExitCodeTrap
	}
	return e
}

// endRequest forgets the request and closes outbound responses the guest left open.
func (inst *instance) endRequest() {
	inst.req, inst.w = nil, nil
	inst.headSent, inst.headBuilt = false, false
	inst.closeResponses()
}

func (inst *instance) closeResponses() {
	for i, resp := range inst.responses {
		if resp != nil {
			resp.Body.Close()
			inst.responses[i] = nil
		}
	}
	inst.responses = inst.responses[:0]
}

// close releases the instance and its memory. No call may be running.
func (inst *instance) close() {
	inst.closeResponses()
	inst.stopWatching()
	if inst.mod != nil {
		inst.mod.Close(context.Background())
	}
	inst.mem.release()
}
