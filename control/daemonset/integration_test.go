package daemonset_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/daemonset"
	"github.com/wasmkube/wasmkube/control/gc"
	"github.com/wasmkube/wasmkube/control/scheduler"
	"github.com/wasmkube/wasmkube/runner/hollow"
)

// start runs an API server, the daemonset controller, the garbage collector and the
// scheduler until the test ends; run starts more components on the same context.
func start(t *testing.T) (*client.Client, context.Context, func(func(context.Context) error)) {
	t.Helper()
	return startOn(t, clustertest.StartAPI(t))
}

// startOn is start on an API server already running.
func startOn(t *testing.T, a *clustertest.API) (*client.Client, context.Context, func(func(context.Context) error)) {
	t.Helper()
	c := controllertest.Client(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	run := func(f func(context.Context) error) { wg.Go(func() { _ = f(ctx) }) }
	inf := controller.NewInformers(c)
	dsc, err := daemonset.New(daemonset.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gc.New(gc.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(scheduler.Config{Client: c, Rand: rand.New(rand.NewPCG(1, 2)), RetryInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(func(ctx context.Context) error { inf.Run(ctx); return nil })
	run(dsc.Run)
	run(g.Run)
	run(s.Run)
	return c, ctx, run
}

func hollowNodes(t *testing.T, c *client.Client, run func(func(context.Context) error), prefix string, n int) {
	t.Helper()
	hr, err := hollow.New(hollow.Config{Client: c, Nodes: n, NamePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	run(hr.Run)
}

// fleet is what a test sees of a DaemonSet: the DaemonSet, and its live pods by node.
type fleet struct {
	ds     *api.DaemonSet
	byNode map[string][]*api.Pod
}

func look(ctx context.Context, c *client.Client, name string) (fleet, error) {
	ds, err := daemonset.DaemonSets(c).Namespace("default").Get(ctx, name)
	if err != nil {
		return fleet{}, err
	}
	list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{})
	if err != nil {
		return fleet{}, err
	}
	f := fleet{ds: ds, byNode: map[string][]*api.Pod{}}
	for _, p := range list.Items {
		if api.IsControlledBy(&p.ObjectMeta, ds.UID) && p.DeletionTimestamp == nil {
			f.byNode[p.Spec.NodeName] = append(f.byNode[p.Spec.NodeName], p)
		}
	}
	return f, nil
}

// settled reports whether every node in want, and no other, runs one Running, Ready pod of
// image, and the status says so for the DaemonSet's current generation.
func (f fleet) settled(want []string, image string) (bool, string) {
	var got []string
	for n, pods := range f.byNode {
		got = append(got, n)
		if len(pods) != 1 || pods[0].Status.Phase != api.PodRunning || pods[0].Spec.Containers[0].Image != image {
			return false, fmt.Sprintf("node %s has %d pods", n, len(pods))
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return false, fmt.Sprintf("pods on %v, want %v", got, want)
	}
	st, n := f.ds.Status, int32(len(want))
	if st.ObservedGeneration != f.ds.Generation || st.DesiredNumberScheduled != n || st.CurrentNumberScheduled != n ||
		st.NumberReady != n || st.NumberAvailable != n || st.UpdatedNumberScheduled != n || st.NumberUnavailable != 0 {
		return false, fmt.Sprintf("status %+v (generation %d)", st, f.ds.Generation)
	}
	return true, ""
}

func nodeNames(prefix string, ids ...int) []string {
	var out []string
	for _, i := range ids {
		out = append(out, fmt.Sprintf("%s%05d", prefix, i))
	}
	return out
}

// TestDaemonSetOnHollowNodes drives a DaemonSet over hollow nodes end to end: one pod per
// node, a new node gets one, a NoSchedule taint keeps the running pod while NoExecute
// removes it, an image change rolls out node by node, and deleting the DaemonSet removes
// its pods.
func TestDaemonSetOnHollowNodes(t *testing.T) {
	c, ctx, run := start(t)
	hollowNodes(t, c, run, "edge-", 5)
	dss := daemonset.DaemonSets(c).Namespace("default")
	l := map[string]string{"app": "agent"}
	ds := &api.DaemonSet{ObjectMeta: api.ObjectMeta{Name: "agent"}, Spec: api.DaemonSetSpec{
		Selector: &api.LabelSelector{MatchLabels: l},
		Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "agent", Image: "agent:v1"}}}}}}
	if _, err := dss.Create(ctx, ds); err != nil {
		t.Fatal(err)
	}
	wait := func(what string, want []string, image string) fleet {
		t.Helper()
		var f fleet
		controllertest.Eventually(t, what, func() (bool, string) {
			var err error
			if f, err = look(ctx, c, "agent"); err != nil {
				return false, err.Error()
			}
			return f.settled(want, image)
		})
		return f
	}
	five := nodeNames("edge-", 0, 1, 2, 3, 4)
	wait("one pod on each of 5 nodes", five, "agent:v1")

	hollowNodes(t, c, run, "extra-", 1)
	six := append(append([]string{}, five...), "extra-00000")
	f := wait("a pod on the new node", six, "agent:v1")

	taint := func(node, effect string) {
		t.Helper()
		patch := fmt.Sprintf(`{"spec":{"taints":[{"key":"maintenance","effect":%q}]}}`, effect)
		if _, err := client.Nodes(c).Patch(ctx, node, client.MergePatch, []byte(patch)); err != nil {
			t.Fatal(err)
		}
	}
	kept := f.byNode["edge-00001"][0]
	taint("edge-00001", api.TaintNoSchedule)
	controllertest.Eventually(t, "the NoSchedule node to leave the desired count", func() (bool, string) {
		f, err := look(ctx, c, "agent")
		if err != nil {
			return false, err.Error()
		}
		st := f.ds.Status
		return st.DesiredNumberScheduled == 5 && st.NumberMisscheduled == 1, fmt.Sprintf("status %+v", st)
	})
	if f, _ := look(ctx, c, "agent"); len(f.byNode["edge-00001"]) != 1 || f.byNode["edge-00001"][0].UID != kept.UID {
		t.Fatalf("the pod on the NoSchedule node did not stay: %v", f.byNode["edge-00001"])
	}
	taint("edge-00001", api.TaintNoExecute)
	eligible := nodeNames("edge-", 0, 2, 3, 4)
	eligible = append(eligible, "extra-00000")
	wait("the pod on the NoExecute node to go", eligible, "agent:v1")

	// Roll out v2 and watch it go node by node: with maxUnavailable 1, never two eligible
	// nodes without an available pod at once.
	if _, err := dss.Patch(ctx, "agent", client.StrategicMergePatch,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"agent","image":"agent:v2"}]}}}}`)); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	controllertest.Eventually(t, "v2 rolled out", func() (bool, string) {
		f, err := look(ctx, c, "agent")
		if err != nil {
			return false, err.Error()
		}
		down, updated := 0, 0
		for _, n := range eligible {
			ok := false
			for _, p := range f.byNode[n] {
				ok = ok || controller.IsPodReady(p)
				if p.Spec.Containers[0].Image == "agent:v2" {
					updated++
				}
			}
			if !ok {
				down++
			}
		}
		if down > 1 {
			t.Fatalf("%d nodes without a ready pod during the rollout (maxUnavailable 1)", down)
		}
		seen[updated] = true
		return f.settled(eligible, "agent:v2")
	})
	if len(seen) < 2 {
		t.Logf("rollout observed at updated counts %v", seen)
	}

	if err := dss.Delete(ctx, "agent", &api.DeleteOptions{PropagationPolicy: api.Ptr("Background")}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the DaemonSet's pods to go", func() (bool, string) {
		list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(list.Items) == 0, fmt.Sprintf("%d pods left", len(list.Items))
	})
}
