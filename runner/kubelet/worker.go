package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// Reasons and messages of pods and containers the worker reports.
const (
	ReasonDeadlineExceeded        = "DeadlineExceeded"
	ReasonContainerStatusUnknown  = "ContainerStatusUnknown"
	messageDeadline               = "Pod was active on the node longer than the specified deadline"
	messageRunnerRestarted        = "the runner restarted: the container was started again"
	messageLivenessFailed         = "Liveness probe failed: "
	statusWriteAttempts           = 3
	containerIDPrefix             = "wasm://"
	finalDeleteRetry              = 500 * time.Millisecond
	closeOnShutdown               = 2 * time.Second
	defaultTerminationGracePeriod = 30
)

// ctr is the worker's view of one container.
type ctr struct {
	spec     api.Container
	module   *sandbox.Module
	env      []string          // NAME=value, as resolved for the sandbox
	vars     map[string]string // for $(NAME) in command and args
	log      *containerLog
	logBase  string
	state    api.ContainerState
	last     api.ContainerState
	restarts int32
	crashes  int  // exits in a row that led to a restart, for the back-off
	ready    bool // the readiness probe's verdict (true without a probe)
	started  bool // has run in this process
	// recovered: the pod's status showed it started by an earlier runner process.
	recovered bool
	// finished: terminated and not to be restarted.
	finished bool
	// crashed: an HTTP container that failed to start; the pod is created again after back-off.
	crashed bool
	// probeCancel stops the container's probes; probeGen tells their results from older ones.
	probeCancel context.CancelFunc
	probeGen    int
}

// worker runs one pod. Everything but the fields under mu is touched only by its goroutine.
type worker struct {
	r   *Runner
	key string
	uid string
	dir string

	mu      sync.Mutex
	events  []func()
	pod     *api.Pod // latest seen from the informer
	grace   *int64   // set when termination is requested
	kick    chan struct{}
	done    chan struct{}
	ctrs    []*ctr // set before the goroutine starts; fields owned by the goroutine
	byName  map[string]*ctr
	retry   *time.Timer
	sb      *sandbox.Pod
	live    atomic.Pointer[sandbox.Pod] // sb, for other goroutines
	start   time.Time                   // startTime
	phase   string
	reason  string
	message string
	written *api.Pod // as last written
	lastST  *api.PodStatus
	pulls   int // failed attempts at resolving images in a row
	// projected are the pod's ConfigMap and Secret volumes, by name, as the sandbox mounts them.
	projected map[string]*projected
	// configWait: the last try to start failed for a ConfigMap or Secret, so a change of one is
	// worth trying again at once.
	configWait bool
}

func newWorker(r *Runner, p *api.Pod) *worker {
	w := &worker{r: r, key: p.Namespace + "/" + p.Name, uid: p.UID, pod: p,
		dir: filepath.Join(r.cfg.DataDir, "pods", p.UID), kick: make(chan struct{}, 1),
		done: make(chan struct{}), byName: map[string]*ctr{}, phase: api.PodPending}
	prev := map[string]api.ContainerStatus{}
	for _, cs := range p.Status.ContainerStatuses {
		prev[cs.Name] = cs
	}
	if p.Status.StartTime != nil && !p.Status.StartTime.IsZero() {
		w.start = p.Status.StartTime.Time
	}
	for _, spec := range p.Spec.Containers {
		c := &ctr{spec: spec, logBase: filepath.Join(w.dir, "logs", spec.Name),
			state: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonContainerCreating}}}
		if cs, ok := prev[spec.Name]; ok {
			c.restarts, c.last = cs.RestartCount, cs.LastState
			c.recovered = cs.State.Running != nil || cs.State.Terminated != nil
		}
		if spec.ReadinessProbe == nil {
			c.ready = true
		}
		w.ctrs = append(w.ctrs, c)
		w.byName[spec.Name] = c
	}
	return w
}

// post queues f to run on the worker's goroutine.
func (w *worker) post(f func()) {
	w.mu.Lock()
	w.events = append(w.events, f)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// after posts f once d has passed.
func (w *worker) after(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() { w.post(f) })
}

// update gives the worker the pod as the informer now has it.
func (w *worker) update(p *api.Pod) {
	w.mu.Lock()
	w.pod = p
	w.mu.Unlock()
}

