package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/scheduler"
	"github.com/wasmkube/wasmkube/control/server"
	"github.com/wasmkube/wasmkube/runner/hollow"
)

// benchSchedulerName is the schedulerName of the bench's pods: the bench runs its own
// scheduler (the same code as the server's) so it can report per-decision time and choose the
// search bound, against an in-process cluster or any cluster given by --kubeconfig.
const benchSchedulerName = "wk-bench-scheduler"

// schedulerFigures is the last line `wk bench scheduler` prints.
type schedulerFigures struct {
	Nodes      int     `json:"nodes"`
	Pods       int     `json:"pods"`
	Policies   int     `json:"policies"`
	Percentage int     `json:"percentage_of_nodes_to_score"`
	Bound      int     `json:"bound"`
	PodsPerSec float64 `json:"pods_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	DecisionUs float64 `json:"decision_us"`
	Decisions  int64   `json:"decisions"`
	// CPUMsPerPod is this process's CPU time (API server, etcd, scheduler, hollow nodes and
	// the bench's clients, all in process unless --kubeconfig is given) from the first create
	// to the last bind, per pod: unlike pods_per_s it holds on a machine shared with other
	// work.
	CPUMsPerPod float64 `json:"cpu_ms_per_pod"`
	// RSSMB and HeapMB are this process's resident memory and live Go heap once every pod is
	// bound: with everything in process, the API server's watch caches, etcd, the scheduler's
	// snapshot and the hollow nodes holding --pods pods.
	RSSMB  float64 `json:"rss_mb"`
	HeapMB float64 `json:"heap_mb"`
}

type benchSchedulerOptions struct {
	nodes, pods, policies, concurrency, percentage int
	kubeconfig                                     string
	// cpuprofile, when set, receives a CPU profile of the measured phase only: from the
	// first create to the last bind, without the node registration before or the clean-up.
	cpuprofile string
}

func newBenchSchedulerCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Pods from create to bound on hollow nodes in three zones, with CEL scheduling policies",
		Long: `Starts an in-process cluster (embedded etcd in a temporary directory, controllers) unless
--kubeconfig is given, registers --nodes hollow nodes (one hollow runner) in three zones
(labels zone and topology.kubernetes.io/zone = a|b|c, interleaved by node number),
creates --policies SchedulingPolicies (up to 3: same-zone for pods labelled tier=web,
not-full, free-memory score), then creates --pods pods from --concurrency clients and
measures, through a watch, the time from each create to the pod being bound in etcd.

The bench runs its own scheduler (named wk-bench-scheduler, the same code as the server's)
so it can report the time per decision and set --percentage-of-nodes-to-score. In process it
reaches the API server in memory, as wk server's scheduler does; the pod-creating clients,
the hollow runner and the measuring watch use HTTPS, as users and runners do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			o := benchSchedulerOptions{nodes: v.GetInt("nodes"), pods: v.GetInt("pods"), policies: v.GetInt("policies"),
				concurrency: v.GetInt("concurrency"), percentage: v.GetInt("percentage-of-nodes-to-score"),
				kubeconfig: v.GetString("kubeconfig"), cpuprofile: v.GetString("cpuprofile")}
			if o.nodes < 3 || o.pods < 1 || o.concurrency < 1 || o.policies < 0 || o.policies > 3 || o.percentage < 0 || o.percentage > 100 {
				return errors.New("bench scheduler: --nodes at least 3, --pods and --concurrency at least 1, --policies 0 to 3, --percentage-of-nodes-to-score 0 to 100")
			}
			return benchScheduler(cmd.Context(), s, o)
		},
	}
	f := cmd.Flags()
	f.Int("nodes", 5000, "hollow nodes, spread over three zones")
	f.Int("pods", 50000, "pods to create and schedule")
	f.Int("policies", 3, "SchedulingPolicies to apply (0-3)")
	f.Int("concurrency", 32, "concurrent API clients creating pods")
	f.Int("percentage-of-nodes-to-score", 0, "the scheduler's search bound (0: Kubernetes' adaptive default; 100: every node)")
	return cmd
}

