package apiserver_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

const svcPath = "/api/v1/namespaces/default/services"

func service(name, typ string, nodePort int) map[string]any {
	port := map[string]any{"port": 80, "targetPort": 8080}
	if nodePort != 0 {
		port["nodePort"] = nodePort
	}
	spec := map[string]any{"selector": map[string]any{"app": name}, "ports": []any{port}}
	if typ != "" {
		spec["type"] = typ
	}
	return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": name}, "spec": spec}
}

func TestServiceAllocation(t *testing.T) {
	e := start(t)
	cidr := netip.MustParsePrefix("10.43.0.0/16")

	var s api.Service
	e.must(http.StatusCreated, "POST", svcPath, service("web", "", 0)).decode(t, &s)
	ip, err := netip.ParseAddr(s.Spec.ClusterIP)
	if err != nil || !cidr.Contains(ip) || len(s.Spec.ClusterIPs) != 1 || s.Spec.ClusterIPs[0] != s.Spec.ClusterIP {
		t.Fatalf("clusterIP %q %v", s.Spec.ClusterIP, s.Spec.ClusterIPs)
	}
	if s.Spec.Type != "ClusterIP" || s.Spec.Ports[0].NodePort != 0 {
		t.Fatalf("ClusterIP service %+v", s.Spec)
	}

	headless := service("headless", "", 0)
	headless["spec"].(map[string]any)["clusterIP"] = "None"
	e.must(http.StatusCreated, "POST", svcPath, headless).decode(t, &s)
	if s.Spec.ClusterIP != "None" {
		t.Fatalf("headless clusterIP %q", s.Spec.ClusterIP)
	}

	var np api.Service
	e.must(http.StatusCreated, "POST", svcPath, service("np", "NodePort", 0)).decode(t, &np)
	if p := np.Spec.Ports[0].NodePort; p < 30000 || p > 32767 {
		t.Fatalf("allocated nodePort %d", p)
	}
	taken := np.Spec.Ports[0].NodePort

	cases := []struct {
		name  string
		body  map[string]any
		field string
		msg   string
	}{
		{"node port taken", service("dup", "NodePort", int(taken)), "spec.ports[0].nodePort", "provided port is already allocated"},
		{"node port out of range", service("far", "NodePort", 80), "spec.ports[0].nodePort", "provided port is not in the valid range"},
		{"cluster IP out of range", func() map[string]any {
			b := service("ip", "", 0)
			b["spec"].(map[string]any)["clusterIP"] = "192.168.1.1"
			return b
		}(), "spec.clusterIP", "not in the valid range"},
		{"cluster IP taken", func() map[string]any {
			b := service("ip2", "", 0)
			b["spec"].(map[string]any)["clusterIP"] = np.Spec.ClusterIP
			return b
		}(), "spec.clusterIP", "already allocated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := e.must(http.StatusUnprocessableEntity, "POST", svcPath, c.body).status(t)
			if len(st.Details.Causes) == 0 || st.Details.Causes[0].Field != c.field || !strings.Contains(st.Message, c.msg) {
				t.Fatalf("status %+v", st)
			}
		})
	}

	// Changing the type releases the node port; deleting releases the IP.
	e.must(http.StatusOK, "PATCH", svcPath+"/np", `{"spec":{"type":"ClusterIP"}}`, contentType("application/merge-patch+json")).decode(t, &s)
	if s.Spec.Ports[0].NodePort != 0 || s.Spec.ClusterIP != np.Spec.ClusterIP {
		t.Fatalf("after type change: %+v", s.Spec)
	}
	e.must(http.StatusCreated, "POST", svcPath, service("reuse", "NodePort", int(taken)))
	e.must(http.StatusOK, "DELETE", svcPath+"/np", nil)
	reuse := service("reuse-ip", "", 0)
	reuse["spec"].(map[string]any)["clusterIP"] = np.Spec.ClusterIP
	e.must(http.StatusCreated, "POST", svcPath, reuse)

	// An update keeps what was allocated even when the client leaves it out.
	var lb api.Service
	e.must(http.StatusCreated, "POST", svcPath, service("lb", "LoadBalancer", 0)).decode(t, &lb)
	e.must(http.StatusOK, "PATCH", svcPath+"/lb", `{"spec":{"ports":[{"port":80,"targetPort":9090}]}}`,
		contentType("application/merge-patch+json")).decode(t, &s)
	if s.Spec.Ports[0].NodePort != lb.Spec.Ports[0].NodePort {
		t.Fatalf("nodePort changed on update: %d -> %d", lb.Spec.Ports[0].NodePort, s.Spec.Ports[0].NodePort)
	}
}

// TestServiceAllocationRace creates services asking for the same node port at once: one
// gets it.
func TestServiceAllocationRace(t *testing.T) {
	e := start(t)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do("POST", svcPath, service(fmt.Sprint("s", i), "NodePort", 31000)).code
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			won++
		case http.StatusUnprocessableEntity:
		default:
			t.Errorf("unexpected code %d", c)
		}
	}
	if won != 1 {
		t.Fatalf("%d services got node port 31000, want 1 (%v)", won, codes)
	}
}