// terminate asks the worker to stop the pod within grace seconds and delete it for good.
func (w *worker) terminate(grace int64) {
	w.mu.Lock()
	if w.grace == nil || grace < *w.grace {
		w.grace = &grace
	}
	w.mu.Unlock()
	w.post(func() {})
}

// run is the worker's goroutine: it starts the pod, handles its events and writes its status
// until the pod is deleted (then it deletes it for good) or ctx ends (the runner stops).
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.closeLogs()
	refs := podRefs(w.currentPod())
	w.r.configs.register(w, refs)
	defer w.r.configs.unregister(w, refs)
	for _, c := range w.ctrs {
		if !w.r.images.cached(c.spec.Image) {
			w.writeStatus(ctx) // Pending, ContainerCreating, while the module is fetched and compiled
			break
		}
	}
	w.tryStart(ctx)
	w.writeStatus(ctx)
	for {
		select {
		case <-ctx.Done():
			w.shutdown()
			return
		case <-w.kick:
		}
		w.mu.Lock()
		events := w.events
		w.events = nil
		grace := w.grace
		w.mu.Unlock()
		for _, f := range events {
			f()
		}
		if grace != nil {
			w.finish(ctx, *grace)
			return
		}
		w.writeStatus(ctx)
	}
}

// tryStart resolves the modules and starts the sandbox; on failure it schedules another try.
func (w *worker) tryStart(ctx context.Context) {
	if w.sb != nil || w.phase == api.PodSucceeded || w.phase == api.PodFailed {
		return
	}
	p := w.currentPod()
	for _, c := range w.ctrs {
		m, err := w.r.images.resolve(ctx, c.spec.Image)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			reason := waitingReason(err)
			c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
			w.pulls++
			w.retryStart(ctx, w.r.backoff(w.pulls))
			return
		}
		c.module = m
	}
	if !w.resolveConfig(ctx, p) {
		w.pulls++
		w.retryStart(ctx, w.r.backoff(w.pulls))
		return
	}
	cfg, err := w.podConfig(p)
	var sb *sandbox.Pod
	if err == nil {
		sb, err = w.r.rt.NewPod(ctx, cfg)
	}
	if err != nil {
		for _, c := range w.ctrs {
			c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonCreateContainerError, Message: err.Error()}}
		}
		w.pulls++
		w.retryStart(ctx, w.r.backoff(w.pulls))
		return
	}
	w.pulls = 0
	now := time.Now()
	if w.start.IsZero() {
		w.start = now
	}
	for _, c := range w.ctrs {
		if c.started || c.recovered || c.crashed {
			c.restarts++
			if c.recovered && !c.started && !c.crashed {
				c.last = api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: sandbox.ExitCodeKilled,
					Reason: ReasonContainerStatusUnknown, Message: messageRunnerRestarted}}
			}
			c.log.restarted()
		}
		c.recovered, c.crashed, c.started = false, false, true
		c.state = api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: api.NewTime(now)}}
		c.finished = false
	}
	w.setSB(sb)
	if err := sb.Start(ctx); err != nil {
		// The failing container's exit is posted and marks it crashed; the others wait.
		_ = sb.Close(ctx)
		w.setSB(nil)
		for _, c := range w.ctrs {
			c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonContainerCreating}}
		}
		w.post(func() { w.afterStartFailure(ctx) })
		return
	}
	w.phase = api.PodRunning
	for _, c := range w.ctrs {
		w.startProbes(ctx, c)
	}
	if d := p.Spec.ActiveDeadlineSeconds; d != nil {
		left := time.Until(w.start.Add(time.Duration(*d) * time.Second))
		w.after(max(left, 0), w.deadlineExceeded)
	}
}

// afterStartFailure schedules the next try after the back-off of the container that crashed.
func (w *worker) afterStartFailure(ctx context.Context) {
	crashes := 1
	for _, c := range w.ctrs {
		if c.crashed {
			crashes = max(crashes, c.crashes)
		}
	}
	w.retryStart(ctx, w.r.backoff(crashes))
}

