package scheduler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/scheduler"
)

func readyNode(name, mem string, labels map[string]string) *api.Node {
	return &api.Node{
		ObjectMeta: api.ObjectMeta{Name: name, Labels: labels},
		Status: api.NodeStatus{
			Allocatable: api.ResourceList{api.ResourceCPU: api.MustParseQuantity("2"),
				api.ResourceMemory: api.MustParseQuantity(mem), api.ResourcePods: api.NewQuantity(110)},
			Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue}},
		},
	}
}

func createNode(t *testing.T, c *client.Client, n *api.Node) {
	t.Helper()
	ctx := context.Background()
	status := n.Status
	created, err := client.Nodes(c).Create(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	created.Status = status
	if _, err := client.Nodes(c).UpdateStatus(ctx, created); err != nil {
		t.Fatal(err)
	}
}

func newPod(name, mem string, sel map[string]string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name},
		Spec: api.PodSpec{NodeSelector: sel, Containers: []api.Container{{Name: "c", Image: "m:v1",
			Resources: api.ResourceRequirements{Requests: api.ResourceList{api.ResourceMemory: api.MustParseQuantity(mem)}}}}},
	}
}

func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// TestSchedulerPlacesAndExplains runs the scheduler against a real API server: pods land on
// feasible nodes through the binding subresource, an unplaceable pod gets PodScheduled=False
// with Kubernetes' explanation, and it is placed once a node that fits appears.
func TestSchedulerPlacesAndExplains(t *testing.T) {
	a := clustertest.StartAPI(t)
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	rec := client.NewRecorder(c, client.RecorderConfig{Component: scheduler.DefaultName})
	rec.Start(ctx)
	defer rec.Stop()
	s, err := scheduler.New(scheduler.Config{Client: c, Recorder: rec, Rand: rand.New(rand.NewPCG(1, 2)), RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	createNode(t, c, readyNode("small-a", "256Mi", map[string]string{"zone": "a"}))
	createNode(t, c, readyNode("small-b", "256Mi", map[string]string{"zone": "b"}))
	pods := client.Pods(c).Namespace("default")
	for i := 0; i < 4; i++ {
		if _, err := pods.Create(ctx, newPod(fmt.Sprintf("fit-%d", i), "100Mi", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pods.Create(ctx, newPod("zone-a", "10Mi", map[string]string{"zone": "a"})); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, newPod("big", "1Gi", nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pods bound", func() error {
		perNode := map[string]int{}
		for i := 0; i < 4; i++ {
			p, err := pods.Get(ctx, fmt.Sprintf("fit-%d", i))
			if err != nil {
				return err
			}
			if p.Spec.NodeName == "" {
				return fmt.Errorf("%s not bound", p.Name)
			}
			perNode[p.Spec.NodeName]++
		}
		// 256Mi each: two 100Mi pods per node at most, so they must have spread.
		if perNode["small-a"] != 2 || perNode["small-b"] != 2 {
			return fmt.Errorf("placement %v, want 2 per node", perNode)
		}
		p, err := pods.Get(ctx, "zone-a")
		if err != nil {
			return err
		}
		if p.Spec.NodeName != "small-a" {
			return fmt.Errorf("zone-a pod on %q", p.Spec.NodeName)
		}
		return nil
	})
	waitFor(t, "big pod explained", func() error {
		p, err := pods.Get(ctx, "big")
		if err != nil {
			return err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == api.PodScheduled && c.Status == api.ConditionFalse && c.Reason == "Unschedulable" {
				if want := "0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."; c.Message != want {
					return fmt.Errorf("message %q, want %q", c.Message, want)
				}
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", p.Status.Conditions)
	})
	createNode(t, c, readyNode("large", "4Gi", nil))
	waitFor(t, "big pod placed on the new node", func() error {
		p, err := pods.Get(ctx, "big")
		if err != nil {
			return err
		}
		if p.Spec.NodeName != "large" {
			return fmt.Errorf("big on %q", p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == api.PodScheduled && c.Status != api.ConditionTrue {
				return fmt.Errorf("PodScheduled still %s: %s", c.Status, c.Message)
			}
		}
		return nil
	})
	waitFor(t, "events for big", func() error {
		ev, err := client.Events(c).Namespace("default").List(ctx, client.ListOptions{FieldSelector: "involvedObject.name=big"})
		if err != nil {
			return err
		}
		var reasons []string
		for _, e := range ev.Items {
			reasons = append(reasons, e.Reason)
		}
		if got := strings.Join(reasons, ","); !strings.Contains(got, "FailedScheduling") || !strings.Contains(got, "Scheduled") {
			return fmt.Errorf("reasons %q, want FailedScheduling and Scheduled", got)
		}
		return nil
	})
}
