package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/registry"
)

// densityFigures is the last line `wk bench density` prints. Memory is the runner's own: it runs
// as a `wk runner` child process and is read from /proc/PID/status (VmRSS); its Go heap is the
// live heap after its latest garbage collection (GODEBUG=gctrace=1).
type densityFigures struct {
	Module          string  `json:"module"`
	Target          int     `json:"target"`
	Pods            int     `json:"pods"`
	Stopped         string  `json:"stopped,omitempty"`
	Runner          string  `json:"runner"`
	RSSBeforeMB     float64 `json:"runner_rss_before_mb"`
	RSSAfterMB      float64 `json:"runner_rss_after_mb"`
	RSSPerPodKB     float64 `json:"rss_per_pod_kb"`
	HeapBeforeMB    float64 `json:"runner_heap_before_mb"`
	HeapAfterMB     float64 `json:"runner_heap_after_mb"`
	HeapPerPodKB    float64 `json:"heap_per_pod_kb"`
	CPUMsPerPod     float64 `json:"runner_cpu_ms_per_pod"`
	BudgetMB        float64 `json:"memory_budget_mb"`
	ElapsedS        float64 `json:"elapsed_s"`
	PodsPerSec      float64 `json:"pods_per_s"`
	IdleRunnerRSSMB float64 `json:"idle_runner_rss_mb"`
	IdleServerRSSMB float64 `json:"idle_server_rss_mb"`
}

type benchDensityOptions struct {
	pods, batch    int
	module, source string
	wk             string
	budget         int64
	timeout        time.Duration
	settle         time.Duration
}

// densityCreators is how many API clients create each batch's pods.
const densityCreators = 16

func newBenchDensityCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "density",
		Short: "Pods held Running by one real runner, and memory per pod; idle RSS of a runner and of wk server",
		Long: `Measures, in this order:
  - the idle RSS of 'wk server' with its in-process runner (a child process of --wk);
  - the idle RSS of a 'wk runner' child process joined to an in-process control plane
    (embedded etcd in a temporary directory, controllers, scheduler);
  - then, with the --module pushed and compiled by a warm-up pod, how many pods that runner
    holds Running and Ready: pods are created in batches of --batch until --pods, each batch
    waited for through a watch. After each batch the runner's RSS (/proc/PID/status VmRSS) and
    Go heap (live heap after its latest GC, from GODEBUG=gctrace=1) are read.

It stops early, saying why, when the next batch would take the runner past --memory-budget (at
the memory per pod seen so far), when --timeout has passed, or when a batch does not become
Running and Ready (with the reason a stuck pod reports). The figures are for the pods held.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			o := benchDensityOptions{pods: v.GetInt("pods"), batch: v.GetInt("batch"), module: v.GetString("module"),
				source: v.GetString("source"), wk: v.GetString("wk"), timeout: v.GetDuration("timeout"), settle: v.GetDuration("settle")}
			switch o.module {
			case "hello":
				o.pods = cmp0(o.pods, 5000)
			case "minimal":
				o.pods = cmp0(o.pods, 50000)
			default:
				return fmt.Errorf("bench density: --module %q: want hello or minimal", o.module)
			}
			if o.pods < 1 || o.batch < 1 || o.timeout <= 0 || o.settle < 0 {
				return errors.New("bench density: --pods and --batch must be at least 1, --timeout positive, --settle not negative")
			}
			if b := v.GetString("memory-budget"); b != "" {
				q, err := api.ParseQuantity(b)
				if err != nil {
					return fmt.Errorf("bench density: --memory-budget %q: %w", b, err)
				}
				o.budget = q.Value()
			} else {
				o.budget = memTotal() / 2
			}
			if o.wk == "" {
				if o.wk, err = os.Executable(); err != nil {
					return fmt.Errorf("bench density: find the wk binary: %w", err)
				}
			}
			return withCPUProfile(v.GetString("cpuprofile"), func() error { return benchDensity(cmd.Context(), s, o) })
		},
	}
	f := cmd.Flags()
	f.String("module", "hello", "hello (samples/hello, a Go guest) or minimal (a hand-written module)")
	f.Int("pods", 0, "pods to reach (default 5000 for hello, 50000 for minimal)")
	f.Int("batch", 500, "pods created per batch")
	f.String("memory-budget", "", "stop before the runner's RSS would pass this, e.g. 8Gi (default: half the physical memory, the runner's default capacity)")
	f.Duration("timeout", 5*time.Minute, "stop creating pods after this long")
	f.Duration("settle", 10*time.Second, "how long an idle process is left to settle before its memory is read")
	f.String("source", "", "the directory of samples/hello (default: found above the working directory)")
	f.String("wk", "", "the wk binary to run the runner and the server from (default: this one)")
	return cmd
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func benchDensity(ctx context.Context, s *streams, o benchDensityOptions) error {
	progress := func(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }
	wasm, err := benchWasm(ctx, o.module, o.source, progress)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "wk-bench-density-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fig := densityFigures{Module: o.module, Target: o.pods, BudgetMB: float64(o.budget) / (1 << 20)}

	progress("idle RSS of 'wk server' with its runner (a child process)")
	if fig.IdleServerRSSMB, err = idleServerWithRunnerRSS(ctx, o.wk, filepath.Join(dir, "idle-server"), o.settle); err != nil {
		return err
	}
	progress("  %.1f MB", fig.IdleServerRSSMB)

	progress("starting a control plane in %s and a 'wk runner' child process", dir)
	srv, stopServer, err := startBenchServer(ctx, filepath.Join(dir, "server"))
	if err != nil {
		return err
	}
	defer stopServer()
	c := srv.Client()
	runner, err := startRunnerProc(o.wk, srv.URL(), srv.Bundle().JoinToken, filepath.Join(dir, "server", "pki", "ca.crt"),
		filepath.Join(dir, "runner"), o.pods+10)
	if err != nil {
		return err
	}
	defer runner.stop()
	fig.Runner = fmt.Sprintf("wk runner child process, pid %d; memory read from /proc/%d/status", runner.pid(), runner.pid())
	if err := runner.waitNodeReady(ctx, c); err != nil {
		return err
	}
	if err := sleepCtx(ctx, o.settle); err != nil {
		return err
	}
	if fig.IdleRunnerRSSMB, err = runner.rssMB(); err != nil {
		return err
	}
	progress("  idle runner: RSS %.1f MB, Go heap %.1f MB", fig.IdleRunnerRSSMB, runner.heapMB())

	image := "bench-" + o.module + ":v1"
	if _, err := registry.Push(ctx, c, image, wasm); err != nil {
		return fmt.Errorf("push %s: %w", image, err)
	}
	pods := client.Pods(c).Namespace("default")
	tr, err := startReadyTracker(ctx, pods, "app=wk-bench-startup")
	if err != nil {
		return err
	}
	defer tr.stop()
	if _, err := tr.start(ctx, startupPod("warm-up", image)); err != nil {
		return fmt.Errorf("warm-up pod: %w", err)
	}
	if err := sleepCtx(ctx, min(o.settle, 2*time.Second)); err != nil {
		return err
	}
	if fig.RSSBeforeMB, err = runner.rssMB(); err != nil {
		return err
	}
	fig.HeapBeforeMB = runner.heapMB()
	progress("pushed %s (%d bytes); with the warm-up pod running: RSS %.1f MB, Go heap %.1f MB", image, len(wasm), fig.RSSBeforeMB, fig.HeapBeforeMB)

	progress("creating up to %d pods in batches of %d (time limit %v, memory budget %.0f MB)", o.pods, o.batch, o.timeout, fig.BudgetMB)
	cpuBefore, err := procCPUSeconds(runner.pid())
	if err != nil {
		return err
	}
	start := time.Now()
	deadline := start.Add(o.timeout)
	rss, lastRSS, lastN := fig.RSSBeforeMB, fig.RSSBeforeMB, 0
	for fig.Pods < o.pods {
		n := min(o.batch, o.pods-fig.Pods)
		if fig.Pods > 0 {
			// The dearer of the average so far and the last batch's, as RSS grows in steps.
			perPod := max((rss-fig.RSSBeforeMB)/float64(fig.Pods), (rss-lastRSS)/float64(max(lastN, 1)))
			if next := rss + perPod*float64(n); next > fig.BudgetMB {
				fig.Stopped = fmt.Sprintf("memory budget: %d more pods would take the runner to %.0f MB, past %.0f MB", n, next, fig.BudgetMB)
				break
			}
		}
		if time.Now().After(deadline) {
			fig.Stopped = fmt.Sprintf("time limit: %v passed", o.timeout)
			break
		}
		ready, why, err := densityBatch(ctx, tr, image, fig.Pods, n, deadline)
		if err != nil {
			return err
		}
		fig.Pods += ready
		lastRSS, lastN = rss, ready
		if rss, err = runner.rssMB(); err != nil {
			return err
		}
		progress("  %d pods Running and Ready after %.1fs; runner RSS %.0f MB (%.1f KB/pod), Go heap %.0f MB",
			fig.Pods, time.Since(start).Seconds(), rss, perPodKB(rss-fig.RSSBeforeMB, fig.Pods), runner.heapMB())
		if why != "" {
			fig.Stopped = why
			if out := runner.output(); out != "" {
				progress("the runner's last output:\n%s", out)
			}
			break
		}
	}
	fig.ElapsedS = time.Since(start).Seconds()
	cpuAfter, err := procCPUSeconds(runner.pid())
	if err != nil {
		return err
	}
	if fig.Pods > 0 {
		fig.CPUMsPerPod = math.Round((cpuAfter-cpuBefore)*1e4/float64(fig.Pods)) / 10
	}
	fig.PodsPerSec = float64(fig.Pods) / fig.ElapsedS
	fig.RSSAfterMB, fig.HeapAfterMB = rss, runner.heapMB()
	fig.RSSPerPodKB = perPodKB(fig.RSSAfterMB-fig.RSSBeforeMB, fig.Pods)
	fig.HeapPerPodKB = perPodKB(fig.HeapAfterMB-fig.HeapBeforeMB, fig.Pods)
	if fig.Stopped != "" {
		progress("stopped early at %d of %d pods: %s", fig.Pods, o.pods, fig.Stopped)
	}
	progress("%d pods held; runner RSS %.0f -> %.0f MB: %.1f KB per pod (Go heap %.1f KB per pod); runner CPU %.1f ms per pod started",
		fig.Pods, fig.RSSBeforeMB, fig.RSSAfterMB, fig.RSSPerPodKB, fig.HeapPerPodKB, fig.CPUMsPerPod)
	line, _ := json.Marshal(fig)
	fmt.Fprintln(s.out, string(line))
	return nil
}

func perPodKB(deltaMB float64, pods int) float64 {
	if pods == 0 {
		return 0
	}
	return math.Round(deltaMB*1024/float64(pods)*10) / 10
}

// densityBatch creates pods first..first+n-1 from densityCreators clients and waits until they
// are Running and Ready or the deadline passes. It returns how many became ready and, when not
// all did, why (the hold-up of one that did not).
func densityBatch(ctx context.Context, tr *readyTracker, image string, first, n int, deadline time.Time) (int, string, error) {
	chans := make([]<-chan time.Time, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range densityCreators {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				ch, _, err := tr.create(ctx, startupPod(fmt.Sprintf("pod-%06d", first+i), image))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				chans[i] = ch
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, "", firstErr
	}
	// A batch gets at least a minute, even past the time limit, so a slow last batch is counted.
	timer := time.NewTimer(max(time.Until(deadline), time.Minute))
	defer timer.Stop()
	for i, ch := range chans {
		select {
		case <-ch:
		case <-tr.done:
			return 0, "", errors.New("the pod watch stopped")
		case <-ctx.Done():
			return 0, "", ctx.Err()
		case <-timer.C:
			ready := 0
			for _, ch := range chans[i:] {
				select {
				case <-ch:
					ready++
				default:
				}
			}
			name := fmt.Sprintf("pod-%06d", first+i)
			return i + ready, fmt.Sprintf("%d of a batch of %d pods not Running and Ready in time; %s: %s",
				n-i-ready, n, name, tr.why(name)), nil
		}
	}
	return n, "", nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gctraceLive matches the heap sizes of a GODEBUG=gctrace=1 line: start->end->live MB.
var gctraceLive = regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB`)

