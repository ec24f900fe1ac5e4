package daemonset

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/informer"
)

// TestReconcileAgainBeforeTheWatch reconciles one DaemonSet again and again while its pod
// informer has not yet seen the pods the first reconcile created (here: it is started only
// afterwards, the worst case of a lagging watch, which a status write or a node change can
// meet in production): the expectations hold every later reconcile back, so each node gets
// one pod, never two. Conflicts writing the status from a stale cache are expected; the
// loop retries them.
func TestReconcileAgainBeforeTheWatch(t *testing.T) {
	c := controllertest.Client(t, clustertest.StartAPI(t))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	inf := &controller.Informers{
		Pods: informer.New(client.Pods(c), client.ListOptions{}, map[string]informer.IndexFunc[*api.Pod]{
			informer.ControllerUIDIndex: informer.ByControllerUID[*api.Pod](),
		}),
		Nodes:      informer.New(client.Nodes(c), client.ListOptions{}, nil),
		DaemonSets: informer.New(DaemonSets(c), client.ListOptions{}, nil),
	}
	wg.Go(func() { _ = inf.Nodes.Run(ctx) })
	wg.Go(func() { _ = inf.DaemonSets.Run(ctx) })
	dsc, err := New(Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dsc.ctrl.Stop) // its loop never runs: the test calls Reconcile itself
	const nodes = 30
	for i := range nodes {
		if _, err := client.Nodes(c).Create(ctx, readyNode(fmt.Sprintf("n%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	l := map[string]string{"app": "agent"}
	ds, err := DaemonSets(c).Namespace("default").Create(ctx, &api.DaemonSet{ObjectMeta: api.ObjectMeta{Name: "agent"}, Spec: api.DaemonSetSpec{
		Selector: &api.LabelSelector{MatchLabels: l},
		Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "agent", Image: "agent:v1"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the informers to hold the nodes and the DaemonSet", func() (bool, string) {
		_, ok := inf.DaemonSets.Get("default", "agent")
		return ok && len(inf.Nodes.List()) == nodes, fmt.Sprintf("%d nodes", len(inf.Nodes.List()))
	})
	key := "default/agent"
	for range 5 {
		if err := dsc.Reconcile(ctx, key); err != nil && !api.IsConflict(err) {
			t.Fatal(err)
		}
	}
	countPods := func(what string) {
		t.Helper()
		list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		perNode := map[string]int{}
		for _, p := range list.Items {
			perNode[targetNode(p)]++
		}
		if len(list.Items) != nodes || len(perNode) != nodes {
			t.Fatalf("%s: %d pods on %d nodes, want one on each of %d", what, len(list.Items), len(perNode), nodes)
		}
	}
	countPods("before the watch")
	wg.Go(func() { _ = inf.Pods.Run(ctx) })
	controllertest.Eventually(t, "the pod informer to see the pods", func() (bool, string) {
		n := len(inf.Pods.ByIndex(informer.ControllerUIDIndex, ds.UID))
		return n >= nodes, fmt.Sprintf("%d pods", n)
	})
	// Once everything is observed, a reconcile changes nothing either.
	controllertest.Eventually(t, "a reconcile without conflict", func() (bool, string) {
		err := dsc.Reconcile(ctx, key)
		return err == nil, fmt.Sprint(err)
	})
	countPods("after the watch")
}

// TestAdoptOrphans: a pod the DaemonSet's selector matches, controlled by nothing, is
// adopted and counts as that node's daemon pod; a controlled pod whose labels stop matching
// is released and replaced.
func TestAdoptOrphans(t *testing.T) {
	c := controllertest.Client(t, clustertest.StartAPI(t))
	ctx, cancel := context.WithCancel(context.Background())
	inf := controller.NewInformers(c)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	wg.Go(func() { inf.Run(ctx) })
	dsc, err := New(Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = dsc.Run(ctx) })
	for _, n := range []string{"n0", "n1"} {
		if _, err := client.Nodes(c).Create(ctx, readyNode(n)); err != nil {
			t.Fatal(err)
		}
	}
	l := map[string]string{"app": "agent"}
	spec := api.PodSpec{Containers: []api.Container{{Name: "agent", Image: "agent:v1"}}}
	orphan := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "orphan", Labels: l}, Spec: spec}
	orphan.Spec.NodeName = "n0"
	if _, err := client.Pods(c).Namespace("default").Create(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	ds, err := DaemonSets(c).Namespace("default").Create(ctx, &api.DaemonSet{ObjectMeta: api.ObjectMeta{Name: "agent"}, Spec: api.DaemonSetSpec{
		Selector: &api.LabelSelector{MatchLabels: l},
		Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l}, Spec: spec}}})
	if err != nil {
		t.Fatal(err)
	}
	owned := func() (map[string][]string, string) {
		list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{})
		if err != nil {
			return nil, err.Error()
		}
		m := map[string][]string{}
		for _, p := range list.Items {
			if api.IsControlledBy(&p.ObjectMeta, ds.UID) {
				m[targetNode(p)] = append(m[targetNode(p)], p.Name)
			}
		}
		return m, fmt.Sprint(m)
	}
	controllertest.Eventually(t, "the orphan adopted and a pod on n1", func() (bool, string) {
		m, s := owned()
		return len(m["n0"]) == 1 && m["n0"][0] == "orphan" && len(m["n1"]) == 1, s
	})
	if _, err := client.Pods(c).Namespace("default").Patch(ctx, "orphan", client.MergePatch, []byte(`{"metadata":{"labels":{"app":"other"}}}`)); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the relabelled pod released and replaced", func() (bool, string) {
		m, s := owned()
		p, err := client.Pods(c).Namespace("default").Get(ctx, "orphan")
		if err != nil {
			return false, err.Error()
		}
		return api.ControllerOf(&p.ObjectMeta) == nil && len(m["n0"]) == 1 && m["n0"][0] != "orphan" && len(m["n1"]) == 1, s
	})
}

// readyNode is a node whose runner reports it Ready.
func readyNode(name string) *api.Node {
	return &api.Node{ObjectMeta: api.ObjectMeta{Name: name},
		Status: api.NodeStatus{Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue}}}}
}
