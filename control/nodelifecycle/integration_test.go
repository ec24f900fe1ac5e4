package nodelifecycle_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/nodelifecycle"
	"github.com/wasmkube/wasmkube/control/replicaset"
)

// TestSilentNodeIsReplaced kills one of two runners and checks that its node turns Unknown
// and its pods come back, ready, on the other node; then the runner returns and its node
// turns Ready again.
func TestSilentNodeIsReplaced(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	ctx := context.Background()
	renew := 100 * time.Millisecond
	// node-a binds first and node-b only once node-a holds pods or has stopped: two binders
	// racing could put all six on node-b, and the test needs pods on node-a to replace.
	var aStopped atomic.Bool
	holdsPods := func(node string) bool {
		list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node, Limit: 1})
		return err == nil && len(list.Items) > 0
	}
	runnerA := controllertest.StartRunner(t, c, controllertest.RunnerConfig{Node: "node-a", Bind: true, Renew: renew})
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{Node: "node-b", Bind: true, Renew: renew,
		BindIf: func(*api.Pod) bool { return aStopped.Load() || holdsPods("node-a") }})

	inf := controller.NewInformers(c)
	rsc, err := replicaset.New(replicaset.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	nlc, err := nodelifecycle.New(nodelifecycle.ControllerConfig{Client: c, Informers: inf,
		Config: nodelifecycle.Config{GracePeriod: time.Second, EvictionTimeout: 0}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 3)
	go func() { inf.Run(runCtx); done <- struct{}{} }()
	go func() { _ = rsc.Run(runCtx); done <- struct{}{} }()
	go func() { _ = nlc.Run(runCtx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done })

	l := map[string]string{"app": "web"}
	_, err = client.ReplicaSets(c).Namespace("default").Create(ctx, &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.ReplicaSetSpec{Replicas: api.Ptr[int32](6), Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// placement counts ready pods per node.
	placement := func() (map[string]int, string) {
		list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{})
		if err != nil {
			return nil, err.Error()
		}
		m := map[string]int{}
		for _, p := range list.Items {
			if controller.IsPodActive(p) && controller.IsPodReady(p) {
				m[p.Spec.NodeName]++
			}
		}
		return m, fmt.Sprint(m)
	}
	controllertest.Eventually(t, "6 ready pods on both nodes", func() (bool, string) {
		m, s := placement()
		return m["node-a"]+m["node-b"] == 6 && m["node-a"] > 0, s
	})

	aStopped.Store(true)
	runnerA.Stop()
	nodeReady := func(name string) (api.ConditionStatus, string) {
		n, err := client.Nodes(c).Get(ctx, name)
		if err != nil {
			return "", err.Error()
		}
		for _, cd := range n.Status.Conditions {
			if cd.Type == api.NodeReady {
				return cd.Status, cd.Reason
			}
		}
		return "", "no Ready condition"
	}
	controllertest.Eventually(t, "node-a Unknown and all pods ready on node-b", func() (bool, string) {
		st, reason := nodeReady("node-a")
		m, s := placement()
		return st == api.ConditionUnknown && reason == nodelifecycle.ReasonNodeStatusUnknown && m["node-b"] == 6 && m["node-a"] == 0,
			fmt.Sprintf("node-a %s/%s, pods %s", st, reason, s)
	})
	if st, _ := nodeReady("node-b"); st != api.ConditionTrue {
		t.Fatalf("node-b is %s", st)
	}

	controllertest.StartRunner(t, c, controllertest.RunnerConfig{Node: "node-a", Bind: true, Renew: renew})
	controllertest.Eventually(t, "node-a Ready again", func() (bool, string) {
		st, reason := nodeReady("node-a")
		return st == api.ConditionTrue, fmt.Sprintf("%s/%s", st, reason)
	})

	t.Run("pods of a deleted node are removed", func(t *testing.T) {
		// Bind a pod by hand to a node that never existed.
		p, err := client.Pods(c).Namespace("default").Create(ctx, &api.Pod{
			ObjectMeta: api.ObjectMeta{Name: "lost", Namespace: "default"},
			Spec:       api.PodSpec{NodeName: "node-gone", Containers: []api.Container{{Name: "app", Image: "hello:1"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "pod of a missing node deleted", func() (bool, string) {
			_, err := client.Pods(c).Namespace("default").Get(ctx, p.Name)
			return api.IsNotFound(err), fmt.Sprint(err)
		})
	})
}
