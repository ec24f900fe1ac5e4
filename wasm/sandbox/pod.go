package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wasmkube/wasmkube/wasm/internal/volume"
)

// Medium is where a volume's bytes live.
type Medium string

// Volume media, as emptyDir.medium spells them.
const (
	// MediumDisk keeps the volume in a directory under PodConfig.Dir.
	MediumDisk Medium = ""
	// MediumMemory holds the volume in process memory.
	MediumMemory Medium = "Memory"
)

// VolumeConfig is one of the pod's volumes: an emptyDir, or Files.
type VolumeConfig struct {
	Name string
	// Files, when set, makes the volume these files (a ConfigMap or Secret volume) instead of an
	// emptyDir: every mount of it is read-only, whatever the Mount says, Medium and SizeLimit
	// are not used, and the caller may replace the files while the pod runs (Files.Set).
	Files  *Files
	Medium Medium
	// SizeLimit bounds the bytes in the volume's files; a write past it fails in the guest with
	// ENOSPC. 0 means none, except that a Memory volume defaults to the sum of the containers'
	// memory limits when all of them have one (as Kubernetes sizes memory-backed volumes).
	SizeLimit int64
}

// Mount puts a volume at a path of a container's WASI file system.
type Mount struct {
	Volume   string
	Path     string // absolute, e.g. "/data"
	ReadOnly bool
}

// ContainerConfig is one module of a pod.
type ContainerConfig struct {
	Name   string
	Module *Module
	// Args follow argv[0], which is the container's name.
	Args []string
	// Env entries are "NAME=value"; they override HOSTNAME, POD_NAME, POD_NAMESPACE and NODE_NAME,
	// which the sandbox sets from the PodConfig, and a later entry overrides an earlier one.
	Env []string
	// Ports are the containerPorts the module serves; siblings reach it at localhost:PORT. Only
	// HTTP modules may declare ports.
	Ports  []int
	Mounts []Mount
	// MemoryLimitBytes caps each instance's linear memory (resources.limits.memory); 0 leaves
	// the module's own maximum. It must not be below Module.MinMemoryBytes.
	MemoryLimitBytes int64
	// RequestTimeout bounds each request to an HTTP module, waiting for an instance included,
	// and each instance's _initialize (30s).
	RequestTimeout time.Duration
	// MaxInstances bounds an HTTP module's concurrent instances (4). A request that calls its own
	// container through the loopback holds one instance and needs another: when every instance
	// does that, requests wait until their deadline, as on any bounded worker pool.
	MaxInstances int
	// Stdout and Stderr receive the output of every instance of the container, each write whole;
	// nil discards. The sandbox adds a line to Stderr when it kills an HTTP module's instance.
	Stdout, Stderr io.Writer
}

// PodConfig describes a pod. Zero fields take the defaults in their comments.
type PodConfig struct {
	Name      string // required
	Namespace string
	Node      string
	// Dir holds the pod's disk volumes, one subdirectory per volume; required if there is one.
	// The sandbox never deletes it: a volume outlives a Pod value, as an emptyDir outlives
	// container restarts, until the caller removes it with the pod.
	Dir        string
	Volumes    []VolumeConfig
	Containers []ContainerConfig
	// ActiveDeadline bounds how long command containers may run, counted from Start
	// (activeDeadlineSeconds); 0 means no bound.
	ActiveDeadline time.Duration
	// Outbound routes guests' requests for anything but the pod's own ports; nil refuses them.
	Outbound http.RoundTripper
	// OnExit, if set, is called on the goroutine that saw it each time an instance ends: a
	// command finishing, or an HTTP module's instance that failed to start or was killed. It must
	// not block for long; the runner decides restarts from it.
	OnExit func(Exit)
}

// Default fills unset fields.
func (c *PodConfig) Default() {
	var total int64
	for i := range c.Containers {
		ct := &c.Containers[i]
		if ct.RequestTimeout == 0 {
			ct.RequestTimeout = 30 * time.Second
		}
		if ct.MaxInstances == 0 {
			ct.MaxInstances = 4
		}
		if total >= 0 && ct.MemoryLimitBytes > 0 {
			total += ct.MemoryLimitBytes
		} else {
			total = -1
		}
	}
	for i := range c.Volumes {
		if v := &c.Volumes[i]; v.Medium == MediumMemory && v.SizeLimit == 0 && total > 0 {
			v.SizeLimit = total
		}
	}
}