// benchPolicies are the policies the bench creates, in order.
var benchPolicies = []api.SchedulingPolicySpec{
	{PodSelector: &api.LabelSelector{MatchLabels: map[string]string{"tier": "web"}},
		Filter: `has(pod.metadata.labels.zone) ? node.metadata.labels.zone == pod.metadata.labels.zone : true`},
	{Filter: `node.requested.pods < 100`},
	{Score: `double(node.status.allocatable.memory - node.requested.memory) / 1e9`, Weight: 2},
}

var benchPolicyNames = []string{"bench-same-zone", "bench-not-full", "bench-free-memory"}

func benchScheduler(ctx context.Context, s *streams, o benchSchedulerOptions) error {
	progress := func(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	var c, sc *client.Client // the bench's clients, and the scheduler's
	if o.kubeconfig != "" {
		cfg, err := client.FromKubeconfig(o.kubeconfig, "")
		if err != nil {
			return err
		}
		if c, err = client.New(cfg); err != nil {
			return err
		}
		defer c.Close()
		progress("using the cluster of %s", o.kubeconfig)
	} else {
		dir, err := os.MkdirTemp("", "wk-bench-scheduler-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		progress("starting a control plane in %s", dir)
		cfg := server.DefaultConfig()
		cfg.DataDir = dir
		cfg.APIAddr = "127.0.0.1:0"
		cfg.UnsafeNoFsync = true
		cfg.Scheduler = false // the bench runs its own; a second one would only watch and cost CPU
		srv, err := server.Start(ctx, cfg)
		if err != nil {
			return err
		}
		defer func() {
			sc, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_ = srv.Stop(sc)
		}()
		// The scheduler talks to the API server in process, as wk server's own does; the
		// clients creating pods, the hollow runners and the bench's watch connect over
		// HTTPS with the admin kubeconfig, as users and runners do.
		sc = srv.Client()
		if c, err = remoteClient(srv); err != nil {
			return err
		}
		defer c.Close()
	}
	if sc == nil {
		sc = c
	}

	// One hollow runner for every node, zones by node number: one pod watch and one node
	// watch for the fleet, as one kubemark process runs many hollow nodes. Nodes carry their
	// zone twice: as "zone", which the bench's policy reads, and as Kubernetes' well-known
	// topology.kubernetes.io/zone, by which the scheduler interleaves zones.
	zones := []string{"a", "b", "c"}
	hr, err := hollow.New(hollow.Config{Client: c, Nodes: o.nodes, NamePrefix: "hollow-",
		NodeLabels: func(i int) map[string]string {
			z := zones[i%len(zones)]
			return map[string]string{"zone": z, scheduler.LabelTopologyZone: z}
		}})
	if err != nil {
		return err
	}
	wg.Go(func() { _ = hr.Run(ctx) })
	for {
		list, err := client.Nodes(c).List(ctx, client.ListOptions{LabelSelector: "wasmkube.io/hollow=true"})
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range list.Items {
			if hollow.IsReady(n) {
				ready++
			}
		}
		if ready >= o.nodes {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	progress("%d hollow nodes Ready in zones a, b, c", o.nodes)

	policies := client.For[*api.SchedulingPolicy](c, "schedulingpolicies")
	for i := 0; i < o.policies; i++ {
		sp := &api.SchedulingPolicy{ObjectMeta: api.ObjectMeta{Name: benchPolicyNames[i]}, Spec: benchPolicies[i]}
		if _, err := policies.Create(ctx, sp); err != nil && !api.IsAlreadyExists(err) {
			return fmt.Errorf("create policy %s: %w", sp.Name, err)
		}
		defer func() {
			dc, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = policies.Delete(dc, sp.Name, nil)
		}()
	}
	progress("%d scheduling policies", o.policies)

	sched, err := scheduler.New(scheduler.Config{Client: sc, Name: benchSchedulerName, Binders: 32,
		PercentageOfNodesToScore: o.percentage})
	if err != nil {
		return err
	}
	wg.Go(func() { _ = sched.Run(ctx) })

	ns := api.NamespaceDefault
	pods := client.Pods(c).Namespace(ns)
	sel := "wk-bench=scheduler"
	list, err := pods.List(ctx, client.ListOptions{LabelSelector: sel, Limit: 1})
	if err != nil {
		return err
	}
	w, err := pods.Watch(ctx, client.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
	if err != nil {
		return err
	}
	defer w.Stop()
	defer func() {
		dc, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = pods.DeleteCollection(dc, client.ListOptions{LabelSelector: sel}, &api.DeleteOptions{GracePeriodSeconds: api.Ptr[int64](0)})
	}()

	created := make([]atomic.Int64, o.pods) // unix nanos when the create was sent
	var next atomic.Int64
	createErr := make(chan error, 1)
	progress("creating %d pods from %d clients", o.pods, o.concurrency)
	stopProfile, err := startCPUProfile(o.cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	cpuStart, _ := procCPUSeconds(os.Getpid())
	start := time.Now()
	for g := 0; g < o.concurrency; g++ {
		cc, err := c.Clone()
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer cc.Close()
			pc := client.Pods(cc).Namespace(ns)
			for {
				i := int(next.Add(1) - 1)
				if i >= o.pods || ctx.Err() != nil {
					return
				}
				created[i].Store(time.Now().UnixNano())
				if _, err := pc.Create(ctx, benchSchedPod(i, zones)); err != nil {
					select {
					case createErr <- fmt.Errorf("create pod %d: %w", i, err):
					default:
					}
					return
				}
			}
		})
	}

	lat := make([]time.Duration, 0, o.pods)
	seen := make(map[string]bool, o.pods)
	var last time.Time
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for len(lat) < o.pods {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return fmt.Errorf("pod watch ended with %d of %d bound", len(lat), o.pods)
			}
			if ev.Err != nil {
				return fmt.Errorf("pod watch: %w", ev.Err)
			}
			p := ev.Object
			if p == nil || p.Spec.NodeName == "" || seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			var i int
			if _, err := fmt.Sscanf(p.Name, "bench-%d", &i); err != nil || i < 0 || i >= o.pods {
				continue
			}
			last = time.Now()
			lat = append(lat, last.Sub(time.Unix(0, created[i].Load())))
		case err := <-createErr:
			return err
		case <-tick.C:
			st := sched.Stats()
			us := 0.0
			if st.Decisions > 0 {
				us = float64(st.DecideTime.Microseconds()) / float64(st.Decisions)
			}
			progress("  %d/%d bound after %.1fs (%d created, %.0f us per decision)", len(lat), o.pods, time.Since(start).Seconds(),
				min(next.Load(), int64(o.pods)), us)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	elapsed := last.Sub(start)
	cpuEnd, _ := procCPUSeconds(os.Getpid())
	stopProfile()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) float64 {
		return float64(lat[min(int(q*float64(len(lat))), len(lat)-1)].Microseconds()) / 1000
	}
	st := sched.Stats()
	fig := schedulerFigures{Nodes: o.nodes, Pods: o.pods, Policies: o.policies, Percentage: o.percentage, Bound: len(lat),
		PodsPerSec: float64(len(lat)) / elapsed.Seconds(), P50Ms: pct(0.50), P99Ms: pct(0.99), Decisions: st.Decisions,
		CPUMsPerPod: (cpuEnd - cpuStart) * 1000 / float64(len(lat))}
	if st.Decisions > 0 {
		fig.DecisionUs = float64(st.DecideTime.Nanoseconds()) / float64(st.Decisions) / 1000
	}
	if rss, err := procRSSMB(os.Getpid()); err == nil {
		fig.RSSMB = math.Round(rss*10) / 10
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fig.HeapMB = math.Round(float64(ms.HeapAlloc)/(1<<20)*10) / 10
	progress("all %d bound in %.2fs", len(lat), elapsed.Seconds())
	line, _ := json.Marshal(fig)
	fmt.Fprintln(s.out, string(line))
	return nil
}

// benchSchedPod is pod i: half are tier=web (the same-zone policy applies), each names a zone.
func benchSchedPod(i int, zones []string) *api.Pod {
	l := map[string]string{"wk-bench": "scheduler", "zone": zones[i%len(zones)]}
	if i%2 == 0 {
		l["tier"] = "web"
	}
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: fmt.Sprintf("bench-%d", i), Labels: l},
		Spec: api.PodSpec{SchedulerName: benchSchedulerName, Containers: []api.Container{{Name: "app", Image: "hello:v1",
			Resources: api.ResourceRequirements{Requests: api.ResourceList{
				api.ResourceCPU: api.MustParseQuantity("10m"), api.ResourceMemory: api.MustParseQuantity("16Mi")}}}}},
	}
}
