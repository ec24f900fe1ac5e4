package servicelb_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/servicelb"
)

func start(t *testing.T, c *client.Client, pool netip.Prefix) {
	t.Helper()
	inf := controller.NewInformers(c)
	rec := client.NewRecorder(c, client.RecorderConfig{Component: servicelb.Name})
	ctrl, err := servicelb.New(servicelb.Config{Client: c, Informers: inf, Pool: pool, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rec.Start(ctx)
	done := make(chan struct{}, 2)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = ctrl.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; rec.Stop() })
}

func service(name, typ string) *api.Service {
	s := &api.Service{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"}}
	s.Spec.Type = typ
	s.Spec.Selector = map[string]string{"app": name}
	s.Spec.Ports = []api.ServicePort{{Port: 80}}
	return s
}

// ingressOf waits until the named service shows want ("" for no ingress).
func waitIngress(t *testing.T, c *client.Client, name, want string) {
	t.Helper()
	controllertest.Eventually(t, fmt.Sprintf("service %s with ingress %q", name, want), func() (bool, string) {
		s, err := client.Services(c).Namespace("default").Get(context.Background(), name)
		if err != nil {
			return false, err.Error()
		}
		got := ""
		for _, in := range s.Status.LoadBalancer.Ingress {
			got += in.IP
		}
		return got == want, "ingress " + got
	})
}

func TestAllocateReleaseExhaust(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	start(t, c, netip.MustParsePrefix("127.0.100.0/30")) // two addresses: .1 and .2
	ctx := context.Background()
	svcs := client.Services(c).Namespace("default")
	create := func(s *api.Service) {
		t.Helper()
		if _, err := svcs.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	setType := func(name, typ string) {
		t.Helper()
		s, err := svcs.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.Type = typ
		if typ == api.ServiceClusterIP {
			for i := range s.Spec.Ports {
				s.Spec.Ports[i].NodePort = 0
			}
		}
		if _, err := svcs.Update(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	create(service("a", api.ServiceLoadBalancer))
	waitIngress(t, c, "a", "127.0.100.1")
	create(service("b", api.ServiceLoadBalancer))
	waitIngress(t, c, "b", "127.0.100.2")
	create(service("plain", api.ServiceClusterIP))
	create(service("c", api.ServiceLoadBalancer))
	controllertest.Eventually(t, "an AllocationFailed event for c", func() (bool, string) {
		evs, err := client.Events(c).Namespace("default").List(ctx, client.ListOptions{FieldSelector: "involvedObject.name=c"})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if e.Reason == servicelb.ReasonAllocationFailed && e.Type == api.EventWarning {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(evs.Items))
	})
	waitIngress(t, c, "c", "")

	// a stops being a load balancer: its address is released and goes to c.
	setType("a", api.ServiceClusterIP)
	waitIngress(t, c, "a", "")
	waitIngress(t, c, "c", "127.0.100.1")

	// b goes away: its address goes to the next load balancer.
	if err := svcs.Delete(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	create(service("d", api.ServiceLoadBalancer))
	waitIngress(t, c, "d", "127.0.100.2")

	// a becomes a load balancer again, with no address left for it.
	setType("a", api.ServiceLoadBalancer)
	waitIngress(t, c, "c", "127.0.100.1")
	waitIngress(t, c, "d", "127.0.100.2")
	waitIngress(t, c, "a", "")
	waitIngress(t, c, "plain", "")

	// An address forged onto a second service is taken back from the younger one (d).
	s, err := svcs.Get(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	s.Status.LoadBalancer.Ingress = []api.LoadBalancerIngress{{IP: "127.0.100.1"}}
	if _, err := svcs.UpdateStatus(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitIngress(t, c, "d", "127.0.100.2")
	waitIngress(t, c, "c", "127.0.100.1")
	waitIngress(t, c, "a", "")
}
