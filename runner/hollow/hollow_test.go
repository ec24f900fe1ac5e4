package hollow_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/runner/hollow"
	"github.com/wasmkube/wasmkube/runner/node"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// waitTimeout bounds every poll; it is a deadline for a stuck test, not a timing assertion.
const waitTimeout = 60 * time.Second

// newClient connects to a test API server.
func newClient(tb testing.TB, a *clustertest.API) *client.Client {
	tb.Helper()
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// running is a Runner started by a test; stop ends it and waits for Run to return.
type running struct {
	r    *hollow.Runner
	logs *wasmtest.Buffer
	stop func()
}

// start runs a Runner for cfg (Client and fast intervals filled in) until the test ends or
// stop is called.
func start(tb testing.TB, c *client.Client, cfg hollow.Config) *running {
	tb.Helper()
	cfg.Client = c
	if cfg.RenewInterval == 0 {
		cfg.RenewInterval = 200 * time.Millisecond
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 2 * time.Second
	}
	logs := &wasmtest.Buffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := hollow.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("Run: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return &running{r: r, logs: logs, stop: stop}
}

// waitFor polls cond until it holds or the deadline passes; cond's last error explains a
// failure.
func waitFor(tb testing.TB, what string, cond func() (bool, error)) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s (last error: %v)", what, last)
}

func waitNodesReady(tb testing.TB, c *client.Client, names []string) map[string]*api.Node {
	tb.Helper()
	out := map[string]*api.Node{}
	for _, name := range names {
		waitFor(tb, "node "+name+" ready", func() (bool, error) {
			n, err := client.Nodes(c).Get(context.Background(), name)
			if err != nil {
				return false, err
			}
			out[name] = n
			return hollow.IsReady(n), nil
		})
	}
	return out
}

func TestNodesRegister(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	r := start(t, c, hollow.Config{Nodes: 3, Labels: map[string]string{"topology.kubernetes.io/zone": "z1"}})
	nodes := waitNodesReady(t, c, r.r.NodeNames())
	addrs := map[string]bool{}
	for _, name := range []string{"hollow-00000", "hollow-00001", "hollow-00002"} {
		t.Run(name, func(t *testing.T) {
			n := nodes[name]
			if n == nil {
				t.Fatalf("node %s missing", name)
			}
			for k, v := range map[string]string{api.LabelHostname: name, hollow.LabelHollow: "true",
				"topology.kubernetes.io/zone": "z1"} {
				if n.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, n.Labels[k], v)
				}
			}
			if n.Labels[api.LabelOS] == "" || n.Labels[api.LabelArch] == "" {
				t.Errorf("os/arch labels missing: %v", n.Labels)
			}
			for res, want := range map[string]string{"cpu": "4", "memory": "8Gi", "pods": "110"} {
				q := api.MustParseQuantity(want)
				if n.Status.Capacity[res].MilliValue() != q.MilliValue() || n.Status.Allocatable[res].MilliValue() != q.MilliValue() {
					t.Errorf("%s capacity %v allocatable %v, want %s", res, n.Status.Capacity[res], n.Status.Allocatable[res], want)
				}
			}
			conds := map[string]api.NodeCondition{}
			for _, c := range n.Status.Conditions {
				conds[c.Type] = c
			}
			if r := conds[api.NodeReady]; r.Status != api.ConditionTrue || r.Reason != "KubeletReady" ||
				r.Message != "kubelet is posting ready status" || r.LastHeartbeatTime.IsZero() {
				t.Errorf("Ready = %+v", r)
			}
			for _, typ := range []string{"MemoryPressure", "DiskPressure", "PIDPressure"} {
				if conds[typ].Status != api.ConditionFalse {
					t.Errorf("%s = %+v, want False", typ, conds[typ])
				}
			}
			var ip, host string
			for _, ad := range n.Status.Addresses {
				switch ad.Type {
				case api.NodeInternalIP:
					ip = ad.Address
				case api.NodeHostName:
					host = ad.Address
				}
			}
			if a, err := netip.ParseAddr(ip); err != nil || !a.IsLoopback() || addrs[ip] {
				t.Errorf("InternalIP %q: want a loopback address of its own", ip)
			}
			addrs[ip] = true
			if host != name {
				t.Errorf("Hostname = %q", host)
			}
			ni := n.Status.NodeInfo
			if ni.KubeletVersion != hollow.KubeletVersion || ni.OSImage != "wasmkube hollow" ||
				ni.ContainerRuntimeVersion != "hollow://" || ni.Architecture == "" || ni.OperatingSystem == "" {
				t.Errorf("nodeInfo = %+v", ni)
			}
		})
	}
	if logs := r.logs.String(); logs != "" {
		t.Errorf("errors logged:\n%s", logs)
	}
}

