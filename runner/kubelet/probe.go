package kubelet

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// probeKind tells readiness from liveness probes.
type probeKind int

const (
	readiness probeKind = iota
	liveness
)

// startProbes starts the container's probes for its current run.
func (w *worker) startProbes(ctx context.Context, c *ctr) {
	w.stopProbes(c)
	if c.spec.ReadinessProbe == nil && c.spec.LivenessProbe == nil {
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	c.probeCancel = cancel
	c.probeGen++
	gen, sb := c.probeGen, w.sb
	if p := c.spec.ReadinessProbe; p != nil {
		c.ready = false
		go w.probeLoop(pctx, sb, c, p, readiness, gen)
	}
	if p := c.spec.LivenessProbe; p != nil {
		go w.probeLoop(pctx, sb, c, p, liveness, gen)
	}
}

// stopProbes stops the container's probes; results still in flight are ignored.
func (w *worker) stopProbes(c *ctr) {
	if c.probeCancel != nil {
		c.probeCancel()
		c.probeCancel = nil
	}
	c.probeGen++
}

// probeLoop probes every period and posts the verdict each time it changes: readiness once
// successThreshold successes or failureThreshold failures are seen in a row, liveness once
// failureThreshold failures are.
func (w *worker) probeLoop(ctx context.Context, sb *sandbox.Pod, c *ctr, p *api.Probe, kind probeKind, gen int) {
	period := seconds(p.PeriodSeconds, 10)
	timeout := seconds(p.TimeoutSeconds, 1)
	success := int(max(p.SuccessThreshold, 1))
	failure := int(max(p.FailureThreshold, 3))
	port, portErr := probePort(c.spec, p)
	wait := time.Duration(p.InitialDelaySeconds) * time.Second
	verdict, successes, failures := -1, 0, 0 // verdict: -1 unknown, 0 failing, 1 passing
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		msg := ""
		if portErr != nil {
			msg = portErr.Error()
		} else {
			msg = doProbe(ctx, sb, port, p, timeout)
		}
		if msg == "" {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		switch {
		case kind == readiness && msg == "" && successes >= success && verdict != 1:
			verdict = 1
			w.post(func() { w.onReadiness(c, gen, true) })
		case kind == readiness && msg != "" && failures >= failure && verdict != 0:
			verdict = 0
			w.post(func() { w.onReadiness(c, gen, false) })
		case kind == liveness && msg != "" && failures >= failure:
			w.post(func() { w.onLivenessFailed(ctx, c, gen, msg) })
			return // the container restarts with new probes
		}
		t.Reset(period)
	}
}

func seconds(n int32, def int) time.Duration {
	if n <= 0 {
		return time.Duration(def) * time.Second
	}
	return time.Duration(n) * time.Second
}

// probePort resolves the probe's port, a number or the name of a containerPort.
func probePort(c api.Container, p *api.Probe) (int, error) {
	if p.HTTPGet == nil {
		return 0, fmt.Errorf("only httpGet probes are supported")
	}
	port := p.HTTPGet.Port
	if !port.IsString {
		return int(port.IntVal), nil
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("port %q is not a containerPort of container %s", port.StrVal, c.Name)
}

// doProbe sends one GET over the pod loopback; "" means success, else why it failed.
func doProbe(ctx context.Context, sb *sandbox.Pod, port int, p *api.Probe, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := p.HTTPGet.Path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost:"+strconv.Itoa(port)+path, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("User-Agent", "wk-probe/1.0")
	for _, h := range p.HTTPGet.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	rw := &probeWriter{header: http.Header{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sb.ServeHTTP(port, rw, req)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Sprintf("Get %q: context deadline exceeded (Client.Timeout exceeded while awaiting headers)", req.URL)
	}
	if rw.code == 0 {
		rw.code = http.StatusOK
	}
	if rw.code < 200 || rw.code >= 400 {
		return fmt.Sprintf("HTTP probe failed with statuscode: %d", rw.code)
	}
	return ""
}

// probeWriter keeps a probe response's status and drops its body.
type probeWriter struct {
	header http.Header
	code   int
}

func (p *probeWriter) Header() http.Header { return p.header }

func (p *probeWriter) Write(b []byte) (int, error) {
	if p.code == 0 {
		p.code = http.StatusOK
	}
	return len(b), nil
}

func (p *probeWriter) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}

func (w *worker) onReadiness(c *ctr, gen int, ready bool) {
	if gen == c.probeGen {
		c.ready = ready
	}
}

// onLivenessFailed restarts a container whose liveness probe failed.
func (w *worker) onLivenessFailed(ctx context.Context, c *ctr, gen int, msg string) {
	if gen != c.probeGen || w.sb == nil || c.state.Running == nil {
		return
	}
	if c.module.Kind() != sandbox.KindHTTP {
		// The command is killed; its exit restarts it (or not) by the pod's restartPolicy,
		// with the back-off of any exit.
		if err := w.sb.Kill(c.spec.Name, messageLivenessFailed+msg); err != nil {
			w.r.cfg.Logger.Warn("kill after a failed liveness probe", "pod", w.key, "container", c.spec.Name, "err", err)
		}
		return
	}
	now := api.NewTime(time.Now())
	c.last = api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: sandbox.ExitCodeKilled, Reason: "Error",
		Message: messageLivenessFailed + msg, StartedAt: c.state.Running.StartedAt, FinishedAt: now, ContainerID: w.containerID(c)}}
	c.restarts++
	c.log.restarted()
	if err := w.sb.Restart(ctx, c.spec.Name); err != nil {
		c.state = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: ReasonCreateContainerError, Message: err.Error()}}
		return
	}
	c.state = api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: now}}
	w.startProbes(ctx, c)
}
