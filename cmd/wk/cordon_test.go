package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestCordonDrain(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	if _, err := client.Nodes(tc.c).Create(ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	boundPod := func(name string, owned bool) {
		p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
			Spec: api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "c", Image: "m:v1"}}}}
		if owned {
			p.Labels = map[string]string{"app": "web"}
			p.OwnerReferences = []api.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "u-1", Controller: api.Ptr(true)}}
		}
		p, err := client.Pods(tc.c).Namespace("default").Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = api.PodRunning
		p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue}}
		if _, err := client.Pods(tc.c).Namespace("default").UpdateStatus(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	boundPod("owned", true)
	boundPod("bare", false)
	// A budget over the owned pod that allows no disruption, as the disruption controller
	// would compute it; a step below lets one through.
	pdbs := client.For[*api.PodDisruptionBudget](tc.c, "poddisruptionbudgets").Namespace("default")
	budget, err := pdbs.Create(ctx, &api.PodDisruptionBudget{ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.PodDisruptionBudgetSpec{MinAvailable: api.Ptr(api.FromInt(1)),
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}})
	if err != nil {
		t.Fatal(err)
	}
	setAllowed := func(n int32) {
		b, err := pdbs.Get(ctx, budget.Name)
		if err != nil {
			t.Fatal(err)
		}
		b.Status = api.PodDisruptionBudgetStatus{ObservedGeneration: b.Generation, DisruptionsAllowed: n, CurrentHealthy: 1 + n, DesiredHealthy: 1, ExpectedPods: 1 + n}
		if _, err := pdbs.UpdateStatus(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	setAllowed(0)
	unschedulable := func() bool {
		n, err := client.Nodes(tc.c).Get(ctx, "n1")
		if err != nil {
			t.Fatal(err)
		}
		return n.Spec.Unschedulable
	}
	steps := []struct {
		name          string
		args          []string
		code          int
		out, err      string
		unschedulable bool
	}{
		{"cordon", []string{"cordon", "n1"}, 0, "node/n1 cordoned\n", "", true},
		{"cordon again", []string{"cordon", "n1"}, 0, "node/n1 already cordoned\n", "", true},
		{"uncordon", []string{"uncordon", "n1"}, 0, "node/n1 uncordoned\n", "", false},
		{"drain refuses bare pods", []string{"drain", "n1"}, 1, "node/n1 cordoned\n",
			"error: cannot delete Pods that declare no controller (use --force to override): default/bare\n", true},
		{"drain waits for the budget", []string{"drain", "n1", "--force", "--grace-period=0", "--timeout=300ms", "--eviction-retry-interval=100ms"}, 1,
			"node/n1 already cordoned\nevicting pod default/bare\npod/bare evicted\nevicting pod default/owned\n",
			"Warning: deleting Pods that declare no controller: default/bare\n" +
				"error when evicting pods/\"owned\" -n \"default\" (will retry after 100ms): Cannot evict pod as it would violate the pod's disruption budget.\n" +
				"error: unable to drain node \"n1\": error when evicting pods/\"owned\" -n \"default\": global timeout reached: context deadline exceeded\n", true},
		{"drain --force", []string{"drain", "n1", "--force", "--grace-period=0"}, 0,
			"node/n1 already cordoned\nevicting pod default/owned\npod/owned evicted\nnode/n1 drained\n", "", true},
		{"unknown node", []string{"cordon", "nope"}, 1, "", "Error from server (NotFound): nodes \"nope\" not found\n", true},
	}
	lines := func(s string) string { // pods are evicted in parallel: order-free comparison
		l := strings.Split(s, "\n")
		slices.Sort(l)
		return strings.Join(slices.Compact(l), "\n")
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.name == "drain --force" {
				setAllowed(1) // as the controller would once a replacement is ready elsewhere
			}
			r := tc.wk(t, "", s.args...)
			if r.code != s.code || lines(r.out) != lines(s.out) || lines(r.err) != lines(s.err) {
				t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", r.code, r.out, s.out, r.err, s.err)
			}
			if got := unschedulable(); got != s.unschedulable {
				t.Fatalf("unschedulable = %v, want %v", got, s.unschedulable)
			}
		})
	}
	pods, err := client.Pods(tc.c).Namespace("default").List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 0 {
		t.Fatalf("%d pods left after drain", len(pods.Items))
	}
}
