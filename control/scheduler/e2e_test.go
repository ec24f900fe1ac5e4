package scheduler_test

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
	"github.com/wasmkube/wasmkube/control/scheduler"
	"github.com/wasmkube/wasmkube/runner/hollow"
)

// TestPlacementEndToEnd runs the scheduler against a real API server and hollow nodes in three
// zones (two nodes each, one of zone c tainted), with two SchedulingPolicies created through
// the API, and checks where every pod landed and how the unplaceable ones are explained.
func TestPlacementEndToEnd(t *testing.T) {
	c, ctx, run := startCluster(t)

	for _, z := range []string{"a", "b", "c"} {
		hr, err := hollow.New(hollow.Config{Client: c, Nodes: 2, NamePrefix: "hollow-" + z + "-", Labels: map[string]string{"zone": z}})
		if err != nil {
			t.Fatal(err)
		}
		run(hr.Run)
	}
	waitFor(t, "six Ready nodes", func() error {
		list, err := client.Nodes(c).List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range list.Items {
			if hollow.IsReady(n) {
				ready++
			}
		}
		if ready != 6 {
			return fmt.Errorf("%d of 6 Ready", ready)
		}
		return nil
	})
	if _, err := client.Nodes(c).Patch(ctx, "hollow-c-00001", client.MergePatch,
		[]byte(`{"spec":{"taints":[{"key":"dedicated","value":"batch","effect":"NoSchedule"}]}}`)); err != nil {
		t.Fatal(err)
	}
	policies := client.For[*api.SchedulingPolicy](c, "schedulingpolicies")
	for _, sp := range []*api.SchedulingPolicy{
		{ObjectMeta: api.ObjectMeta{Name: "same-zone"}, Spec: api.SchedulingPolicySpec{
			PodSelector: &api.LabelSelector{MatchLabels: map[string]string{"tier": "web"}},
			Filter:      `has(pod.metadata.labels.zone) ? node.metadata.labels.zone == pod.metadata.labels.zone : true`}},
		{ObjectMeta: api.ObjectMeta{Name: "batch-not-in-b"}, Spec: api.SchedulingPolicySpec{
			PodSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "batch"}},
			Filter:      `node.metadata.labels.zone != "b"`,
			Score:       `node.metadata.labels.zone == "c" ? 100 : 0`, Weight: 10}},
	} {
		if _, err := policies.Create(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}

	s, err := scheduler.New(scheduler.Config{Client: c, Rand: rand.New(rand.NewPCG(1, 2)), RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(s.Run)

	pods := client.Pods(c).Namespace("default")
	create := func(name string, l map[string]string, mutate func(*api.Pod)) {
		p := newPod(name, "16Mi", nil)
		p.Labels = l
		if mutate != nil {
			mutate(p)
		}
		if _, err := pods.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		create(fmt.Sprintf("web-a-%d", i), map[string]string{"tier": "web", "zone": "a"}, nil)
	}
	for i := 0; i < 2; i++ {
		create(fmt.Sprintf("web-c-%d", i), map[string]string{"tier": "web", "zone": "c"}, nil)
	}
	tolerate := func(p *api.Pod) {
		p.Spec.Tolerations = []api.Toleration{{Key: "dedicated", Operator: "Exists", Effect: api.TaintNoSchedule}}
	}
	for i := 0; i < 4; i++ {
		create(fmt.Sprintf("batch-%d", i), map[string]string{"app": "batch"}, tolerate)
	}
	solo := func(p *api.Pod) {
		p.Spec.NodeSelector = map[string]string{"zone": "b"}
		p.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{
			{LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "solo"}}, TopologyKey: api.LabelHostname}}}}
	}
	for i := 0; i < 3; i++ {
		create(fmt.Sprintf("solo-%d", i), map[string]string{"app": "solo"}, solo)
	}
	create("web-lost", map[string]string{"tier": "web", "zone": "b"}, func(p *api.Pod) {
		p.Spec.NodeSelector = map[string]string{"zone": "a"}
	})

	nodeOf := map[string]string{}
	waitFor(t, "every placeable pod bound", func() error {
		list, err := pods.List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		clear(nodeOf)
		for _, p := range list.Items {
			nodeOf[p.Name] = p.Spec.NodeName
		}
		bound := 0
		for _, n := range nodeOf {
			if n != "" {
				bound++
			}
		}
		if bound != 3+2+4+2 {
			return fmt.Errorf("%d bound: %v", bound, nodeOf)
		}
		return nil
	})
	zoneOf := func(node string) string { // hollow-ZONE-NNNNN
		if parts := strings.Split(node, "-"); len(parts) == 3 {
			return parts[1]
		}
		return ""
	}
	for name, node := range nodeOf {
		var ok bool
		switch {
		case strings.HasPrefix(name, "web-a-"):
			ok = zoneOf(node) == "a"
		case strings.HasPrefix(name, "web-c-"):
			ok = node == "hollow-c-00000" // the other node of zone c is tainted
		case strings.HasPrefix(name, "batch-"):
			ok = node == "hollow-c-00000" || node == "hollow-c-00001" // not zone b, zone c scores 10x100
		case strings.HasPrefix(name, "solo-"), name == "web-lost":
			ok = node == "" || zoneOf(node) == "b"
		}
		if !ok {
			t.Errorf("pod %s landed on %q", name, node)
		}
	}
	var soloNodes []string
	var soloLeft string
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("solo-%d", i)
		if nodeOf[name] == "" {
			soloLeft = name
		} else {
			soloNodes = append(soloNodes, nodeOf[name])
		}
	}
	sort.Strings(soloNodes)
	if strings.Join(soloNodes, ",") != "hollow-b-00000,hollow-b-00001" || soloLeft == "" {
		t.Fatalf("solo pods on %v, unplaced %q", soloNodes, soloLeft)
	}

	explained := func(name, want string) {
		t.Helper()
		waitFor(t, name+" explained", func() error {
			p, err := pods.Get(ctx, name)
			if err != nil {
				return err
			}
			for _, c := range p.Status.Conditions {
				if c.Type == api.PodScheduled && c.Status == api.ConditionFalse {
					if c.Message != want {
						return fmt.Errorf("message %q, want %q", c.Message, want)
					}
					return nil
				}
			}
			return fmt.Errorf("conditions %+v", p.Status.Conditions)
		})
	}
	explained(soloLeft, "0/6 nodes are available: 4 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match pod anti-affinity rules. preemption: 0/6 nodes are available: 4 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
	explained("web-lost", "0/6 nodes are available: 4 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match policy same-zone. preemption: 0/6 nodes are available: 4 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
}

// startCluster starts a real API server and returns an admin client, a context that ends with
// the test, and run, which runs a component's Run on that context and is waited for when the
// test ends.
func startCluster(t *testing.T) (*client.Client, context.Context, func(func(context.Context) error)) {
	t.Helper()
	a := clustertest.StartAPI(t)
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	return c, ctx, func(f func(context.Context) error) { wg.Go(func() { _ = f(ctx) }) }
}
