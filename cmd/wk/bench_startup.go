package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/control/server"
	"github.com/wasmkube/wasmkube/runner/kubelet"
	"github.com/wasmkube/wasmkube/runner/node"
)

// startupFigures is the last line `wk bench startup` prints.
type startupFigures struct {
	Pods        int     `json:"pods"`
	Concurrency int     `json:"concurrency"`
	Module      string  `json:"module"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	PodsPerSec  float64 `json:"pods_per_s"`
}

type benchStartupOptions struct {
	pods, concurrency  int
	module, source     string
	kubeconfig, kubeCx string
	timeout            time.Duration
}

func newBenchStartupCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "startup",
		Short: "Pod startup on a real runner: create to Running and Ready, seen through a watch",
		Long: `Starts an in-process cluster (embedded etcd in a temporary directory, controllers and
scheduler, and one real Wasm runner) unless --kubeconfig is given, builds the --module
(hello: samples/hello with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, as 'wk build' does;
minimal: a hand-written module of 123 bytes that answers "hello"), pushes it to the cluster's
registry and runs one warm-up pod so it is fetched and compiled. Then it creates --pods pods,
--concurrency at a time (each client creates a pod and waits for it before the next), and
measures for each the time from the create request to the pod being Running and Ready in a
watch: p50, p99, max and pods per second.

With --kubeconfig the pods go to that cluster's runners (through its scheduler), in a
namespace of their own that is deleted at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			o := benchStartupOptions{pods: v.GetInt("pods"), concurrency: v.GetInt("concurrency"),
				module: v.GetString("module"), source: v.GetString("source"), timeout: v.GetDuration("timeout"),
				kubeconfig: v.GetString("kubeconfig"), kubeCx: v.GetString("context")}
			if o.pods < 1 || o.concurrency < 1 || o.timeout <= 0 {
				return errors.New("bench startup: --pods and --concurrency must be at least 1, --timeout positive")
			}
			if o.module != "hello" && o.module != "minimal" {
				return fmt.Errorf("bench startup: --module %q: want hello or minimal", o.module)
			}
			return withCPUProfile(v.GetString("cpuprofile"), func() error { return benchStartup(cmd.Context(), s, o) })
		},
	}
	f := cmd.Flags()
	f.Int("pods", 500, "pods to start")
	f.Int("concurrency", 1, "pods being started at once")
	f.String("module", "hello", "hello (samples/hello, a Go guest) or minimal (a hand-written module)")
	f.String("source", "", "the directory of samples/hello (default: found above the working directory)")
	f.Duration("timeout", 10*time.Minute, "give up after this long")
	return cmd
}

func benchStartup(ctx context.Context, s *streams, o benchStartupOptions) error {
	progress := func(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	wasm, err := benchWasm(ctx, o.module, o.source, progress)
	if err != nil {
		return err
	}
	ns := "default"
	var c, uc *client.Client // the runner's client (in process) and the user's (over HTTPS)
	if o.kubeconfig != "" {
		var done func()
		if c, _, ns, done, err = benchNamespace(ctx, o.kubeconfig, o.kubeCx, "startup"); err != nil {
			return err
		}
		defer done()
		uc = c
		progress("using the cluster of %s, namespace %s", o.kubeconfig, ns)
	} else {
		dir, err := os.MkdirTemp("", "wk-bench-startup-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		progress("starting a control plane and a runner in %s", dir)
		srv, stop, err := startBenchServer(ctx, dir)
		if err != nil {
			return err
		}
		defer stop()
		c = srv.Client()
		if uc, err = remoteClient(srv); err != nil {
			return err
		}
		defer uc.Close()
		r, err := newBenchRunner(c, filepath.Join(dir, "runner"), o.pods+10)
		if err != nil {
			return err
		}
		runCtx, stopRunner := context.WithCancel(ctx)
		defer stopRunner()
		wg.Go(func() { _ = r.Run(runCtx) })
		if err := waitNodeReady(ctx, c, benchNodeName); err != nil {
			return err
		}
	}

	image := "bench-" + o.module + ":v1"
	digest, err := registry.Push(ctx, c, image, wasm)
	if err != nil {
		return fmt.Errorf("push %s: %w", image, err)
	}
	progress("pushed %s (%d bytes, %s)", image, len(wasm), digest)

	// The pods are created and watched as a user would, over HTTPS; the runner uses the
	// in-process client, as the runner inside wk server does.
	pods := client.Pods(uc).Namespace(ns)
	tr, err := startReadyTracker(ctx, pods, "app=wk-bench-startup")
	if err != nil {
		return err
	}
	defer tr.stop()
	t0 := time.Now()
	if _, err := tr.start(ctx, startupPod("warm-up", image)); err != nil {
		return fmt.Errorf("warm-up pod: %w", err)
	}
	progress("warm-up pod Running and Ready after %.2fs (module fetched and compiled)", time.Since(t0).Seconds())

	progress("starting %d pods, %d at a time", o.pods, o.concurrency)
	lat := make([]time.Duration, o.pods)
	var next, done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var workers sync.WaitGroup
	start := time.Now()
	for range o.concurrency {
		workers.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= o.pods || ctx.Err() != nil {
					return
				}
				d, err := tr.start(ctx, startupPod(fmt.Sprintf("pod-%06d", i), image))
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				lat[i] = d
				done.Add(1)
			}
		})
	}
	finished := make(chan struct{})
	go func() { workers.Wait(); close(finished) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-finished:
			waiting = false
		case <-tick.C:
			progress("  %d/%d Running and Ready after %.1fs", done.Load(), o.pods, time.Since(start).Seconds())
		}
	}
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench startup: %d of %d pods started before --timeout: %w", done.Load(), o.pods, err)
	}
	fig := startupFigures{Pods: o.pods, Concurrency: o.concurrency, Module: o.module,
		P50Ms: percentileMs(lat, 0.50), P99Ms: percentileMs(lat, 0.99), MaxMs: percentileMs(lat, 1),
		PodsPerSec: float64(o.pods) / elapsed.Seconds()}
	progress("  all %d Running and Ready in %.2fs: p50 %.2f ms, p99 %.2f ms, max %.2f ms", o.pods, elapsed.Seconds(), fig.P50Ms, fig.P99Ms, fig.MaxMs)
	line, _ := json.Marshal(fig)
	fmt.Fprintln(s.out, string(line))
	return nil
}