func TestLeasesRenew(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	r := start(t, c, hollow.Config{Nodes: 2})
	nodes := waitNodesReady(t, c, r.r.NodeNames())
	leases := client.Leases(c).Namespace(api.NamespaceNodeLease)
	for _, name := range r.r.NodeNames() {
		t.Run(name, func(t *testing.T) {
			var first time.Time
			renewals := 0
			waitFor(t, "lease "+name+" renewed twice", func() (bool, error) {
				l, err := leases.Get(context.Background(), name)
				if err != nil {
					return false, err
				}
				if l.Spec.RenewTime == nil {
					return false, fmt.Errorf("no renewTime")
				}
				if rt := l.Spec.RenewTime.Time; rt.After(first) {
					if !first.IsZero() {
						renewals++
					}
					first = rt
				}
				if api.Deref(l.Spec.HolderIdentity, "") != name || api.Deref(l.Spec.LeaseDurationSeconds, 0) != 2 {
					return false, fmt.Errorf("lease spec %+v", l.Spec)
				}
				if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != nodes[name].UID ||
					l.OwnerReferences[0].Kind != "Node" {
					return false, fmt.Errorf("owner references %+v", l.OwnerReferences)
				}
				return renewals >= 2, nil
			})
		})
	}
}

func TestNotReadyIsRepaired(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	r := start(t, c, hollow.Config{Nodes: 1})
	name := r.r.NodeNames()[0]
	n := waitNodesReady(t, c, []string{name})[name]
	// What the node lifecycle controller does to a node whose lease went stale.
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == api.NodeReady {
			n.Status.Conditions[i].Status = api.ConditionUnknown
			n.Status.Conditions[i].Reason = "NodeStatusUnknown"
		}
	}
	waitFor(t, "node marked Unknown", func() (bool, error) {
		_, err := client.Nodes(c).UpdateStatus(context.Background(), n)
		if api.IsConflict(err) {
			n, _ = client.Nodes(c).Get(context.Background(), name)
		}
		return err == nil, err
	})
	waitNodesReady(t, c, []string{name})
}

// podOn is a pod of two modules; nodeName may be empty (to bind it later).
func podOn(ns, name, node, restart string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: ns},
		Spec: api.PodSpec{NodeName: node, RestartPolicy: restart, Containers: []api.Container{
			{Name: "app", Image: "hello:1"}, {Name: "sidecar", Image: "logger:2"}}},
	}
}

func podRunning(p *api.Pod) error {
	if p.Status.Phase != api.PodRunning {
		return fmt.Errorf("phase %q", p.Status.Phase)
	}
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			ready = c.Status == api.ConditionTrue
		}
	}
	if !ready {
		return fmt.Errorf("not ready: %+v", p.Status.Conditions)
	}
	if len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		return fmt.Errorf("container statuses %+v", p.Status.ContainerStatuses)
	}
	for i, cs := range p.Status.ContainerStatuses {
		c := p.Spec.Containers[i]
		if cs.Name != c.Name || !cs.Ready || cs.State.Running == nil || cs.Image != c.Image ||
			cs.ImageID != "hollow://"+c.Image || cs.ContainerID != "hollow://"+p.UID+"/"+c.Name {
			return fmt.Errorf("container status %+v", cs)
		}
	}
	if a, err := netip.ParseAddr(p.Status.PodIP); err != nil || !a.IsLoopback() || p.Status.HostIP == "" {
		return fmt.Errorf("addresses host %q pod %q", p.Status.HostIP, p.Status.PodIP)
	}
	return nil
}

func waitPodRunning(tb testing.TB, c *client.Client, ns, name string) *api.Pod {
	tb.Helper()
	var p *api.Pod
	waitFor(tb, "pod "+ns+"/"+name+" running", func() (bool, error) {
		var err error
		if p, err = client.Pods(c).Namespace(ns).Get(context.Background(), name); err != nil {
			return false, err
		}
		err = podRunning(p)
		return err == nil, err
	})
	return p
}