// runnerProc is a `wk runner` child process.
type runnerProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when its output has been read to the end
	heap atomic.Int64  // live heap after its latest GC, in MB

	mu   sync.Mutex
	tail []string // its last lines of output other than gctrace's, for error messages
}

func startRunnerProc(wk, server, token, caFile, dataDir string, maxPods int) (*runnerProc, error) {
	cmd := exec.Command(wk, "runner", "--server", server, "--token", token, "--ca-file", caFile,
		"--node-name", benchNodeName, "--node-ip", "127.0.0.1", "--data-dir", dataDir,
		"--max-pods", strconv.Itoa(maxPods), "--log-port", "0")
	godebug := "gctrace=1"
	if g := os.Getenv("GODEBUG"); g != "" {
		godebug = g + ",gctrace=1"
	}
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
	out, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = cmd.Stderr
	r := &runnerProc{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s runner: %w", wk, err)
	}
	go r.read(out)
	return r, nil
}

func (r *runnerProc) read(out io.Reader) {
	defer close(r.done)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "gc ") {
			if m := gctraceLive.FindStringSubmatch(line); m != nil {
				mb, _ := strconv.ParseInt(m[3], 10, 64)
				r.heap.Store(mb)
			}
			continue
		}
		r.mu.Lock()
		r.tail = append(r.tail, line)
		if len(r.tail) > 20 {
			r.tail = r.tail[1:]
		}
		r.mu.Unlock()
	}
}