func (w *worker) retryStart(ctx context.Context, d time.Duration) {
	if w.retry != nil {
		w.retry.Stop()
	}
	for _, c := range w.ctrs {
		if c.crashed {
			c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %v restarting failed container=%s pod=%s", d, c.spec.Name, w.currentPod().Name)}}
		}
	}
	w.retry = w.after(d, func() { w.tryStart(ctx) })
}

// onExit handles the end of an instance.
func (w *worker) onExit(ctx context.Context, e sandbox.Exit) {
	c := w.byName[e.Container]
	if c == nil || e.Reason == sandbox.ReasonStopped {
		return
	}
	term := &api.ContainerStateTerminated{ExitCode: int32(e.ExitCode), Reason: string(e.Reason),
		Message: exitMessage(e), StartedAt: api.NewTime(e.Started), FinishedAt: api.NewTime(e.Finished),
		ContainerID: w.containerID(c)}
	if e.Reason == sandbox.ReasonCompleted {
		term.Message = ""
	}
	if c.module != nil && c.module.Kind() == sandbox.KindHTTP {
		c.last = api.ContainerState{Terminated: term}
		if w.sb == nil { // it failed to start: the pod is created again after back-off
			c.crashed = true
			c.crashes++
			return
		}
		// The sandbox replaces the instance on demand: the container restarted at once.
		c.restarts++
		c.state = api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: api.NewTime(e.Finished)}}
		return
	}
	if w.sb == nil || w.phase == api.PodFailed {
		return
	}
	c.state = api.ContainerState{Terminated: term}
	c.ready = c.spec.ReadinessProbe == nil
	w.stopProbes(c)
	if e.Reason == sandbox.ReasonDeadlineExceeded && w.deadlinePassed() {
		w.deadlineExceeded()
		return
	}
	policy := w.currentPod().Spec.RestartPolicy
	restart := policy == api.RestartAlways || policy == "" ||
		(policy == api.RestartOnFailure && e.Reason != sandbox.ReasonCompleted)
	if !restart {
		c.finished = true
		c.log.finished()
		w.updatePhase()
		if w.phase == api.PodSucceeded || w.phase == api.PodFailed {
			w.stopSandbox()
		}
		return
	}
	if e.Finished.Sub(e.Started) > 10*time.Minute {
		c.crashes = 0 // ran long enough: the back-off starts over, as the kubelet's
	}
	c.crashes++
	d := w.r.backoff(c.crashes)
	restartNow := func() {
		if w.sb == nil || c.state.Terminated == nil && c.state.Waiting == nil {
			return
		}
		c.last = api.ContainerState{Terminated: term}
		c.log.restarted()
		if err := w.sb.Restart(ctx, c.spec.Name); err != nil {
			c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonCreateContainerError, Message: err.Error()}}
			return
		}
		c.restarts++
		c.state = api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: api.NewTime(time.Now())}}
		w.startProbes(ctx, c)
	}
	if d == 0 {
		restartNow()
		return
	}
	c.last = api.ContainerState{Terminated: term}
	c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonCrashLoopBackOff,
		Message: fmt.Sprintf("back-off %v restarting failed container=%s pod=%s", d, c.spec.Name, w.currentPod().Name)}}
	w.after(d, restartNow)
}

func exitMessage(e sandbox.Exit) string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// updatePhase sets Succeeded or Failed once every container finished for good.
func (w *worker) updatePhase() {
	failed := false
	for _, c := range w.ctrs {
		if !c.finished {
			return
		}
		if t := c.state.Terminated; t == nil || t.ExitCode != 0 {
			failed = true
		}
	}
	w.phase = api.PodSucceeded
	if failed {
		w.phase = api.PodFailed
	}
}

func (w *worker) deadlinePassed() bool {
	d := w.currentPod().Spec.ActiveDeadlineSeconds
	return d != nil && !w.start.IsZero() && !time.Now().Before(w.start.Add(time.Duration(*d)*time.Second))
}

