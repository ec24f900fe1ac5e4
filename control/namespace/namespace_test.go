package namespace_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/namespace"
)

func TestCompute(t *testing.T) {
	pods := &api.ResourceInfo{Resource: "pods"}
	live := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "x"}, Spec: api.NamespaceSpec{Finalizers: []string{api.FinalizerKubernetes}}}
	dying := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "x", DeletionTimestamp: &api.Time{}}, Spec: live.Spec}
	done := &api.Namespace{ObjectMeta: dying.ObjectMeta}
	cases := []struct {
		name string
		ns   *api.Namespace
		left []namespace.Content
		want string
	}{
		{"live namespace: nothing", live, []namespace.Content{{Resource: pods, Name: "a"}}, "delete [] wait false finalize false"},
		{"content left: delete what is not going yet and wait", dying,
			[]namespace.Content{{Resource: pods, Name: "a"}, {Resource: pods, Name: "b", Deleting: true}}, "delete [a] wait true finalize false"},
		{"empty: finalize", dying, nil, "delete [] wait false finalize true"},
		{"our finalizer already gone: nothing", done, nil, "delete [] wait false finalize false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := namespace.Compute(tc.ns, tc.left)
			var names []string
			for _, c := range p.Delete {
				names = append(names, c.Name)
			}
			if got := fmt.Sprintf("delete %v wait %v finalize %v", names, p.Wait, p.Finalize); got != tc.want {
				t.Fatalf("%s, want %s", got, tc.want)
			}
		})
	}
}

func TestNamespaceDeletionEmptiesIt(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{Node: "node-a", Bind: true})
	inf := controller.NewInformers(c)
	nc, err := namespace.New(namespace.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = nc.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	if _, err := client.Namespaces(c).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	l := map[string]string{"app": "web"}
	tmpl := api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l}, Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}
	for _, create := range []func() error{
		func() error {
			_, err := client.Pods(c).Namespace("team").Create(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Name: "p", Namespace: "team", Labels: l}, Spec: tmpl.Spec})
			return err
		},
		func() error {
			_, err := client.Services(c).Namespace("team").Create(ctx, &api.Service{ObjectMeta: api.ObjectMeta{Name: "s", Namespace: "team"},
				Spec: api.ServiceSpec{Selector: l, Ports: []api.ServicePort{{Port: 80}}}})
			return err
		},
		func() error {
			_, err := client.Deployments(c).Namespace("team").Create(ctx, &api.Deployment{ObjectMeta: api.ObjectMeta{Name: "d", Namespace: "team"},
				Spec: api.DeploymentSpec{Selector: &api.LabelSelector{MatchLabels: l}, Template: tmpl}})
			return err
		},
		func() error {
			_, err := client.For[*api.ConfigMap](c, "configmaps").Namespace("team").Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cm"},
				Data: map[string]string{"a": "b"}})
			return err
		},
		func() error {
			_, err := client.For[*api.Secret](c, "secrets").Namespace("team").Create(ctx, &api.Secret{ObjectMeta: api.ObjectMeta{Name: "s"},
				Data: map[string][]byte{"a": []byte("b")}})
			return err
		},
	} {
		if err := create(); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, "pod bound", func() (bool, string) {
		p, err := client.Pods(c).Namespace("team").Get(ctx, "p")
		return err == nil && p.Status.Phase == api.PodRunning, fmt.Sprint(err)
	})
	if err := client.Namespaces(c).Delete(ctx, "team", nil); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "namespace gone", func() (bool, string) {
		ns, err := client.Namespaces(c).Get(ctx, "team")
		if api.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("phase %s finalizers %v", ns.Status.Phase, ns.Spec.Finalizers)
	})
	for _, ri := range api.Resources() {
		if !ri.Namespaced {
			continue
		}
		raw, err := client.Dynamic(c, &ri, "team").List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var list api.List[api.PartialObjectMetadata]
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 0 {
			t.Errorf("%d %s left in the deleted namespace", len(list.Items), ri.Resource)
		}
	}
}