func (r *runnerProc) pid() int { return r.cmd.Process.Pid }

func (r *runnerProc) heapMB() float64 { return float64(r.heap.Load()) }

func (r *runnerProc) rssMB() (float64, error) {
	select {
	case <-r.done:
		return 0, fmt.Errorf("the runner process exited: %s", r.output())
	default:
	}
	return procRSSMB(r.pid())
}

func (r *runnerProc) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.tail, "\n")
}

// waitNodeReady waits for the runner's node to be Ready, failing early if the process exits.
func (r *runnerProc) waitNodeReady(ctx context.Context, c *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-r.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := waitNodeReady(ctx, c, benchNodeName); err != nil {
		return fmt.Errorf("runner: %w; its output:\n%s", err, r.output())
	}
	return nil
}

// stop interrupts the runner and waits for it, killing it if it takes over a minute.
func (r *runnerProc) stop() {
	_ = r.cmd.Process.Signal(os.Interrupt)
	exited := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(time.Minute):
		_ = r.cmd.Process.Kill()
		<-exited
	}
	<-r.done
}

// idleServerWithRunnerRSS runs `wk server` with its runner as a child process, waits until its
// node is Ready and the process has settled, and reads its RSS.
func idleServerWithRunnerRSS(ctx context.Context, wk, dir string, settle time.Duration) (float64, error) {
	const node = "bench-idle-server"
	cmd := exec.Command(wk, "server", "--data-dir", dir, "--api-addr", "127.0.0.1:0", "--node-name", node)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s server: %w", wk, err)
	}
	read := make(chan struct{})
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		<-read
	}()
	kubeconfig := make(chan string, 1)
	go func() {
		defer close(read)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "export KUBECONFIG="); ok {
				kubeconfig <- p
			}
		}
		close(kubeconfig)
	}()
	var kc string
	select {
	case p, ok := <-kubeconfig:
		if !ok {
			return 0, errors.New("idle server: it exited before serving (is --wk the wk binary?)")
		}
		kc = p
	case <-time.After(2 * time.Minute):
		return 0, errors.New("idle server: not serving after 2 minutes")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	cfg, err := client.FromKubeconfig(kc, "")
	if err != nil {
		return 0, fmt.Errorf("idle server: %w", err)
	}
	c, err := client.New(cfg)
	if err != nil {
		return 0, fmt.Errorf("idle server: %w", err)
	}
	defer c.Close()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := waitNodeReady(wctx, c, node); err != nil {
		return 0, fmt.Errorf("idle server: %w", err)
	}
	c.Close() // the figure is of an idle server, not of one serving this client's connection
	if err := sleepCtx(ctx, settle); err != nil {
		return 0, err
	}
	return procRSSMB(cmd.Process.Pid)
}

// procRSSMB reads a process's resident set size (VmRSS) from /proc, in MB.
func procRSSMB(pid int) (float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read the memory of process %d: %w", pid, err)
	}
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return 0, fmt.Errorf("read the memory of process %d: VmRSS %q: %w", pid, f[1], err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("read the memory of process %d: no VmRSS in /proc status", pid)
}

// procCPUSeconds reads the user and system CPU time a process has used from /proc/PID/stat.
func procCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces; fields are counted after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("read the CPU time of process %d: malformed /proc stat", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: malformed /proc stat", pid)
	}
	const clockTicks = 100 // USER_HZ, 100 on every Linux architecture Go supports
	return (utime + stime) / clockTicks, nil
}

// memTotal is the machine's physical memory (/proc/meminfo MemTotal); 16 GiB when unknown.
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 16 << 30
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			if f := strings.Fields(rest); len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 16 << 30
}