// deadlineExceeded fails the pod: activeDeadlineSeconds passed.
func (w *worker) deadlineExceeded() {
	if w.phase == api.PodSucceeded || w.phase == api.PodFailed {
		return
	}
	now := api.NewTime(time.Now())
	for _, c := range w.ctrs {
		if c.state.Terminated == nil {
			started := now
			if c.state.Running != nil {
				started = c.state.Running.StartedAt
			}
			c.state = api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: sandbox.ExitCodeKilled,
				Reason: ReasonDeadlineExceeded, Message: messageDeadline, StartedAt: started, FinishedAt: now,
				ContainerID: w.containerID(c)}}
		}
		c.finished, c.ready = true, false
		w.stopProbes(c)
	}
	w.phase, w.reason, w.message = api.PodFailed, ReasonDeadlineExceeded, messageDeadline
	if w.retry != nil {
		w.retry.Stop()
	}
	w.stopSandbox()
}

// stopSandbox closes the sandbox of a pod that finished; its logs stay.
func (w *worker) stopSandbox() {
	if w.sb == nil {
		return
	}
	sb := w.sb
	w.setSB(nil)
	ctx, cancel := context.WithTimeout(context.Background(), closeOnShutdown)
	defer cancel()
	_ = sb.Close(ctx)
	for _, c := range w.ctrs {
		c.log.finished()
	}
}

// shutdown kills the pod because the runner stops; the pod stays as the API shows it.
func (w *worker) shutdown() {
	for _, c := range w.ctrs {
		w.stopProbes(c)
	}
	if w.retry != nil {
		w.retry.Stop()
	}
	if w.sb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeOnShutdown)
		defer cancel()
		_ = w.sb.Close(ctx)
		w.setSB(nil)
	}
}

// finish stops the pod within grace seconds, deletes it for good and removes its directory.
func (w *worker) finish(ctx context.Context, grace int64) {
	for _, c := range w.ctrs {
		w.stopProbes(c)
		c.ready = false
	}
	if w.retry != nil {
		w.retry.Stop()
	}
	if w.sb != nil {
		w.writeStatus(ctx) // not ready any more: endpoints drop the pod while it drains
		// Proxies learn that the pod left its Services' endpoints a moment after its deletion;
		// until then it keeps serving what they send it, as a Kubernetes pod does between
		// SIGTERM and its exit.
		drain := min(w.r.cfg.DrainDelay, time.Duration(grace)*time.Second)
		start := time.Now()
		select {
		case <-ctx.Done():
		case <-time.After(drain):
		}
		grace = max(0, grace-int64(time.Since(start)/time.Second))
		cctx, cancel := context.WithTimeout(ctx, time.Duration(grace)*time.Second)
		_ = w.sb.Close(cctx)
		cancel()
		w.setSB(nil)
	}
	p := w.currentPod()
	for ctx.Err() == nil {
		err := w.r.finalDelete(ctx, p)
		if err == nil {
			break
		}
		w.r.cfg.Logger.Warn("final delete", "pod", w.key, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(finalDeleteRetry):
		}
	}
	if ctx.Err() == nil {
		w.closeLogs()
		_ = os.RemoveAll(w.dir)
	}
	w.r.forget(w)
}

// logRef returns the container's log; callers hold the worker's mu.
func (c *ctr) logRef() *containerLog { return c.log }

func (w *worker) closeLogs() {
	for _, c := range w.ctrs {
		if c.log != nil {
			c.log.close()
		}
	}
}

func (w *worker) currentPod() *api.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *worker) containerID(c *ctr) string {
	return containerIDPrefix + w.uid + "/" + c.spec.Name + "/" + strconv.Itoa(int(c.restarts))
}

