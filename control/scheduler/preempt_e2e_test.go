package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/control/scheduler"
	"github.com/wasmkube/wasmkube/runner/hollow"
)

// TestPreemptionEndToEnd runs the scheduler against a real API server and two hollow nodes
// of 1Gi, filled by four low-priority pods of 512Mi. A high-priority pod with
// preemptionPolicy Never waits, explained; a high-priority pod of 1Gi preempts the two pods
// of one node (DisruptionTarget condition, graceful delete, Preempted events), is nominated
// to that node, and lands there once they are gone; the Never pod keeps waiting, kept off
// the room by the nomination.
func TestPreemptionEndToEnd(t *testing.T) {
	c, ctx, run := startCluster(t)

	hr, err := hollow.New(hollow.Config{Client: c, Nodes: 2, Capacity: api.ResourceList{
		api.ResourceCPU: api.MustParseQuantity("1"), api.ResourceMemory: api.MustParseQuantity("1Gi"),
		api.ResourcePods: api.MustParseQuantity("10")}})
	if err != nil {
		t.Fatal(err)
	}
	run(hr.Run)
	classes := client.For[*api.PriorityClass](c, "priorityclasses")
	for _, pc := range []*api.PriorityClass{
		{ObjectMeta: api.ObjectMeta{Name: "low"}, Value: 10},
		{ObjectMeta: api.ObjectMeta{Name: "high"}, Value: 1000},
		// Pods of this class get spec.preemptionPolicy Never from priority admission.
		{ObjectMeta: api.ObjectMeta{Name: "high-never"}, Value: 1000, PreemptionPolicy: api.Ptr(api.PreemptNever)},
	} {
		if _, err := classes.Create(ctx, pc); err != nil {
			t.Fatal(err)
		}
	}

	// Remember the last state of every deleted pod: a victim's DisruptionTarget condition is
	// on it when it goes.
	var mu sync.Mutex
	gone := map[string]*api.Pod{}
	watch := informer.New(client.Pods(c), client.ListOptions{}, nil)
	watch.AddHandler(informer.Handler[*api.Pod]{OnDelete: func(p *api.Pod) {
		mu.Lock()
		gone[p.Name] = p
		mu.Unlock()
	}})
	run(watch.Run)

	rec := client.NewRecorder(c, client.RecorderConfig{Component: "default-scheduler"})
	rec.Start(ctx)
	defer rec.Stop()
	s, err := scheduler.New(scheduler.Config{Client: c, Rand: rand.New(rand.NewPCG(1, 2)), Recorder: rec,
		InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(s.Run)

	pods := client.Pods(c).Namespace("default")
	create := func(name, class, mem string) *api.Pod {
		p := newPod(name, mem, nil)
		p.Spec.PriorityClassName = class
		got, err := pods.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for i := 0; i < 4; i++ {
		create(fmt.Sprintf("low-%d", i), "low", "512Mi")
	}
	lowOn := map[string]string{}
	waitFor(t, "low pods running", func() error {
		for i := 0; i < 4; i++ {
			p, err := pods.Get(ctx, fmt.Sprintf("low-%d", i))
			if err != nil {
				return err
			}
			if p.Status.Phase != api.PodRunning {
				return fmt.Errorf("%s is %q on %q", p.Name, p.Status.Phase, p.Spec.NodeName)
			}
			lowOn[p.Name] = p.Spec.NodeName
		}
		return nil
	})

	condition := func(name string) (*api.Pod, *api.PodCondition, error) {
		p, err := pods.Get(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		for i, c := range p.Status.Conditions {
			if c.Type == api.PodScheduled && c.Status == api.ConditionFalse {
				return p, &p.Status.Conditions[i], nil
			}
		}
		return p, nil, fmt.Errorf("%s: no PodScheduled=False in %+v", name, p.Status.Conditions)
	}
	create("waiter", "high-never", "512Mi")
	waitFor(t, "waiter explained", func() error {
		_, c, err := condition("waiter")
		if err != nil {
			return err
		}
		if want := "0/2 nodes are available: 2 Insufficient memory. preemption: not eligible due to preemptionPolicy=Never."; c.Message != want {
			return fmt.Errorf("message %q, want %q", c.Message, want)
		}
		return nil
	})

	vip := create("vip", "high", "1Gi")
	var nominated string
	waitFor(t, "vip nominated", func() error {
		p, err := pods.Get(ctx, "vip")
		if err != nil {
			return err
		}
		if nominated = p.Status.NominatedNodeName; nominated == "" && p.Spec.NodeName == "" {
			return fmt.Errorf("vip neither nominated nor bound: %+v", p.Status)
		}
		return nil
	})
	waitFor(t, "vip bound", func() error {
		p, err := pods.Get(ctx, "vip")
		if err != nil {
			return err
		}
		if p.Spec.NodeName == "" {
			return fmt.Errorf("vip not bound (nominated %q)", p.Status.NominatedNodeName)
		}
		if nominated != "" && p.Spec.NodeName != nominated {
			t.Fatalf("vip bound to %s, nominated to %s", p.Spec.NodeName, nominated)
		}
		nominated = p.Spec.NodeName
		return nil
	})

	// The two low pods of the nominated node are gone, marked; the other two stay.
	list, err := pods.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, p := range list.Items {
		left[p.Name] = true
	}
	mu.Lock()
	for name, node := range lowOn {
		switch {
		case node != nominated && !left[name]:
			t.Errorf("%s on %s, not the nominated node, was deleted", name, node)
		case node == nominated && left[name]:
			t.Errorf("%s on the nominated node %s is still there", name, node)
		case node == nominated:
			v := gone[name]
			if v == nil {
				t.Errorf("victim %s: no delete seen", name)
				continue
			}
			marked := false
			for _, c := range v.Status.Conditions {
				marked = marked || (c.Type == api.DisruptionTarget && c.Status == api.ConditionTrue && c.Reason == "PreemptionByScheduler")
			}
			if !marked {
				t.Errorf("victim %s went without a DisruptionTarget condition: %+v", name, v.Status.Conditions)
			}
		}
	}
	mu.Unlock()
	waitFor(t, "Preempted events on the victims", func() error {
		evs, err := client.Events(c).Namespace("default").List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		want := fmt.Sprintf("Preempted by pod %s on node %s", vip.UID, nominated)
		n := 0
		for _, e := range evs.Items {
			if e.Reason == "Preempted" && e.Message == want && lowOn[e.InvolvedObject.Name] == nominated {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("%d events %q", n, want)
		}
		return nil
	})
	p, c2, err := condition("waiter")
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || !strings.Contains(c2.Message, "preemptionPolicy=Never") {
		t.Fatalf("waiter on %q: %q", p.Spec.NodeName, c2.Message)
	}
}
