package replicaset_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/replicaset"
)

func startController(t *testing.T, c *client.Client) {
	t.Helper()
	inf := controller.NewInformers(c)
	rsc, err := replicaset.New(replicaset.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = rsc.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
}

func newRS(name string, replicas int32) *api.ReplicaSet {
	l := map[string]string{"app": name}
	return &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec: api.ReplicaSetSpec{
			Replicas: api.Ptr(replicas),
			Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}},
		},
	}
}

func ownedPods(ctx context.Context, t *testing.T, c *client.Client, rs *api.ReplicaSet) (active, ready int) {
	t.Helper()
	list, err := client.Pods(c).Namespace(rs.Namespace).List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		if api.IsControlledBy(&p.ObjectMeta, rs.UID) && controller.IsPodActive(p) {
			active++
			if controller.IsPodReady(p) {
				ready++
			}
		}
	}
	return active, ready
}

func TestReplicaSetIntegration(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{})
	startController(t, c)
	ctx := context.Background()
	rsAPI := client.ReplicaSets(c).Namespace("default")

	rs, err := rsAPI.Create(ctx, newRS("web", 3))
	if err != nil {
		t.Fatal(err)
	}
	waitReady := func(n int32) {
		controllertest.Eventually(t, fmt.Sprintf("%d ready replicas", n), func() (bool, string) {
			cur, err := rsAPI.Get(ctx, rs.Name)
			if err != nil {
				return false, err.Error()
			}
			active, ready := ownedPods(ctx, t, c, cur)
			st := cur.Status
			return int32(active) == n && int32(ready) == n && st.Replicas == n && st.ReadyReplicas == n &&
					st.AvailableReplicas == n && st.ObservedGeneration == cur.Generation,
				fmt.Sprintf("pods %d/%d ready, status %+v", ready, active, st)
		})
	}
	waitReady(3)

	t.Run("orphan is adopted and surplus deleted", func(t *testing.T) {
		orphan := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "stray", Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}
		if _, err := client.Pods(c).Namespace("default").Create(ctx, orphan); err != nil {
			t.Fatal(err)
		}
		waitReady(3)
	})
	t.Run("scale up and down", func(t *testing.T) {
		for _, n := range []int32{7, 2} {
			// A patch, as kubectl scale sends: the controller writes the status meanwhile, so
			// an update of what was read may meet a conflict.
			if _, err := rsAPI.Patch(ctx, rs.Name, client.MergePatch, fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)); err != nil {
				t.Fatal(err)
			}
			waitReady(n)
		}
	})
	t.Run("deleted pod is replaced", func(t *testing.T) {
		list, _ := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
		victim := list.Items[0]
		if err := client.Pods(c).Namespace("default").Delete(ctx, victim.Name, nil); err != nil {
			t.Fatal(err)
		}
		waitReady(2)
	})
	t.Run("pod that stops matching is released", func(t *testing.T) {
		list, _ := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
		p := list.Items[0]
		p.Labels = map[string]string{"app": "other"}
		if _, err := client.Pods(c).Namespace("default").Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "release", func() (bool, string) {
			got, err := client.Pods(c).Namespace("default").Get(ctx, p.Name)
			if err != nil {
				return false, err.Error()
			}
			return api.ControllerOf(&got.ObjectMeta) == nil, fmt.Sprintf("owners %+v", got.OwnerReferences)
		})
		waitReady(2)
	})
}