// status is the pod status the worker reports now.
func (w *worker) status(p *api.Pod) api.PodStatus {
	ip := w.r.cfg.NodeIP
	st := api.PodStatus{Phase: w.phase, Reason: w.reason, Message: w.message, HostIP: ip, PodIP: ip,
		PodIPs: []api.PodIP{{IP: ip}}, QOSClass: p.Status.QOSClass, NominatedNodeName: p.Status.NominatedNodeName}
	if !w.start.IsZero() {
		t := api.NewTime(w.start)
		st.StartTime = &t
	}
	allReady := w.phase == api.PodRunning
	for _, c := range w.ctrs {
		ready := c.state.Running != nil && c.ready
		allReady = allReady && ready
		cs := api.ContainerStatus{Name: c.spec.Name, State: c.state, LastState: c.last, Ready: ready,
			RestartCount: c.restarts, Image: c.spec.Image, Started: api.Ptr(c.state.Running != nil)}
		if c.module != nil {
			cs.ImageID = c.module.Digest()
			cs.ContainerID = w.containerID(c)
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	ours := map[string]bool{api.PodScheduled: true, api.PodInitialized: true, api.ContainersReady: true, api.PodReady: true}
	for _, cond := range p.Status.Conditions {
		if !ours[cond.Type] {
			st.Conditions = append(st.Conditions, cond)
		}
	}
	now := api.NewTime(time.Now())
	readyStatus, reason := api.ConditionTrue, ""
	if !allReady {
		readyStatus, reason = api.ConditionFalse, "ContainersNotReady"
		if w.phase == api.PodSucceeded || w.phase == api.PodFailed {
			reason = "PodCompleted"
		}
	}
	initialized := api.ConditionTrue
	for _, c := range []struct {
		typ    string
		status api.ConditionStatus
		reason string
	}{
		{api.PodScheduled, api.ConditionTrue, ""},
		{api.PodInitialized, initialized, ""},
		{api.ContainersReady, readyStatus, reason},
		{api.PodReady, readyStatus, reason},
	} {
		cond := api.PodCondition{Type: c.typ, Status: c.status, Reason: c.reason, LastTransitionTime: now}
		if old := findCondition(w.lastST, p, c.typ); old != nil && old.Status == c.status {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		st.Conditions = append(st.Conditions, cond)
	}
	return st
}

func findCondition(last *api.PodStatus, p *api.Pod, typ string) *api.PodCondition {
	conds := p.Status.Conditions
	if last != nil {
		conds = last.Conditions
	}
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// writeStatus writes the pod's status if it changed since the last write.
func (w *worker) writeStatus(ctx context.Context) {
	p := w.currentPod()
	if w.written != nil && newerRV(w.written.ResourceVersion, p.ResourceVersion) {
		p = w.written
	}
	st := w.status(p)
	if w.lastST != nil && reflect.DeepEqual(*w.lastST, st) {
		return
	}
	for attempt := 0; attempt < statusWriteAttempts && ctx.Err() == nil; attempt++ {
		upd := *p
		upd.Status = st
		got, err := w.r.pods.Namespace(p.Namespace).UpdateStatus(ctx, &upd)
		if err == nil {
			w.written, w.lastST = got, &st
			return
		}
		if api.IsNotFound(err) {
			return // deleted: the informer tells the runner
		}
		if !api.IsConflict(err) {
			w.r.cfg.Logger.Warn("write pod status", "pod", w.key, "err", err)
			break
		}
		fresh, err := w.r.pods.Namespace(p.Namespace).Get(ctx, p.Name)
		if err != nil || fresh.UID != w.uid {
			return
		}
		p = fresh
		st = w.status(p)
	}
	if ctx.Err() == nil {
		w.after(finalDeleteRetry, func() {}) // try again soon
	}
}

// newerRV reports whether resourceVersion a is newer than b.
func newerRV(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x > y
}

var errPodConfig = errors.New("cannot run pod")

// resolveConfig fills the pod's ConfigMap and Secret volumes and resolves its containers'
// environments, as the kubelet mounts volumes and then makes each container's environment. On
// failure it sets the containers' states, records the kubelet's Warning events and returns false:
// a volume that cannot be filled keeps every container ContainerCreating (FailedMount); a missing
// reference of an environment makes its container wait with CreateContainerConfigError.
func (w *worker) resolveConfig(ctx context.Context, p *api.Pod) bool {
	w.configWait = false
	vols, err := w.projectVolumes(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		w.configWait = true
		for _, c := range w.ctrs {
			c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonContainerCreating}}
		}
		w.r.events.Eventf(p, api.EventWarning, ReasonFailedMount, "%v", err)
		return false
	}
	w.projected = vols
	ok := true
	for _, c := range w.ctrs {
		env, vars, err := w.containerEnv(ctx, p, &c.spec)
		if err == nil {
			c.env, c.vars = env, vars
			continue
		}
		if ctx.Err() != nil {
			return false
		}
		ok = false
		reason := ReasonCreateContainerError
		var ce *configError
		if errors.As(err, &ce) {
			reason = ReasonCreateContainerConfigError
			w.configWait = true
			w.r.events.Eventf(p, api.EventWarning, ReasonFailed, "Error: %v", err)
		}
		c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
	}
	return ok
}

// podConfig builds the sandbox configuration of p, opening the containers' logs.
func (w *worker) podConfig(p *api.Pod) (sandbox.PodConfig, error) {
	cfg := sandbox.PodConfig{Name: p.Name, Namespace: p.Namespace, Node: w.r.cfg.NodeName,
		Dir: filepath.Join(w.dir, "volumes"),
		OnExit: func(e sandbox.Exit) {
			ctx := w.r.runCtx
			w.post(func() { w.onExit(ctx, e) })
		}}
	if w.r.cfg.Outbound != nil {
		cfg.Outbound = w.r.cfg.Outbound(p.Namespace)
	}
	if d := p.Spec.ActiveDeadlineSeconds; d != nil {
		cfg.ActiveDeadline = time.Until(w.start.Add(time.Duration(*d) * time.Second))
		if w.start.IsZero() {
			cfg.ActiveDeadline = time.Duration(*d) * time.Second
		}
		cfg.ActiveDeadline = max(cfg.ActiveDeadline, time.Millisecond)
	}
	for _, v := range p.Spec.Volumes {
		if pv := w.projected[v.Name]; pv != nil {
			cfg.Volumes = append(cfg.Volumes, sandbox.VolumeConfig{Name: v.Name, Files: pv.files})
			continue
		}
		if v.EmptyDir == nil {
			return cfg, fmt.Errorf("%w: volume %s: only emptyDir, configMap and secret volumes are supported", errPodConfig, v.Name)
		}
		vc := sandbox.VolumeConfig{Name: v.Name, Medium: sandbox.Medium(v.EmptyDir.Medium)}
		if v.EmptyDir.SizeLimit != nil {
			vc.SizeLimit = v.EmptyDir.SizeLimit.Value()
		}
		cfg.Volumes = append(cfg.Volumes, vc)
	}
	for _, c := range w.ctrs {
		if c.log == nil {
			l, err := openContainerLog(c.logBase, w.r.cfg.LogMaxBytes)
			if err != nil {
				return cfg, err
			}
			w.mu.Lock() // Logs reads it from other goroutines
			c.log = l
			w.mu.Unlock()
		}
		spec := c.spec
		cc := sandbox.ContainerConfig{Name: spec.Name, Module: c.module, Stdout: c.log.stream("stdout"),
			Stderr: c.log.stream("stderr"), Env: c.env}
		vars := c.vars
		if len(spec.Command) > 0 {
			for _, a := range spec.Command[1:] {
				cc.Args = append(cc.Args, expandVars(a, varMapping(vars)))
			}
		}
		for _, a := range spec.Args {
			cc.Args = append(cc.Args, expandVars(a, varMapping(vars)))
		}
		for _, port := range spec.Ports {
			cc.Ports = append(cc.Ports, int(port.ContainerPort))
		}
		for _, m := range spec.VolumeMounts {
			cc.Mounts = append(cc.Mounts, sandbox.Mount{Volume: m.Name, Path: m.MountPath, ReadOnly: m.ReadOnly})
		}
		if q, ok := spec.Resources.Limits[api.ResourceMemory]; ok {
			cc.MemoryLimitBytes = q.Value()
		}
		cfg.Containers = append(cfg.Containers, cc)
	}
	return cfg, nil
}

// fieldRef resolves a downward-API field path.
func (w *worker) fieldRef(p *api.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return p.UID, nil
	case "spec.nodeName":
		return w.r.cfg.NodeName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return w.r.cfg.NodeIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": p.Labels, "metadata.annotations": p.Annotations} {
		if len(path) > len(prefix)+4 && path[:len(prefix)] == prefix && path[len(prefix):len(prefix)+2] == "['" &&
			path[len(path)-2:] == "']" {
			return m[path[len(prefix)+2:len(path)-2]], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// setSB sets the running sandbox, which Runner.Pod hands out.
func (w *worker) setSB(sb *sandbox.Pod) {
	w.sb = sb
	w.live.Store(sb)
}
