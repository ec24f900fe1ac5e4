package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/server"
)

func newBenchCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure whole-system figures; each prints progress and, last, one JSON line",
	}
	cmd.PersistentFlags().String("cpuprofile", "", "write a CPU profile of the whole benchmark to this file")
	cmd.AddCommand(newBenchAPICmd(s))
	cmd.AddCommand(newBenchSchedulerCmd(s))
	cmd.AddCommand(newBenchStartupCmd(s))
	cmd.AddCommand(newBenchDensityCmd(s))
	cmd.AddCommand(newBenchProxyCmd(s))
	return cmd
}

// withCPUProfile runs f, profiling the CPU into path when path is not empty.
func withCPUProfile(path string, f func() error) error {
	stop, err := startCPUProfile(path)
	if err != nil {
		return err
	}
	defer stop()
	return f()
}

// startCPUProfile starts profiling the CPU into path (nothing when path is empty) and
// returns the function that stops it, for a bench that profiles only its measured phase.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return sync.OnceFunc(func() { pprof.StopCPUProfile(); out.Close() }), nil
}

// apiFigures is the last line `wk bench api` prints.
type apiFigures struct {
	Creates           int     `json:"creates"`
	Concurrency       int     `json:"concurrency"`
	CreatesPerSec     float64 `json:"creates_per_s"`
	CreateP50Ms       float64 `json:"create_p50_ms"`
	CreateP99Ms       float64 `json:"create_p99_ms"`
	Watchers          int     `json:"watchers"`
	WatchEvents       int     `json:"watch_events_each"`
	WatchLost         int     `json:"watch_events_lost"`
	WatchOutOfOrder   int     `json:"watch_events_out_of_order"`
	WatchDeliverySec  float64 `json:"watch_delivery_s"`
	DeployReplicas    int     `json:"deploy_replicas,omitempty"`
	DeployNodes       int     `json:"deploy_nodes,omitempty"`
	DeployAllRunningS float64 `json:"deploy_all_running_s,omitempty"`
	IdleRSSMB         float64 `json:"idle_rss_mb,omitempty"`
}

func newBenchAPICmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Pod creates through the API, watch fan-out, a big Deployment on hollow nodes, idle memory",
		Long: `Starts an in-process cluster (embedded etcd in a temporary directory) and measures:
  - creates/s and p50/p99 latency of --pods pod creates from --concurrency clients;
  - --watchers concurrent watchers each receiving all --pods events of a second round, in order;
  - the time until a Deployment of --replicas pods on --nodes hollow nodes is all Running;
  - the idle RSS of 'wk server --runner=false' (a child process of this binary).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			o := benchAPIOptions{
				pods: v.GetInt("pods"), concurrency: v.GetInt("concurrency"), watchers: v.GetInt("watchers"),
				replicas: v.GetInt("replicas"), nodes: v.GetInt("nodes"), rss: v.GetBool("rss"),
			}
			if o.pods < 1 || o.concurrency < 1 || o.watchers < 0 || o.replicas < 0 || o.nodes < 1 {
				return errors.New("bench api: --pods, --concurrency and --nodes must be at least 1; --watchers and --replicas not negative")
			}
			return withCPUProfile(v.GetString("cpuprofile"), func() error { return benchAPI(cmd.Context(), s, o) })
		},
	}
	f := cmd.Flags()
	f.Int("pods", 10000, "pods to create in each round")
	f.Int("concurrency", 32, "concurrent API clients creating pods")
	f.Int("watchers", 100, "concurrent watchers in the second round")
	f.Int("replicas", 1000, "replicas of the Deployment round (0 skips it)")
	f.Int("nodes", 100, "hollow nodes for the Deployment round")
	f.Bool("rss", true, "measure the idle RSS of a 'wk server --runner=false' child process")
	return cmd
}

type benchAPIOptions struct {
	pods, concurrency, watchers, replicas, nodes int
	rss                                          bool
}

func benchAPI(ctx context.Context, s *streams, o benchAPIOptions) error {
	progress := func(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "wk-bench-api-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	progress("starting a control plane in %s", dir)
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.APIAddr = "127.0.0.1:0"
	cfg.Controllers = false // the create and watch rounds measure the API alone
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_ = srv.Stop(c)
		}
	}
	defer stop()
	c, err := remoteClient(srv)
	if err != nil {
		return err
	}
	defer c.Close()
	fig := apiFigures{Creates: o.pods, Concurrency: o.concurrency, Watchers: o.watchers}

	// Round 1: creates.
	if err := createNamespace(ctx, c, "bench-create"); err != nil {
		return err
	}
	progress("round 1: %d pod creates from %d clients", o.pods, o.concurrency)
	lat, elapsed, err := createPods(ctx, c, "bench-create", o.pods, o.concurrency)
	if err != nil {
		return err
	}
	fig.CreatesPerSec = float64(o.pods) / elapsed.Seconds()
	fig.CreateP50Ms, fig.CreateP99Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.99)
	progress("  %.0f creates/s, p50 %.2f ms, p99 %.2f ms", fig.CreatesPerSec, fig.CreateP50Ms, fig.CreateP99Ms)

	// Round 2: watch fan-out.
	if o.watchers > 0 {
		if err := createNamespace(ctx, c, "bench-watch"); err != nil {
			return err
		}
		progress("round 2: %d watchers, each must see all %d creates in order", o.watchers, o.pods)
		res, err := watchFanout(ctx, c, "bench-watch", o.pods, o.watchers, o.concurrency)
		if err != nil {
			return err
		}
		fig.WatchEvents, fig.WatchLost, fig.WatchOutOfOrder, fig.WatchDeliverySec = o.pods, res.lost, res.outOfOrder, res.elapsed.Seconds()
		progress("  all delivered in %.2fs; lost %d, out of order %d", res.elapsed.Seconds(), res.lost, res.outOfOrder)
	}
	stop()

	if o.replicas > 0 {
		progress("round 3: a Deployment of %d replicas on %d hollow nodes", o.replicas, o.nodes)
		d, err := benchDeployment(ctx, filepath.Join(dir, "deploy"), o.replicas, o.nodes, progress)
		if err != nil {
			return err
		}
		fig.DeployReplicas, fig.DeployNodes, fig.DeployAllRunningS = o.replicas, o.nodes, d.Seconds()
		progress("  all %d Running after %.2fs", o.replicas, d.Seconds())
	}
	if o.rss {
		progress("round 4: idle RSS of 'wk server --runner=false'")
		rss, err := idleServerRSS(ctx, filepath.Join(dir, "idle"))
		if err != nil {
			return err
		}
		fig.IdleRSSMB = rss
		progress("  %.1f MB", rss)
	}
	line, _ := json.Marshal(fig)
	fmt.Fprintln(s.out, string(line))
	return nil
}

// remoteClient is a client of srv over HTTPS with the admin kubeconfig, for a bench's stand-ins
// for users (clients creating pods, watches measuring them) and for hollow runners: srv.Client()
// reaches the API server in memory, as only wk server's own components do.
func remoteClient(srv *server.Server) (*client.Client, error) {
	cfg, err := client.FromKubeconfig(srv.KubeconfigPath(), "")
	if err != nil {
		return nil, err
	}
	return client.New(cfg)
}

// benchNamespace connects to the cluster of kubeconfig (its context kubeCx) for a bench that
// works in a namespace of its own, wk-bench-<what>-<unix time>, created now. The returned
// function deletes what the bench left there (pods first, so none waits on the namespace's
// finalizer) and the namespace, and closes the client.
func benchNamespace(ctx context.Context, kubeconfig, kubeCx, what string) (*client.Client, *client.Config, string, func(), error) {
	cfg, err := client.FromKubeconfig(kubeconfig, kubeCx)
	if err != nil {
		return nil, nil, "", nil, err
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, nil, "", nil, err
	}
	ns := fmt.Sprintf("wk-bench-%s-%d", what, time.Now().Unix())
	if err := createNamespace(ctx, c, ns); err != nil {
		c.Close()
		return nil, nil, "", nil, err
	}
	return c, cfg, ns, func() {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer dcancel()
		_ = client.Pods(c).Namespace(ns).DeleteCollection(dctx, client.ListOptions{}, nil)
		_ = client.Namespaces(c).Delete(dctx, ns, nil)
		c.Close()
	}, nil
}

func createNamespace(ctx context.Context, c *client.Client, name string) error {
	_, err := client.Namespaces(c).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}})
	if err != nil && !api.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

func benchPod(i int) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: fmt.Sprintf("pod-%06d", i), Labels: map[string]string{"app": "bench"}},
		Spec: api.PodSpec{
			// A scheduler nobody runs: the pods stay Pending, so only the API is measured.
			SchedulerName: "bench-none",
			Containers: []api.Container{{Name: "app", Image: "hello:v1",
				Resources: api.ResourceRequirements{Requests: api.ResourceList{
					api.ResourceCPU: api.MustParseQuantity("10m"), api.ResourceMemory: api.MustParseQuantity("16Mi")}}}},
		},
	}
}

// createPods creates n pods from conc clients, each with its own connection as separate API
// clients have, and returns each create's latency.
func createPods(ctx context.Context, c *client.Client, ns string, n, conc int) ([]time.Duration, time.Duration, error) {
	clients := make([]*client.Client, conc)
	for i := range clients {
		ci, err := c.Clone()
		if err != nil {
			return nil, 0, err
		}
		defer ci.Close()
		clients[i] = ci
	}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		pods := client.Pods(clients[w]).Namespace(ns)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if _, err := pods.Create(ctx, benchPod(i)); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("create pod %d: %w", i, err) })
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(start), firstErr
}

func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}

type fanoutResult struct {
	lost, outOfOrder int
	elapsed          time.Duration
}

// watchFanout starts `watchers` watches on ns from its current revision, creates n pods, and
// waits until every watcher has seen n ADDED events, checking their order.
func watchFanout(ctx context.Context, c *client.Client, ns string, n, watchers, conc int) (fanoutResult, error) {
	list, err := client.Pods(c).Namespace(ns).List(ctx, client.ListOptions{})
	if err != nil {
		return fanoutResult{}, err
	}
	ri, _ := api.NewResourceTable(api.Resources()).Lookup("pods")
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	type tally struct{ seen, outOfOrder int }
	tallies := make([]tally, watchers)
	var wg sync.WaitGroup
	var watchErr atomic.Value
	for w := 0; w < watchers; w++ {
		watch, err := client.Dynamic(c, ri, ns).Watch(wctx, client.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			return fanoutResult{}, fmt.Errorf("start watcher %d: %w", w, err)
		}
		wg.Add(1)
		go func(t *tally) {
			defer wg.Done()
			defer watch.Stop()
			var last int64
			for ev := range watch.Events() {
				if ev.Err != nil {
					watchErr.Store(ev.Err)
					return
				}
				if ev.Type != api.Added {
					continue
				}
				var m struct {
					Metadata struct {
						ResourceVersion string `json:"resourceVersion"`
					} `json:"metadata"`
				}
				_ = json.Unmarshal(ev.Object, &m)
				rv, _ := strconv.ParseInt(m.Metadata.ResourceVersion, 10, 64)
				if rv <= last {
					t.outOfOrder++
				}
				last = rv
				if t.seen++; t.seen == n {
					return
				}
			}
		}(&tallies[w])
	}
	start := time.Now()
	if _, _, err := createPods(ctx, c, ns, n, conc); err != nil {
		return fanoutResult{}, err
	}
	wg.Wait()
	res := fanoutResult{elapsed: time.Since(start)}
	for _, t := range tallies {
		res.lost += n - t.seen
		res.outOfOrder += t.outOfOrder
	}
	if err, ok := watchErr.Load().(error); ok && err != nil {
		return res, fmt.Errorf("a watcher failed: %w", err)
	}
	return res, nil
}

// idleServerRSS runs `wk server --runner=false` as a child process, waits until it serves and
// has settled, and reads its resident set size from /proc.
func idleServerRSS(ctx context.Context, dir string) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, exe, "server", "--runner=false", "--data-dir", dir, "--api-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s server: %w", exe, err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(out)
	ready := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "export KUBECONFIG=") {
			ready = true
			break
		}
	}
	if !ready {
		return 0, errors.New("idle server: it exited before serving (is this binary wk?)")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	select {
	case <-time.After(10 * time.Second): // let start-up garbage be collected and caches settle
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read idle server memory: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024, nil
		}
	}
	return 0, errors.New("idle server memory: no VmRSS in /proc status")
}