// benchNodeName is the node of the benches' own runner.
const benchNodeName = "bench-runner"

// startBenchServer starts a control plane with its controllers and scheduler in dir.
func startBenchServer(ctx context.Context, dir string) (*server.Server, func(), error) {
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.APIAddr = "127.0.0.1:0"
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return srv, func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Stop(c)
	}, nil
}

// newBenchRunner is a real runner as wk server runs it, with its node at 127.0.0.1.
func newBenchRunner(c *client.Client, dir string, maxPods int) (*kubelet.Runner, error) {
	modules, err := registry.NewSource(registry.SourceConfig{Client: c, CacheDir: filepath.Join(dir, "modules")})
	if err != nil {
		return nil, err
	}
	return kubelet.New(kubelet.Config{Client: c, NodeName: benchNodeName, NodeIP: "127.0.0.1", DataDir: dir,
		MaxPods: maxPods, Modules: modules})
}

// waitNodeReady polls until the node is registered and Ready.
func waitNodeReady(ctx context.Context, c *client.Client, name string) error {
	for {
		n, err := client.Nodes(c).Get(ctx, name)
		if err == nil && node.IsReady(n) {
			return nil
		}
		if err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("wait for node %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for node %s to be Ready: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startupPod is a pod of one HTTP module, without resource requests so that only the node's pods
// capacity bounds how many fit.
func startupPod(name, image string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{"app": "wk-bench-startup"}},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: image,
			Ports: []api.ContainerPort{{ContainerPort: 8080}}}}},
	}
}

