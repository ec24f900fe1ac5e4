package sandbox

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmkube/wasmkube/wasm/internal/interrupt"
)

// stopper stops an instance's guest while it runs: at the deadline of its call, or when the
// context it was instantiated in ends (the pod killed, a command's active deadline). Guests are
// compiled with the checks of package interrupt, not wazero's (see RuntimeConfig.TrustedGuests
// for why): stopping sets the module's stop flag, and the guest traps at its next check. A call
// that ends after its instance was stopped fails with a sys.ExitError of the stop's exit code,
// however the guest ended, as a module closed by wazero would.
type stopper struct {
	flag    api.MutableGlobal // interrupt.StopExport; nil for trusted guests, which cannot be stopped
	timer   *time.Timer       // fires at the running call's deadline
	unwatch func() bool       // stops watching the instance's context

	// The running call's deadline (zero for none) and context, made on first use by
	// callContext; touched only by the goroutine that holds the instance.
	callDeadline time.Time
	call         context.Context
	cancelCall   context.CancelFunc

	mu       sync.Mutex
	deadline time.Time // the running call's deadline for the timer; zero between calls
	code     uint32    // the exit code the guest was stopped with; 0 while it was not
}

// watch finds the module's stop flag and stops the guest when ctx ends.
func (inst *instance) watch(ctx context.Context, mod api.Module) {
	inst.flag, _ = mod.ExportedGlobal(interrupt.StopExport).(api.MutableGlobal)
	if inst.flag == nil {
		inst.unwatch = func() bool { return false }
		return
	}
	inst.unwatch = context.AfterFunc(ctx, func() {
		inst.mu.Lock()
		inst.stopLocked(exitCodeOf(ctx.Err()))
		inst.mu.Unlock()
	})
}

func exitCodeOf(err error) uint32 {
	if errors.Is(err, context.DeadlineExceeded) {
		return sys.ExitCodeDeadlineExceeded
	}
	return sys.ExitCodeContextCanceled
}

// stopLocked stops the guest with code, unless it was stopped already. inst.mu must be held.
func (inst *instance) stopLocked(code uint32) {
	if inst.code == 0 {
		inst.code = code
		inst.flag.Set(1)
	}
}

// onDeadline is the timer's function. A timer that fired for an earlier call finds a later
// deadline, or none, and does nothing.
func (inst *instance) onDeadline() {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if !inst.deadline.IsZero() && !time.Now().Before(inst.deadline) {
		inst.stopLocked(sys.ExitCodeDeadlineExceeded)
	}
}

// callUntil calls fn, stopping the guest at deadline (none if zero).
func (inst *instance) callUntil(fn api.Function, deadline time.Time) error {
	inst.callDeadline = deadline
	if inst.flag != nil {
		inst.mu.Lock()
		code := inst.code
		inst.deadline = deadline
		inst.mu.Unlock()
		if code != 0 {
			return sys.NewExitError(code)
		}
		if !deadline.IsZero() {
			if d := time.Until(deadline); inst.timer == nil {
				inst.timer = time.AfterFunc(d, inst.onDeadline)
			} else {
				inst.timer.Reset(d)
			}
		}
	}
	err := fn.CallWithStack(inst.ctx, nil)
	if inst.cancelCall != nil {
		inst.cancelCall()
		inst.call, inst.cancelCall = nil, nil
	}
	inst.callDeadline = time.Time{}
	if inst.flag == nil {
		return err
	}
	if inst.timer != nil {
		inst.timer.Stop()
	}
	inst.mu.Lock()
	code := inst.code
	inst.deadline = time.Time{}
	inst.mu.Unlock()
	if code != 0 {
		return sys.NewExitError(code)
	}
	return err
}

// callContext is the context of the running call, for host functions that block (outbound
// requests, sleeps): it ends at the call's deadline or with the instance's context.
func (inst *instance) callContext() context.Context {
	if inst.call != nil {
		return inst.call
	}
	if inst.callDeadline.IsZero() {
		return inst.ctx
	}
	inst.call, inst.cancelCall = context.WithDeadline(inst.ctx, inst.callDeadline)
	return inst.call
}

// stopWatching releases the timer and the context watch.
func (inst *instance) stopWatching() {
	if inst.unwatch != nil {
		inst.unwatch()
	}
	if inst.timer != nil {
		inst.timer.Stop()
	}
}
