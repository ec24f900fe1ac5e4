package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wasmkube/wasmkube/wasm/internal/abi"
	"github.com/wasmkube/wasmkube/wasm/internal/interrupt"
	"github.com/wasmkube/wasmkube/wasm/internal/volume"
)

// container is one module of a pod: an HTTP module with its pool, or a command.
type container struct {
	pod          *Pod
	name         string
	module       *Module
	timeout      time.Duration
	memoryLimit  uint64
	moduleConfig wazero.ModuleConfig
	mounts       []mount
	stderr       io.Writer

	pool    *pool                        // HTTP modules
	running bool                         // a command is running; guarded by pod.mu
	kill    context.CancelCauseFunc      // ends the running command (Pod.Kill); guarded by pod.mu
	command atomic.Pointer[linearMemory] // the running command's memory, for Stats
}

type mount struct {
	volume   *volume.Volume // an emptyDir, or nil for files
	files    *Files
	path     string
	readOnly bool
}

// serve handles one request on a pooled instance.
func (c *container) serve(w http.ResponseWriter, r *http.Request) {
	deadline := time.Now().Add(c.timeout)
	inst, err := c.pool.get(r.Context(), deadline)
	if err != nil {
		http.Error(w, fmt.Sprintf("container %s: %v", c.name, err), http.StatusServiceUnavailable)
		return
	}
	inst.req, inst.w = r, w
	err = inst.callUntil(inst.handle, deadline)
	headSent := inst.headSent
	inst.endRequest()
	if err == nil && !inst.mem.oom {
		if !headSent {
			w.WriteHeader(http.StatusOK) // the guest answered nothing
		}
		c.pool.put(inst)
		return
	}
	exit := inst.exit(err)
	c.pool.discard(inst)
	fmt.Fprintf(c.stderr, "wasmkube: %s %s: instance killed: %s\n", r.Method, r.URL.Path, exit.Message())
	c.pod.report(exit)
	if !headSent {
		http.Error(w, fmt.Sprintf("container %s: %s", c.name, exit.Reason), exit.httpStatus())
	}
}

// create instantiates and initializes an HTTP module's instance before deadline.
func (c *container) create(deadline time.Time) (*instance, error) {
	inst, err := c.newInstance(c.pod.ctx)
	if err != nil {
		c.pod.report(Exit{Container: c.name, Reason: ReasonError, ExitCode: ExitCodeTrap, Err: err,
			Started: time.Now(), Finished: time.Now()})
		return nil, err
	}
	// The module's start section, moved to an export by the instrumentation, then _initialize.
	for _, name := range []string{interrupt.StartExport, abi.InitializeExport} {
		if err := inst.start(name, deadline); err != nil {
			exit := inst.exit(err)
			inst.close()
			c.pod.report(exit)
			return nil, fmt.Errorf("%s: %s", name, exit.Message())
		}
	}
	return inst, nil
}

// run runs a command container once, to its end.
func (c *container) run(ctx context.Context, podStarted time.Time) Exit {
	if d := c.pod.cfg.ActiveDeadline; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, podStarted.Add(d))
		defer cancel()
	}
	inst, err := c.newInstance(ctx)
	if err != nil {
		return Exit{Container: c.name, Reason: ReasonError, ExitCode: ExitCodeTrap, Err: err,
			Started: time.Now(), Finished: time.Now()}
	}
	c.command.Store(inst.mem)
	// ctx carries the active deadline.
	if err = inst.start(interrupt.StartExport, time.Time{}); err == nil {
		err = inst.start(abi.StartExport, time.Time{})
	}
	c.command.Store(nil)
	exit := inst.exit(err)
	inst.close()
	if why := context.Cause(ctx); errors.Is(why, errKilled) {
		exit.Reason, exit.ExitCode, exit.Err = ReasonError, ExitCodeKilled, why
	}
	return exit
}

func (c *container) stats() ContainerStats {
	s := ContainerStats{Name: c.name}
	if c.pool == nil {
		if m := c.command.Load(); m != nil {
			s.Instances, s.MemoryBytes = 1, m.size.Load()
		}
		return s
	}
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	s.Instances, s.Idle = len(c.pool.all), len(c.pool.idle)
	for inst := range c.pool.all {
		s.MemoryBytes += inst.mem.size.Load()
	}
	return s
}

