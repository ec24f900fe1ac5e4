package taint_test

import (
	"context"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/taint"
)

// TestNoExecuteEvicts taints a node NoExecute and checks that the pod that does not tolerate
// the taint is deleted, the one that tolerates it for a second is deleted after it, and the
// one that tolerates it forever stays.
func TestNoExecuteEvicts(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	ctx := context.Background()
	if _, err := client.Nodes(c).Create(ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	pods := client.Pods(c).Namespace("default")
	mk := func(name string, tols ...api.Toleration) {
		_, err := pods.Create(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Name: name},
			Spec: api.PodSpec{NodeName: "n1", Tolerations: tols, Containers: []api.Container{{Name: "c", Image: "m:v1"}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk("intolerant")
	mk("brief", api.Toleration{Key: "maintenance", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: api.Ptr[int64](1)})
	mk("patient", api.Toleration{Key: "maintenance", Operator: "Exists"})

	inf := controller.NewInformers(c)
	tc, err := taint.New(taint.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { inf.Run(runCtx); done <- struct{}{} }()
	go func() { _ = tc.Run(runCtx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	if _, err := client.Nodes(c).Patch(ctx, "n1", client.MergePatch,
		[]byte(`{"spec":{"taints":[{"key":"maintenance","effect":"NoExecute"}]}}`)); err != nil {
		t.Fatal(err)
	}
	going := func(name string) (bool, error) {
		p, err := pods.Get(ctx, name)
		if api.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return p.DeletionTimestamp != nil, nil
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		in, err1 := going("intolerant")
		br, err2 := going("brief")
		if err1 == nil && err2 == nil && in && br {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("intolerant going %v (%v), brief going %v (%v)", in, err1, br, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pa, err := going("patient"); err != nil || pa {
		t.Fatalf("patient pod going: %v %v", pa, err)
	}
}