func TestPodsRun(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	r := start(t, c, hollow.Config{Nodes: 2})
	names := r.r.NodeNames()
	waitNodesReady(t, c, names)
	pods := client.Pods(c).Namespace("default")
	ctx := context.Background()
	tests := []struct {
		name    string
		restart string
		bind    bool
	}{
		{"node name", api.RestartAlways, false},
		{"binding", api.RestartAlways, true},
		{"restart never", api.RestartNever, false},
		{"restart on failure", api.RestartOnFailure, true},
	}
	ips := map[string]string{}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := names[i%len(names)]
			name := fmt.Sprintf("p-%d", i)
			spec := podOn("default", name, node, tt.restart)
			if tt.bind {
				spec.Spec.NodeName = ""
			}
			created, err := pods.Create(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.bind {
				err := pods.Bind(ctx, &api.Binding{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
					Target: api.ObjectReference{Kind: "Node", Name: node}})
				if err != nil {
					t.Fatal(err)
				}
			}
			p := waitPodRunning(t, c, "default", name)
			if p.UID != created.UID || p.Spec.NodeName != node {
				t.Errorf("pod %s on %q", p.UID, p.Spec.NodeName)
			}
			if want := hollow.NodeAddress(i % len(names)).String(); p.Status.HostIP != want {
				t.Errorf("hostIP %q, want %q", p.Status.HostIP, want)
			}
			if other, dup := ips[p.Status.PodIP]; dup {
				t.Errorf("pod IP %s also given to %s", p.Status.PodIP, other)
			}
			ips[p.Status.PodIP] = name
		})
	}
	t.Run("pod of another node", func(t *testing.T) {
		if _, err := pods.Create(ctx, podOn("default", "elsewhere", "real-node", "")); err != nil {
			t.Fatal(err)
		}
		// Bound after it, this pod turning Running shows the other was seen and left alone.
		if _, err := pods.Create(ctx, podOn("default", "marker", names[0], "")); err != nil {
			t.Fatal(err)
		}
		waitPodRunning(t, c, "default", "marker")
		p, err := pods.Get(ctx, "elsewhere")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase == api.PodRunning {
			t.Errorf("pod of a node not ours is %s", p.Status.Phase)
		}
	})
}

func TestGracefulDelete(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
	}{{"at once", 0}, {"termination delay", 300 * time.Millisecond}}
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, c, hollow.Config{Nodes: 1, NamePrefix: fmt.Sprintf("del%d-", i), TerminationDelay: tt.delay})
			node := r.r.NodeNames()[0]
			pods := client.Pods(c).Namespace("default")
			ctx := context.Background()
			name := fmt.Sprintf("doomed-%d", i)
			if _, err := pods.Create(ctx, podOn("default", name, node, "")); err != nil {
				t.Fatal(err)
			}
			waitPodRunning(t, c, "default", name)
			// The default grace period only marks a bound pod; its node makes it go away.
			if err := pods.Delete(ctx, name, nil); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "pod "+name+" gone", func() (bool, error) {
				_, err := pods.Get(ctx, name)
				if api.IsNotFound(err) {
					return true, nil
				}
				return false, err
			})
		})
	}
}