// Validate reports the first field that cannot be used, naming it.
func (c *PodConfig) Validate() error {
	if c.Name == "" {
		return errors.New("pod config: name is required")
	}
	if c.ActiveDeadline < 0 {
		return fmt.Errorf("pod %s: activeDeadline %v must not be negative", c.Name, c.ActiveDeadline)
	}
	volumes := map[string]bool{}
	for i, v := range c.Volumes {
		field := fmt.Sprintf("pod %s: volumes[%d]", c.Name, i)
		switch {
		case v.Name == "":
			return fmt.Errorf("%s: name is required", field)
		case volumes[v.Name]:
			return fmt.Errorf("%s: duplicate name %q", field, v.Name)
		case v.Medium != MediumDisk && v.Medium != MediumMemory:
			return fmt.Errorf("%s: medium %q: want \"\" or %q", field, v.Medium, MediumMemory)
		case v.SizeLimit < 0:
			return fmt.Errorf("%s: sizeLimit %d must not be negative", field, v.SizeLimit)
		case v.Files != nil && (v.Medium != MediumDisk || v.SizeLimit != 0):
			return fmt.Errorf("%s: a Files volume has no medium or sizeLimit", field)
		case v.Medium == MediumDisk && c.Dir == "" && v.Files == nil:
			return fmt.Errorf("%s: a disk volume needs the pod's Dir", field)
		case strings.ContainsAny(v.Name, `/\`) || v.Name == "." || v.Name == "..":
			return fmt.Errorf("%s: name %q is not a directory name", field, v.Name)
		}
		volumes[v.Name] = true
	}
	if len(c.Containers) == 0 {
		return fmt.Errorf("pod %s: no containers", c.Name)
	}
	names, ports := map[string]bool{}, map[int]string{}
	for i, ct := range c.Containers {
		field := fmt.Sprintf("pod %s: containers[%d]", c.Name, i)
		switch {
		case ct.Name == "":
			return fmt.Errorf("%s: name is required", field)
		case names[ct.Name]:
			return fmt.Errorf("%s: duplicate name %q", field, ct.Name)
		case ct.Module == nil:
			return fmt.Errorf("%s (%s): module is required", field, ct.Name)
		case ct.MemoryLimitBytes < 0:
			return fmt.Errorf("%s (%s): memory limit %d must not be negative", field, ct.Name, ct.MemoryLimitBytes)
		case ct.MemoryLimitBytes > 0 && uint64(ct.MemoryLimitBytes) < ct.Module.minMemory:
			return fmt.Errorf("%s (%s): %w: limit %d bytes, module needs %d", field, ct.Name, ErrMemoryLimit,
				ct.MemoryLimitBytes, ct.Module.minMemory)
		case ct.RequestTimeout < 0:
			return fmt.Errorf("%s (%s): request timeout %v must not be negative", field, ct.Name, ct.RequestTimeout)
		case ct.MaxInstances < 0:
			return fmt.Errorf("%s (%s): max instances %d must not be negative", field, ct.Name, ct.MaxInstances)
		}
		names[ct.Name] = true
		for _, p := range ct.Ports {
			switch {
			case p < 1 || p > 65535:
				return fmt.Errorf("%s (%s): port %d: want 1 to 65535", field, ct.Name, p)
			case ports[p] != "":
				return fmt.Errorf("%s (%s): port %d is already declared by container %s", field, ct.Name, p, ports[p])
			case ct.Module.kind != KindHTTP:
				return fmt.Errorf("%s (%s): port %d: a command module does not serve HTTP", field, ct.Name, p)
			}
			ports[p] = ct.Name
		}
		paths := map[string]bool{}
		for j, m := range ct.Mounts {
			mf := fmt.Sprintf("%s (%s): volumeMounts[%d]", field, ct.Name, j)
			switch {
			case !volumes[m.Volume]:
				return fmt.Errorf("%s: no volume %q in the pod", mf, m.Volume)
			case !path.IsAbs(m.Path) || path.Clean(m.Path) != m.Path:
				return fmt.Errorf("%s: mountPath %q: want a clean absolute path such as /data", mf, m.Path)
			case paths[m.Path]:
				return fmt.Errorf("%s: mountPath %q is mounted twice", mf, m.Path)
			}
			paths[m.Path] = true
		}
		for j, e := range ct.Env {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				return fmt.Errorf("%s (%s): env[%d] %q: want NAME=value", field, ct.Name, j, e)
			}
		}
	}
	return nil
}

// Pod is a running group of module instances sharing volumes and a loopback. Its methods are safe
// for concurrent use.
type Pod struct {
	rt      *Runtime
	cfg     PodConfig
	list    []*container
	byName  map[string]*container
	ports   map[int]*container
	volumes map[string]*volume.Volume

	ctx      context.Context // canceled to kill every instance at once
	kill     context.CancelFunc
	cmdCtx   context.Context // canceled to stop the command containers
	stopCmds context.CancelFunc

	mu       sync.Mutex
	started  time.Time
	closed   bool
	inflight int           // requests being served and commands running
	drained  chan struct{} // closed when closed and inflight reaches 0
}

// NewPod prepares a pod: it validates cfg, creates its volumes and builds its containers. Nothing
// runs until Start.
func (r *Runtime) NewPod(ctx context.Context, cfg PodConfig) (*Pod, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pod{rt: r, cfg: cfg, byName: map[string]*container{}, ports: map[int]*container{},
		volumes: map[string]*volume.Volume{}, drained: make(chan struct{})}
	files := map[string]*Files{}
	for _, v := range cfg.Volumes {
		if v.Files != nil {
			files[v.Name] = v.Files
			continue
		}
		if v.Medium == MediumMemory {
			p.volumes[v.Name] = volume.InMemory(v.SizeLimit)
			continue
		}
		vol, err := volume.OnDisk(filepath.Join(cfg.Dir, v.Name), v.SizeLimit)
		if err != nil {
			return nil, fmt.Errorf("create pod %s: volume %s: %w", cfg.Name, v.Name, err)
		}
		p.volumes[v.Name] = vol
	}
	p.ctx, p.kill = context.WithCancel(context.WithoutCancel(ctx))
	p.cmdCtx, p.stopCmds = context.WithCancel(p.ctx)
	for i := range cfg.Containers {
		c := p.newContainer(&cfg.Containers[i], files)
		p.list = append(p.list, c)
		p.byName[c.name] = c
		for _, port := range cfg.Containers[i].Ports {
			p.ports[port] = c
		}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.kill()
		return nil, fmt.Errorf("create pod %s: runtime %w", cfg.Name, ErrClosed)
	}
	r.pods[p] = struct{}{}
	r.mu.Unlock()
	return p, nil
}

// newContainer builds a container's fixed module configuration.
func (p *Pod) newContainer(ct *ContainerConfig, files map[string]*Files) *container {
	c := &container{pod: p, name: ct.Name, module: ct.Module, timeout: ct.RequestTimeout,
		memoryLimit: uint64(ct.MemoryLimitBytes), stderr: lockedWriter(ct.Stderr)}
	env := []string{"HOSTNAME=" + p.cfg.Name, "POD_NAME=" + p.cfg.Name,
		"POD_NAMESPACE=" + p.cfg.Namespace, "NODE_NAME=" + p.cfg.Node}
	env = append(env, ct.Env...)
	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{ct.Name}, ct.Args...)...).
		WithStdout(lockedWriter(ct.Stdout)).
		WithStderr(c.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	seen := map[string]bool{}
	for i := len(env) - 1; i >= 0; i-- { // the last entry for a name wins
		k, v, _ := strings.Cut(env[i], "=")
		if !seen[k] {
			seen[k] = true
			mc = mc.WithEnv(k, v)
		}
	}
	c.moduleConfig = mc
	for _, m := range ct.Mounts {
		c.mounts = append(c.mounts, mount{volume: p.volumes[m.Volume], files: files[m.Volume], path: m.Path,
			readOnly: m.ReadOnly})
	}
	if ct.Module.kind == KindHTTP {
		c.pool = &pool{c: c, max: ct.MaxInstances, idleTimeout: p.rt.cfg.IdleTimeout, all: map[*instance]struct{}{}}
	}
	return c
}

// Name returns the pod's name.
func (p *Pod) Name() string { return p.cfg.Name }

// Start warms one instance of every HTTP container (running its _initialize) and starts every
// command container. It fails, naming the container, if an HTTP container cannot start; the pod
// must then be closed. Start may be called once.
func (p *Pod) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("start pod %s: %w", p.cfg.Name, ErrClosed)
	}
	if !p.started.IsZero() {
		p.mu.Unlock()
		return fmt.Errorf("start pod %s: already started", p.cfg.Name)
	}
	p.started = time.Now()
	p.mu.Unlock()
	for _, c := range p.list {
		if c.pool == nil {
			continue
		}
		if err := c.pool.warm(ctx); err != nil {
			return fmt.Errorf("start pod %s: container %s: %w", p.cfg.Name, c.name, err)
		}
	}
	for _, c := range p.list {
		if c.pool == nil {
			if err := p.launch(c); err != nil {
				return fmt.Errorf("start pod %s: container %s: %w", p.cfg.Name, c.name, err)
			}
		}
	}
	return nil
}

// Restart starts a command container again after it exited (ErrRunning if it has not), or
// replaces every instance of an HTTP container: idle ones now, busy ones when their request ends.
func (p *Pod) Restart(ctx context.Context, container string) error {
	c := p.byName[container]
	if c == nil {
		return fmt.Errorf("restart pod %s: no container %q", p.cfg.Name, container)
	}
	if c.pool != nil {
		c.pool.reset()
		if err := c.pool.warm(ctx); err != nil {
			return fmt.Errorf("restart pod %s: container %s: %w", p.cfg.Name, container, err)
		}
		return nil
	}
	if err := p.launch(c); err != nil {
		return fmt.Errorf("restart pod %s: container %s: %w", p.cfg.Name, container, err)
	}
	return nil
}

// errKilled marks a command ended by Kill.
var errKilled = errors.New("killed")

// Kill ends the run of the command container named container, as a kubelet kills a container
// whose liveness probe failed: it exits with ReasonError and ExitCodeKilled, and its Exit's Err
// wraps why. The pod goes on; Restart runs the command again. HTTP containers are not killed
// this way (Restart replaces their instances).
func (p *Pod) Kill(container string, why string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.byName[container]
	switch {
	case c == nil:
		return fmt.Errorf("kill container %q of pod %s: no such container", container, p.cfg.Name)
	case c.pool != nil:
		return fmt.Errorf("kill container %q of pod %s: it serves HTTP; restart it instead", container, p.cfg.Name)
	case !c.running || c.kill == nil:
		return fmt.Errorf("kill container %q of pod %s: not running", container, p.cfg.Name)
	}
	c.kill(fmt.Errorf("%w: %s", errKilled, why))
	return nil
}

// launch runs a command container in a goroutine that the pod waits for in Close.
func (p *Pod) launch(c *container) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrClosed
	case c.running:
		return ErrRunning
	}
	c.running = true
	p.inflight++
	started := p.started
	ctx, kill := context.WithCancelCause(p.cmdCtx)
	c.kill = kill
	go func() {
		defer kill(nil)
		exit := c.run(ctx, started)
		p.mu.Lock()
		c.running = false
		p.mu.Unlock()
		p.report(exit)
		p.leave()
	}()
	return nil
}

// ServeHTTP serves r with the HTTP container that declares port, as the host side of a Service or
// a probe would: 502 if no container declares port, 503 if no instance can be had before the
// request timeout or the pod is closing, 500 if the guest fails, 504 if it runs out of time. If the
// guest fails after sending its response head, the response is left short.
func (p *Pod) ServeHTTP(port int, w http.ResponseWriter, r *http.Request) {
	c := p.ports[port]
	if c == nil {
		http.Error(w, fmt.Sprintf("pod %s: no container declares port %d", p.cfg.Name, port), http.StatusBadGateway)
		return
	}
	if !p.enter() {
		http.Error(w, fmt.Sprintf("pod %s is shutting down", p.cfg.Name), http.StatusServiceUnavailable)
		return
	}
	defer p.leave()
	c.serve(w, r)
}

// enter counts a request in, unless the pod is closing.
func (p *Pod) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.inflight++
	return true
}

func (p *Pod) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if p.closed && p.inflight == 0 {
		close(p.drained)
	}
}

func (p *Pod) report(e Exit) {
	if p.cfg.OnExit != nil {
		p.cfg.OnExit(e)
	}
}

// Close stops the pod: it refuses new requests, stops command containers at once (WASI has no
// signal to ask them), waits for requests in flight until ctx is done, then kills what still runs
// and waits for it. Volumes stay on disk. Close may be called more than once.
func (p *Pod) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.drained
		return nil
	}
	p.closed = true
	if p.inflight == 0 {
		close(p.drained)
	}
	p.mu.Unlock()
	p.stopCmds()
	var err error
	select {
	case <-p.drained:
	case <-ctx.Done():
		err = fmt.Errorf("close pod %s: killed requests still running: %w", p.cfg.Name, ctx.Err())
		p.kill()
		<-p.drained
	}
	p.kill()
	p.rt.mu.Lock()
	delete(p.rt.pods, p)
	p.rt.mu.Unlock()
	for _, c := range p.list {
		if c.pool != nil {
			c.pool.close()
		}
	}
	return err
}

// ContainerStats describes a container's instances at one moment.
type ContainerStats struct {
	Name      string
	Instances int // live instances: idle, serving, or a running command
	Idle      int
	// MemoryBytes is the size of the live instances' linear memories.
	MemoryBytes uint64
}

// Stats returns each container's instances and memory.
func (p *Pod) Stats() []ContainerStats {
	out := make([]ContainerStats, 0, len(p.list))
	for _, c := range p.list {
		out = append(out, c.stats())
	}
	return out
}

// lockedWriter serializes writes from a container's instances, which run concurrently.
func lockedWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &syncWriter{w: w}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
