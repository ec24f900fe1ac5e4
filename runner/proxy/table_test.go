package proxy

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func ptr[T any](v T) *T { return &v }

func addr(pod, node string) api.EndpointAddress {
	return api.EndpointAddress{IP: "10.0.0.1", NodeName: ptr(node), TargetRef: &api.ObjectReference{Kind: "Pod", Name: pod}}
}

// names lists a route port's endpoints as pod@node:port.
func names(rp *routePort) []string {
	var out []string
	for _, e := range rp.eps {
		out = append(out, fmt.Sprintf("%s/%s@%s:%d", e.namespace, e.pod, e.node, e.port))
	}
	return out
}

func TestBuildRoute(t *testing.T) {
	svc := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: api.ServiceSpec{Ports: []api.ServicePort{{Name: "http", Port: 80}, {Name: "admin", Port: 9000}}}}
	tests := []struct {
		name string
		eps  *api.Endpoints
		want map[int][]string // service port -> endpoints
	}{
		{"no endpoints object", nil, map[int][]string{80: nil, 9000: nil}},
		{"ports matched by name", &api.Endpoints{Subsets: []api.EndpointSubset{{
			Addresses: []api.EndpointAddress{addr("p1", "a"), addr("p2", "b")},
			Ports:     []api.EndpointPort{{Name: "admin", Port: 9901}, {Name: "http", Port: 8080}},
		}}}, map[int][]string{80: {"ns/p1@a:8080", "ns/p2@b:8080"}, 9000: {"ns/p1@a:9901", "ns/p2@b:9901"}}},
		{"not ready addresses are never used", &api.Endpoints{Subsets: []api.EndpointSubset{{
			Addresses:         []api.EndpointAddress{addr("p1", "a")},
			NotReadyAddresses: []api.EndpointAddress{addr("p2", "a")},
			Ports:             []api.EndpointPort{{Name: "http", Port: 8080}},
		}}}, map[int][]string{80: {"ns/p1@a:8080"}, 9000: nil}},
		{"addresses without a pod are skipped", &api.Endpoints{Subsets: []api.EndpointSubset{{
			Addresses: []api.EndpointAddress{{IP: "10.0.0.9"}, addr("p1", "a"),
				{IP: "10.0.0.8", TargetRef: &api.ObjectReference{Kind: "Node", Name: "x"}}},
			Ports: []api.EndpointPort{{Name: "http", Port: 8080}},
		}}}, map[int][]string{80: {"ns/p1@a:8080"}, 9000: nil}},
		{"subsets with different ports", &api.Endpoints{Subsets: []api.EndpointSubset{
			{Addresses: []api.EndpointAddress{addr("p1", "a")}, Ports: []api.EndpointPort{{Name: "http", Port: 8080}}},
			{Addresses: []api.EndpointAddress{addr("p2", "a")}, Ports: []api.EndpointPort{{Name: "http", Port: 8081}}},
		}}, map[int][]string{80: {"ns/p1@a:8080", "ns/p2@a:8081"}, 9000: nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := buildRoute(svc, tt.eps, nil)
			got := map[int][]string{}
			for _, rp := range r.ports {
				got[rp.port] = names(rp)
			}
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("route = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBuildRouteKeepsEndpoints checks that a rebuild keeps the endpoint values (and their
// in-flight counts) of the pods that stay.
func TestBuildRouteKeepsEndpoints(t *testing.T) {
	svc := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: api.ServiceSpec{Ports: []api.ServicePort{{Name: "http", Port: 80}}}}
	eps := func(pods ...string) *api.Endpoints {
		ss := api.EndpointSubset{Ports: []api.EndpointPort{{Name: "http", Port: 8080}}}
		for _, p := range pods {
			ss.Addresses = append(ss.Addresses, addr(p, "a"))
		}
		return &api.Endpoints{Subsets: []api.EndpointSubset{ss}}
	}
	r1, used := buildRoute(svc, eps("p1", "p2"), nil)
	r1.ports[0].eps[1].inflight.Add(5)
	r2, used2 := buildRoute(svc, eps("p2", "p3"), used)
	if r2.ports[0].eps[0] != r1.ports[0].eps[1] || r2.ports[0].eps[0].inflight.Load() != 5 {
		t.Fatal("p2's endpoint was not kept across the rebuild")
	}
	if len(used2) != 2 {
		t.Fatalf("rebuild keeps %d endpoints, want 2 (p1 dropped)", len(used2))
	}
}

func TestFrontDoors(t *testing.T) {
	ports := []api.ServicePort{{Name: "http", Port: 80, NodePort: 30080}, {Name: "udp", Protocol: "UDP", Port: 53, NodePort: 30053}}
	lb := api.ServiceStatus{LoadBalancer: api.LoadBalancerStatus{Ingress: []api.LoadBalancerIngress{{IP: "10.1.0.5"}, {Hostname: "x.example"}}}}
	tests := []struct {
		name   string
		typ    string
		status api.ServiceStatus
		want   map[string]int
	}{
		{"ClusterIP", api.ServiceClusterIP, api.ServiceStatus{}, map[string]int{}},
		{"NodePort", api.ServiceNodePort, api.ServiceStatus{}, map[string]int{"127.0.0.2:30080": 80}},
		{"LoadBalancer", api.ServiceLoadBalancer, lb, map[string]int{"127.0.0.2:30080": 80, "10.1.0.5:80": 80}},
		{"LoadBalancer without address yet", api.ServiceLoadBalancer, api.ServiceStatus{}, map[string]int{"127.0.0.2:30080": 80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &api.Service{Spec: api.ServiceSpec{Type: tt.typ, Ports: ports}, Status: tt.status}
			if got := frontDoors(svc, "127.0.0.2"); !maps.Equal(got, tt.want) {
				t.Fatalf("frontDoors = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPick holds both balancers against plain definitions: round robin visits every endpoint
// once per cycle; least requests always takes an endpoint with the fewest in flight; neither
// returns an endpoint already tried.
func TestPick(t *testing.T) {
	for _, least := range []bool{false, true} {
		t.Run(fmt.Sprintf("leastRequests=%v", least), func(t *testing.T) {
			r := &route{leastRequests: least}
			rp := &routePort{route: r}
			for i := range 5 {
				rp.eps = append(rp.eps, &endpoint{pod: fmt.Sprint("p", i)})
			}
			for round := range 200 {
				for i, e := range rp.eps {
					e.inflight.Store(int64((round*7 + i*3) % 4))
				}
				if !least {
					for _, e := range rp.eps {
						e.inflight.Store(0)
					}
				}
				tried := []*endpoint{rp.eps[round%5]}
				got := rp.pick(tried)
				if got == nil || contains(tried, got) {
					t.Fatalf("round %d: pick = %v, tried %v", round, got, tried)
				}
				if least {
					for _, e := range rp.eps {
						if !contains(tried, e) && e.inflight.Load() < got.inflight.Load() {
							t.Fatalf("round %d: picked %s with %d in flight, %s has %d", round, got.pod, got.inflight.Load(), e.pod, e.inflight.Load())
						}
					}
				}
			}
			if rp.pick(rp.eps) != nil {
				t.Fatal("pick with every endpoint tried must return nil")
			}
			if !least {
				seen := map[*endpoint]int{}
				for range 50 {
					seen[rp.pick(nil)]++
				}
				for _, e := range rp.eps {
					if seen[e] != 10 {
						t.Fatalf("round robin over 50 picks: %s got %d, want 10", e.pod, seen[e])
					}
				}
			}
		})
	}
}

func TestRemoveHopHeaders(t *testing.T) {
	h := http.Header{
		"Connection":        {"keep-alive, X-Custom"},
		"X-Custom":          {"1"},
		"Keep-Alive":        {"timeout=5"},
		"Transfer-Encoding": {"chunked"},
		"Upgrade":           {"h2c"},
		"Te":                {"trailers"},
		"X-Kept":            {"yes"},
	}
	removeHopHeaders(h)
	if len(h) != 1 || h.Get("X-Kept") != "yes" {
		t.Fatalf("after removeHopHeaders: %v, want only X-Kept", h)
	}
}

func TestLookupNames(t *testing.T) {
	p := &Proxy{entries: map[string]*entry{}, byIP: map[string]*entry{}}
	hello := &entry{key: "default/hello"}
	other := &entry{key: "team/hello"}
	p.entries["default/hello"], p.entries["team/hello"] = hello, other
	p.byIP["10.96.0.10"] = hello
	tests := []struct {
		host string
		want *entry
	}{
		{"hello", hello},
		{"hello.default", hello},
		{"hello.team", other},
		{"hello.team.svc", other},
		{"hello.team.svc.cluster.local", other},
		{"10.96.0.10", hello},
		{"10.96.0.11", nil},
		{"hello.team.svc.cluster", nil},
		{"hello.team.pod", nil},
		{"nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := p.lookup("default", tt.host); got != tt.want {
				t.Fatalf("lookup(default, %s) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}