func isRunningReady(p *api.Pod) bool {
	if p.Status.Phase != api.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// readyTracker follows the pods of a label selector through an informer (a watch that resumes
// after a broken stream) and tells whoever waits for a pod when it is first seen Running and
// Ready, with the time it was seen.
type readyTracker struct {
	pods   *client.Resource[*api.Pod]
	cancel context.CancelFunc
	done   chan struct{} // closed when the informer has stopped
	ready  atomic.Int64  // pods seen Running and Ready
	mu     sync.Mutex
	wait   map[string]chan time.Time
	seen   map[string]bool
}

func startReadyTracker(ctx context.Context, pods *client.Resource[*api.Pod], selector string) (*readyTracker, error) {
	ctx, cancel := context.WithCancel(ctx)
	t := &readyTracker{pods: pods, cancel: cancel, done: make(chan struct{}), wait: map[string]chan time.Time{}, seen: map[string]bool{}}
	inf := informer.New(pods, client.ListOptions{LabelSelector: selector}, nil)
	inf.AddHandler(informer.Handler[*api.Pod]{OnAdd: t.observe, OnUpdate: func(_, p *api.Pod) { t.observe(p) }})
	go func() {
		defer close(t.done)
		_ = inf.Run(ctx)
	}()
	if !inf.WaitForSync(ctx) {
		t.stop()
		return nil, fmt.Errorf("list pods %s: %w", selector, ctx.Err())
	}
	return t, nil
}

func (t *readyTracker) observe(p *api.Pod) {
	if !isRunningReady(p) {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen[p.Name] {
		return
	}
	t.seen[p.Name] = true
	t.ready.Add(1)
	if ch, ok := t.wait[p.Name]; ok {
		ch <- now
		delete(t.wait, p.Name)
	}
}

// create creates p and returns a channel that receives the time p is first seen Running and
// Ready, and the time the create request started.
func (t *readyTracker) create(ctx context.Context, p *api.Pod) (<-chan time.Time, time.Time, error) {
	ch := make(chan time.Time, 1)
	t.mu.Lock()
	t.wait[p.Name] = ch
	t.mu.Unlock()
	t0 := time.Now()
	if _, err := t.pods.Create(ctx, p); err != nil {
		t.mu.Lock()
		delete(t.wait, p.Name)
		t.mu.Unlock()
		return nil, t0, fmt.Errorf("create pod %s: %w", p.Name, err)
	}
	return ch, t0, nil
}

// start creates p and waits until it is Running and Ready, returning the time that took.
func (t *readyTracker) start(ctx context.Context, p *api.Pod) (time.Duration, error) {
	ch, t0, err := t.create(ctx, p)
	if err != nil {
		return 0, err
	}
	select {
	case at := <-ch:
		return at.Sub(t0), nil
	case <-t.done:
		return 0, errors.New("the pod watch stopped")
	case <-ctx.Done():
		return 0, fmt.Errorf("pod %s not Running and Ready: %s: %w", p.Name, t.why(p.Name), ctx.Err())
	}
}

// why describes what holds a pod back, from its status.
func (t *readyTracker) why(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := t.pods.Get(ctx, name)
	if err != nil {
		return err.Error()
	}
	return podHoldUp(p)
}

// podHoldUp summarises why a pod is not Running and Ready.
func podHoldUp(p *api.Pod) string {
	parts := []string{"phase " + strconv.Quote(string(p.Status.Phase))}
	if p.Spec.NodeName == "" {
		parts = append(parts, "not scheduled")
	}
	for _, c := range p.Status.Conditions {
		if c.Status != api.ConditionTrue && c.Message != "" {
			parts = append(parts, c.Type+": "+c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			parts = append(parts, fmt.Sprintf("container %s waiting: %s %s", cs.Name, w.Reason, w.Message))
		}
	}
	return strings.Join(parts, "; ")
}

func (t *readyTracker) stop() {
	t.cancel()
	<-t.done
}

// benchWasm is the module of a bench: samples/hello built as a reactor, or the minimal module.
func benchWasm(ctx context.Context, module, source string, progress func(string, ...any)) ([]byte, error) {
	if module == "minimal" {
		return minimalModule(), nil
	}
	if source == "" {
		var err error
		if source, err = findSampleDir("hello"); err != nil {
			return nil, err
		}
	}
	progress("building %s (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared)", source)
	return goBuildWasm(ctx, source, "c-shared")
}

// findSampleDir finds samples/NAME in the working directory or above it.
func findSampleDir(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "samples", name)
		if fileExists(filepath.Join(p, "main.go")) {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("samples/%s not found in or above the working directory: give --source DIR", name)
		}
		dir = parent
	}
}

// minimalModule is the minimal hand-written HTTP module of the sandbox's figures (123 bytes),
// answering "hello\n" to every request:
//
//	(module
//	  (import "wasmkube" "response_body_write" (func $write (param i32 i32) (result i32)))
//	  (memory (export "memory") 1)
//	  (data (i32.const 0) "hello\n")
//	  (func (export "wasmkube_handle_v1") (drop (call $write (i32.const 0) (i32.const 6)))))
func minimalModule() []byte {
	return []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
		0x01, 0x0a, 0x02, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00, // types: (i32 i32)->i32, ()->()
		0x02, 0x20, 0x01, 0x08, 'w', 'a', 's', 'm', 'k', 'u', 'b', 'e', // import "wasmkube"
		0x13, 'r', 'e', 's', 'p', 'o', 'n', 's', 'e', '_', 'b', 'o', 'd', 'y', '_', 'w', 'r', 'i', 't', 'e', 0x00, 0x00,
		0x03, 0x02, 0x01, 0x01, // one function of type 1
		0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page, no maximum
		0x07, 0x1f, 0x02, 0x12, 'w', 'a', 's', 'm', 'k', 'u', 'b', 'e', '_', 'h', 'a', 'n', 'd', 'l', 'e', '_', 'v', '1', 0x00, 0x01,
		0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // exports
		0x0a, 0x0b, 0x01, 0x09, 0x00, 0x41, 0x00, 0x41, 0x06, 0x10, 0x00, 0x1a, 0x0b, // code
		0x0b, 0x0c, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x06, 'h', 'e', 'l', 'l', 'o', '\n', // data
	}
}