func TestRestartTakesNodesBack(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	cfg := hollow.Config{Nodes: 3}
	first := start(t, c, cfg)
	names := first.r.NodeNames()
	before := waitNodesReady(t, c, names)
	ctx := context.Background()
	pods := client.Pods(c).Namespace("default")
	if _, err := pods.Create(ctx, podOn("default", "old", names[0], "")); err != nil {
		t.Fatal(err)
	}
	old := waitPodRunning(t, c, "default", "old")
	first.stop()

	// Someone cordons a node and labels another while the runner is down; both stay.
	n, err := client.Nodes(c).Get(ctx, names[1])
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Unschedulable = true
	n.Labels["team"] = "blue"
	if _, err := client.Nodes(c).Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	leaseBefore, err := client.Leases(c).Namespace(api.NamespaceNodeLease).Get(ctx, names[2])
	if err != nil {
		t.Fatal(err)
	}

	second := start(t, c, cfg)
	waitFor(t, "lease renewed by the new runner", func() (bool, error) {
		l, err := client.Leases(c).Namespace(api.NamespaceNodeLease).Get(ctx, names[2])
		if err != nil {
			return false, err
		}
		return l.Spec.RenewTime.After(leaseBefore.Spec.RenewTime.Time), nil
	})
	after := waitNodesReady(t, c, names)
	for _, name := range names {
		if after[name].UID != before[name].UID {
			t.Errorf("node %s was recreated", name)
		}
	}
	if !after[names[1]].Spec.Unschedulable || after[names[1]].Labels["team"] != "blue" ||
		after[names[1]].Labels[hollow.LabelHollow] != "true" {
		t.Errorf("node %s lost its spec or labels: %+v %v", names[1], after[names[1]].Spec, after[names[1]].Labels)
	}
	if _, err := pods.Create(ctx, podOn("default", "new", names[0], "")); err != nil {
		t.Fatal(err)
	}
	fresh := waitPodRunning(t, c, "default", "new")
	if fresh.Status.PodIP == old.Status.PodIP {
		t.Errorf("new pod reuses the running pod's address %s", old.Status.PodIP)
	}
	again, err := pods.Get(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != old.ResourceVersion {
		t.Errorf("running pod was rewritten after the restart: %+v", again.Status)
	}
	second.stop()
	for i, r := range []*running{first, second} {
		if logs := r.logs.String(); logs != "" {
			t.Errorf("runner %d logged errors:\n%s", i, logs)
		}
	}
}

func TestNodeAgentRun(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: "solo", Labels: map[string]string{api.LabelHostname: "solo"}},
		Status: api.NodeStatus{Addresses: []api.NodeAddress{{Type: api.NodeInternalIP, Address: "127.0.0.1"}}}}
	agent, err := node.NewNodeAgent(node.AgentConfig{Client: c, Node: n, LeaseDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx, 100*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	first := waitNodesReady(t, c, []string{"solo"})["solo"]
	leases := client.Leases(c).Namespace(api.NamespaceNodeLease)
	var renewed time.Time
	waitFor(t, "lease renewed", func() (bool, error) {
		l, err := leases.Get(ctx, "solo")
		if err != nil {
			return false, err
		}
		if renewed.IsZero() {
			renewed = l.Spec.RenewTime.Time
		}
		return l.Spec.RenewTime.After(renewed), nil
	})
	// Deleted by hand, the node comes back, as it would after a runner restart.
	if err := client.Nodes(c).Delete(ctx, "solo", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node registered again", func() (bool, error) {
		n, err := client.Nodes(c).Get(ctx, "solo")
		if err != nil {
			return false, err
		}
		return n.UID != first.UID && hollow.IsReady(n), nil
	})
	waitFor(t, "lease owned by the new node", func() (bool, error) {
		n, err := client.Nodes(c).Get(ctx, "solo")
		if err != nil {
			return false, err
		}
		l, err := leases.Get(ctx, "solo")
		if err != nil {
			return false, err
		}
		return len(l.OwnerReferences) == 1 && l.OwnerReferences[0].UID == n.UID, nil
	})
}

