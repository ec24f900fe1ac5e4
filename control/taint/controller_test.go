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

// TestTolerationUpdate checks Kubernetes' rule for pod toleration updates against the real
// API (adding is allowed, removing is refused with 422) and that the controller goes by the
// updated tolerations: a pod tolerating the node's NoExecute taint for an hour is evicted at
// once when its tolerationSeconds is changed to 0.
func TestTolerationUpdate(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	ctx := context.Background()
	if _, err := client.Nodes(c).Create(ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"},
		Spec: api.NodeSpec{Taints: []api.Taint{{Key: "maintenance", Effect: api.TaintNoExecute}}}}); err != nil {
		t.Fatal(err)
	}
	pods := client.Pods(c).Namespace("default")
	hour := api.Toleration{Key: "maintenance", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: api.Ptr[int64](3600)}
	p, err := pods.Create(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Name: "slow"},
		Spec: api.PodSpec{NodeName: "n1", Tolerations: []api.Toleration{hour}, Containers: []api.Container{{Name: "c", Image: "m:v1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		tols    []api.Toleration
		invalid bool
	}{
		{"remove refused", nil, true},
		{"change value refused", []api.Toleration{{Key: "other", Operator: "Exists", Effect: api.TaintNoExecute, TolerationSeconds: api.Ptr[int64](3600)}}, true},
		{"add allowed", []api.Toleration{hour, {Key: "gpu", Operator: "Exists", Effect: api.TaintNoSchedule}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := pods.Get(ctx, p.Name)
			if err != nil {
				t.Fatal(err)
			}
			cur.Spec.Tolerations = tc.tols
			_, err = pods.Update(ctx, cur)
			if tc.invalid != api.IsInvalid(err) || (!tc.invalid && err != nil) {
				t.Fatalf("update: %v, want invalid %v", err, tc.invalid)
			}
		})
	}

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
	if !inf.Pods.WaitForSync(ctx) {
		t.Fatal("pods informer did not sync")
	}

	cur, err := pods.Get(ctx, p.Name)
	if err != nil {
		t.Fatal(err)
	}
	if cur.DeletionTimestamp != nil {
		t.Fatal("pod tolerating the taint for an hour is being deleted")
	}
	cur.Spec.Tolerations[0].TolerationSeconds = api.Ptr[int64](0)
	if _, err := pods.Update(ctx, cur); err != nil {
		t.Fatalf("change tolerationSeconds: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := pods.Get(ctx, p.Name)
		if api.IsNotFound(err) {
			return
		}
		if err == nil && got.DeletionTimestamp != nil {
			for _, c := range got.Status.Conditions {
				if c.Type == api.DisruptionTarget && c.Status == api.ConditionTrue && c.Reason == "DeletionByTaintManager" {
					return
				}
			}
			t.Fatalf("evicted pod has no DisruptionTarget condition: %+v", got.Status.Conditions)
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod with tolerationSeconds 0 not evicted: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
