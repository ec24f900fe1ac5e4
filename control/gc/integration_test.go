package gc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/gc"
	"github.com/wasmkube/wasmkube/control/replicaset"
)

func TestGarbageCollection(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	// Pods are bound to a node so that their deletion is graceful and waits for the runner.
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{Node: "node-a", Bind: true})
	inf := controller.NewInformers(c)
	rsc, err := replicaset.New(replicaset.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	col, err := gc.New(gc.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = rsc.Run(ctx); done <- struct{}{} }()
	go func() { _ = col.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done })

	rsAPI := client.ReplicaSets(c).Namespace("default")
	podAPI := client.Pods(c).Namespace("default")
	start := func(name string, podFinalizers ...string) *api.ReplicaSet {
		t.Helper()
		l := map[string]string{"app": name}
		rs, err := rsAPI.Create(ctx, &api.ReplicaSet{
			ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
			Spec: api.ReplicaSetSpec{Replicas: api.Ptr[int32](3), Selector: &api.LabelSelector{MatchLabels: l},
				Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l, Finalizers: podFinalizers},
					Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, name+" running", func() (bool, string) {
			cur, err := rsAPI.Get(ctx, name)
			if err != nil {
				return false, err.Error()
			}
			return cur.Status.ReadyReplicas == 3, fmt.Sprintf("%+v", cur.Status)
		})
		return rs
	}
	// pods counts the pods labelled app=name, and those still controlled by uid.
	pods := func(name, uid string) (all, owned int) {
		list, err := podAPI.List(ctx, client.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			all++
			if api.IsControlledBy(&p.ObjectMeta, uid) {
				owned++
			}
		}
		return all, owned
	}
	del := func(name, policy string) {
		t.Helper()
		if err := rsAPI.Delete(ctx, name, &api.DeleteOptions{PropagationPolicy: api.Ptr(policy)}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("background", func(t *testing.T) {
		rs := start("bg")
		del("bg", api.DeletePropagationBackground)
		controllertest.Eventually(t, "pods collected", func() (bool, string) {
			all, _ := pods("bg", rs.UID)
			return all == 0, fmt.Sprintf("%d pods left", all)
		})
	})
	t.Run("foreground", func(t *testing.T) {
		// The pods carry a finalizer of the test's, so they stay (terminating) until the test
		// lets them go: meanwhile the owner must wait, marked.
		const hold = "example.com/hold"
		rs := start("fg", hold)
		del("fg", api.DeletePropagationForeground)
		controllertest.Eventually(t, "all pods terminating while the owner waits", func() (bool, string) {
			cur, err := rsAPI.Get(ctx, "fg")
			if err != nil {
				return false, err.Error()
			}
			list, err := podAPI.List(ctx, client.ListOptions{LabelSelector: "app=fg"})
			if err != nil {
				return false, err.Error()
			}
			terminating := 0
			for _, p := range list.Items {
				if p.DeletionTimestamp != nil {
					terminating++
				}
			}
			return cur.DeletionTimestamp != nil && controller.HasFinalizer(&cur.ObjectMeta, api.FinalizerDeleteDependents) &&
					terminating == len(list.Items) && len(list.Items) > 0,
				fmt.Sprintf("owner finalizers %v, %d/%d pods terminating", cur.Finalizers, terminating, len(list.Items))
		})
		list, err := podAPI.List(ctx, client.ListOptions{LabelSelector: "app=fg"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			for {
				p.Finalizers = controller.WithoutFinalizer(p.Finalizers, hold)
				_, err := podAPI.Update(ctx, p)
				if !api.IsConflict(err) {
					if err != nil && !api.IsNotFound(err) {
						t.Fatal(err)
					}
					break
				}
				if p, err = podAPI.Get(ctx, p.Name); err != nil {
					t.Fatal(err)
				}
			}
		}
		controllertest.Eventually(t, "owner deleted after its pods", func() (bool, string) {
			_, err := rsAPI.Get(ctx, "fg")
			all, _ := pods("fg", rs.UID)
			return api.IsNotFound(err) && all == 0, fmt.Sprintf("owner err %v, %d pods", err, all)
		})
	})
	t.Run("orphan", func(t *testing.T) {
		rs := start("orph")
		del("orph", api.DeletePropagationOrphan)
		controllertest.Eventually(t, "owner gone, pods orphaned", func() (bool, string) {
			_, err := rsAPI.Get(ctx, "orph")
			all, owned := pods("orph", rs.UID)
			return api.IsNotFound(err) && all == 3 && owned == 0, fmt.Sprintf("owner err %v, %d pods, %d still owned", err, all, owned)
		})
	})
	t.Run("dangling owner reference", func(t *testing.T) {
		p, err := podAPI.Create(ctx, &api.Pod{
			ObjectMeta: api.ObjectMeta{Name: "dangling", Namespace: "default", OwnerReferences: []api.OwnerReference{
				{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "never-was", UID: "00000000-0000-0000-0000-000000000000"}}},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "pod with a missing owner deleted", func() (bool, string) {
			_, err := podAPI.Get(ctx, p.Name)
			return api.IsNotFound(err), fmt.Sprint(err)
		})
	})
	t.Run("configmap and secret of a deleted owner", func(t *testing.T) {
		rs := start("cfg")
		owner := []api.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID}}
		cms := client.For[*api.ConfigMap](c, "configmaps").Namespace("default")
		secrets := client.For[*api.Secret](c, "secrets").Namespace("default")
		if _, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", OwnerReferences: owner}}); err != nil {
			t.Fatal(err)
		}
		if _, err := secrets.Create(ctx, &api.Secret{ObjectMeta: api.ObjectMeta{Name: "cfg", OwnerReferences: owner}}); err != nil {
			t.Fatal(err)
		}
		del("cfg", api.DeletePropagationBackground)
		controllertest.Eventually(t, "configmap and secret collected", func() (bool, string) {
			_, err1 := cms.Get(ctx, "cfg")
			_, err2 := secrets.Get(ctx, "cfg")
			return api.IsNotFound(err1) && api.IsNotFound(err2), fmt.Sprint(err1, err2)
		})
	})
}