// pool holds an HTTP module's instances: idle ones are reused most recent first; new ones are
// made on demand up to max; the ones idle past idleTimeout are closed, except the newest.
type pool struct {
	c           *container
	max         int
	idleTimeout time.Duration

	mu      sync.Mutex
	all     map[*instance]struct{} // live: idle or serving
	idle    []*instance            // the most recently used last
	making  int                    // instances being created
	waiters []chan *instance       // requests waiting for an instance (nil: a slot freed up)
	gen     int                    // bumped by reset; older instances are closed when returned
	closed  bool
	reaper  *time.Timer
}

// get returns an idle instance, or creates one, or waits for one until deadline or ctx's end.
func (p *pool) get(ctx context.Context, deadline time.Time) (*instance, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return inst, nil
		}
		if len(p.all)+p.making < p.max {
			p.making++
			gen := p.gen
			p.mu.Unlock()
			inst, err := p.c.create(deadline)
			p.mu.Lock()
			p.making--
			if err != nil {
				p.passSlot()
				p.mu.Unlock()
				return nil, err
			}
			inst.gen = gen
			p.all[inst] = struct{}{}
			p.mu.Unlock()
			return inst, nil
		}
		ch := make(chan *instance, 1)
		p.waiters = append(p.waiters, ch)
		p.mu.Unlock()
		inst, ok, err := p.wait(ctx, deadline, ch)
		if err != nil {
			return nil, err
		}
		if ok {
			return inst, nil
		}
		// A slot freed up: try again.
	}
}

// wait waits on ch for an instance (ok) or a freed slot (!ok), or fails at deadline.
func (p *pool) wait(ctx context.Context, deadline time.Time, ch chan *instance) (*instance, bool, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case inst := <-ch:
		return inst, inst != nil, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	p.mu.Lock()
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return nil, false, fmt.Errorf("%w within %v", ErrNoInstance, p.c.timeout)
		}
	}
	p.mu.Unlock()
	// Handed something as we gave up: pass it on.
	if inst := <-ch; inst != nil {
		p.put(inst)
	} else {
		p.mu.Lock()
		p.passSlot()
		p.mu.Unlock()
	}
	return nil, false, fmt.Errorf("%w within %v", ErrNoInstance, p.c.timeout)
}

// passSlot tells the first waiter that it may create an instance. p.mu must be held.
func (p *pool) passSlot() {
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		ch <- nil
	}
}

// put returns a healthy instance after a request.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	if p.closed || inst.gen != p.gen {
		delete(p.all, inst)
		p.passSlot()
		p.mu.Unlock()
		inst.close()
		return
	}
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		ch <- inst
		p.mu.Unlock()
		return
	}
	inst.idle = time.Now()
	p.idle = append(p.idle, inst)
	if p.reaper == nil && len(p.idle) > 1 {
		p.reaper = time.AfterFunc(p.idleTimeout, p.reap)
	}
	p.mu.Unlock()
}

// discard drops an instance that failed.
func (p *pool) discard(inst *instance) {
	p.mu.Lock()
	delete(p.all, inst)
	p.passSlot()
	p.mu.Unlock()
	inst.close()
}

// warm makes sure one instance is ready, creating it if needed.
func (p *pool) warm(ctx context.Context) error {
	inst, err := p.get(ctx, time.Now().Add(p.c.timeout))
	if err != nil {
		return err
	}
	p.put(inst)
	return nil
}

// reap closes the instances idle past idleTimeout, keeping the most recently used one.
func (p *pool) reap() {
	p.mu.Lock()
	p.reaper = nil
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := time.Now()
	var expired []*instance
	for len(p.idle) > 1 && now.Sub(p.idle[0].idle) >= p.idleTimeout {
		expired = append(expired, p.idle[0])
		delete(p.all, p.idle[0])
		p.idle[0] = nil
		p.idle = p.idle[1:]
	}
	if len(p.idle) > 1 {
		p.reaper = time.AfterFunc(p.idleTimeout-now.Sub(p.idle[0].idle), p.reap)
	}
	p.mu.Unlock()
	for _, inst := range expired {
		inst.close()
	}
}

// reset makes every current instance obsolete: idle ones are closed now, busy ones on return.
func (p *pool) reset() {
	p.mu.Lock()
	p.gen++
	idle := p.idle
	p.idle = nil
	for _, inst := range idle {
		delete(p.all, inst)
	}
	p.mu.Unlock()
	for _, inst := range idle {
		inst.close()
	}
}

// close closes idle instances and makes the pool refuse requests; busy instances close on return.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	idle := p.idle
	p.idle = nil
	for _, inst := range idle {
		delete(p.all, inst)
	}
	for _, ch := range p.waiters {
		ch <- nil
	}
	p.waiters = nil
	p.mu.Unlock()
	for _, inst := range idle {
		inst.close()
	}
}
