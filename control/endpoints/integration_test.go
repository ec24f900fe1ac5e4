package endpoints_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/endpoints"
)

func TestEndpointsFollowReadiness(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{})
	inf := controller.NewInformers(c)
	ec, err := endpoints.New(endpoints.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = ec.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	pods := client.Pods(c).Namespace("default")
	for _, name := range []string{"web-1", "web-2"} {
		_, err := pods.Create(ctx, &api.Pod{
			ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1",
				Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = client.Services(c).Namespace("default").Create(ctx, &api.Service{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []api.ServicePort{{Name: "http", Port: 80, TargetPort: api.FromString("http")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(ready, notReady string) {
		t.Helper()
		controllertest.Eventually(t, "endpoints "+ready+" | "+notReady, func() (bool, string) {
			ep, err := client.Endpoints(c).Namespace("default").Get(ctx, "web")
			if err != nil {
				return false, err.Error()
			}
			var r, n []string
			for _, s := range ep.Subsets {
				for _, x := range s.Addresses {
					r = append(r, x.TargetRef.Name)
				}
				for _, x := range s.NotReadyAddresses {
					n = append(n, x.TargetRef.Name)
				}
				if len(s.Ports) != 1 || s.Ports[0].Port != 8080 {
					return false, fmt.Sprintf("ports %+v", s.Ports)
				}
			}
			got := strings.Join(r, " ") + " | " + strings.Join(n, " ")
			return got == ready+" | "+notReady, got
		})
	}
	expect("web-1 web-2", "")
	if err := controllertest.SetReady(ctx, c, "default", "web-2", false); err != nil {
		t.Fatal(err)
	}
	expect("web-1", "web-2")
	if err := controllertest.SetReady(ctx, c, "default", "web-2", true); err != nil {
		t.Fatal(err)
	}
	expect("web-1 web-2", "")
	if err := pods.Delete(ctx, "web-1", nil); err != nil {
		t.Fatal(err)
	}
	expect("web-2", "")
	if err := client.Services(c).Namespace("default").Delete(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "endpoints deleted with their service", func() (bool, string) {
		_, err := client.Endpoints(c).Namespace("default").Get(ctx, "web")
		return api.IsNotFound(err), fmt.Sprint(err)
	})
}