// createPods creates n pods named prefix-i spread over nodes, from 16 goroutines.
func createPods(tb testing.TB, c *client.Client, ns, prefix string, n int, nodes []string) {
	tb.Helper()
	pods := client.Pods(c).Namespace(ns)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				p := podOn(ns, fmt.Sprintf("%s-%d", prefix, i), nodes[i%len(nodes)], "")
				p.Spec.Containers = p.Spec.Containers[:1]
				if _, err := pods.Create(context.Background(), p); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// waitAllRunning waits until n pods of ns are Running and Ready: one list, then a watch.
func waitAllRunning(tb testing.TB, c *client.Client, ns string, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	pods := client.Pods(c).Namespace(ns)
	list, err := pods.List(ctx, client.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	running := map[string]bool{}
	for _, p := range list.Items {
		running[p.Name] = podRunning(p) == nil
	}
	count := func() int {
		k := 0
		for _, ok := range running {
			if ok {
				k++
			}
		}
		return k
	}
	rv := list.ResourceVersion
	for count() < n {
		w, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: rv})
		if err != nil {
			tb.Fatalf("watch pods: %v (%d of %d running)", err, count(), n)
		}
		for ev := range w.Events() {
			if ev.Err != nil {
				tb.Fatalf("watch pods: %v (%d of %d running)", ev.Err, count(), n)
			}
			rv = ev.Object.ResourceVersion
			switch ev.Type {
			case api.Added, api.Modified:
				running[ev.Object.Name] = podRunning(ev.Object) == nil
			case api.Deleted:
				delete(running, ev.Object.Name)
			}
			if count() >= n {
				break
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			tb.Fatalf("timed out: %d of %d pods running", count(), n)
		}
	}
}

func TestHammer(t *testing.T) {
	const nodes, pods = 50, 500
	a := clustertest.StartAPI(t)
	c := newClient(t, a)
	r := start(t, c, hollow.Config{Nodes: nodes, Workers: 8})
	createPods(t, c, "default", "h", pods, r.r.NodeNames())
	waitAllRunning(t, c, "default", pods)
	list, err := client.Pods(c).Namespace("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, p := range list.Items {
		if other, dup := ips[p.Status.PodIP]; dup {
			t.Errorf("pods %s and %s share %s", other, p.Name, p.Status.PodIP)
		}
		ips[p.Status.PodIP] = p.Name
	}
	// Delete them all gracefully; the nodes finish the job.
	if err := client.Pods(c).Namespace("default").DeleteCollection(context.Background(), client.ListOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pods gone", func() (bool, error) {
		list, err := client.Pods(c).Namespace("default").List(context.Background(), client.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(list.Items) == 0, fmt.Errorf("%d left", len(list.Items))
	})
	r.stop()
	if logs := r.logs.String(); logs != "" {
		t.Errorf("errors logged:\n%s", logs)
	}
}

// BenchmarkPodsRunning measures how fast 100 hollow nodes turn 1,000 freshly created pods
// Running, from the first create to the last Running status (pods/s).
func BenchmarkPodsRunning(b *testing.B) {
	const nodes, pods = 100, 1000
	a := clustertest.StartAPI(b)
	c := newClient(b, a)
	r := start(b, c, hollow.Config{Nodes: nodes})
	waitNodesReady(b, c, r.r.NodeNames())
	var total time.Duration
	iter := 0
	for b.Loop() {
		ns := fmt.Sprintf("bench-%d", iter)
		iter++
		if _, err := client.Namespaces(c).Create(context.Background(), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		createPods(b, c, ns, "b", pods, r.r.NodeNames())
		waitAllRunning(b, c, ns, pods)
		total += time.Since(began)
		// Leave the next round an empty cluster, as this one had.
		err := client.Pods(c).Namespace(ns).DeleteCollection(context.Background(), client.ListOptions{},
			&api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(0))})
		if err != nil {
			b.Fatal(err)
		}
		waitFor(b, "pods deleted", func() (bool, error) {
			list, err := client.Pods(c).Namespace(ns).List(context.Background(), client.ListOptions{Limit: 1})
			return err == nil && len(list.Items) == 0, err
		})
	}
	b.ReportMetric(float64(pods*iter)/total.Seconds(), "pods/s")
}

// BenchmarkRegisterNodes measures how fast one Runner registers 1,000 nodes with their leases,
// from Run's start to the last lease (nodes/s).
func BenchmarkRegisterNodes(b *testing.B) {
	const nodes = 1000
	a := clustertest.StartAPI(b)
	c := newClient(b, a)
	leases := client.Leases(c).Namespace(api.NamespaceNodeLease)
	var total time.Duration
	iter := 0
	for b.Loop() {
		prefix := fmt.Sprintf("reg%d-", iter)
		iter++
		began := time.Now()
		r := start(b, c, hollow.Config{Nodes: nodes, NamePrefix: prefix, RenewInterval: 10 * time.Second,
			LeaseDuration: 40 * time.Second})
		waitFor(b, "leases", func() (bool, error) {
			list, err := leases.List(context.Background(), client.ListOptions{})
			if err != nil {
				return false, err
			}
			n := 0
			for _, l := range list.Items {
				if strings.HasPrefix(l.Name, prefix) {
					n++
				}
			}
			return n == nodes, nil
		})
		total += time.Since(began)
		r.stop()
	}
	b.ReportMetric(float64(nodes*iter)/total.Seconds(), "nodes/s")
}
