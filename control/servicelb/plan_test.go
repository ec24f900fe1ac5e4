package servicelb

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func svc(name, typ string, age time.Duration, ips ...string) *api.Service {
	s := &api.Service{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default",
		CreationTimestamp: api.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-age))}}
	s.Spec.Type = typ
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, api.LoadBalancerIngress{IP: ip})
	}
	return s
}

func TestPlan(t *testing.T) {
	pool := netip.MustParsePrefix("10.0.0.0/30") // .1 and .2 usable
	lb := api.ServiceLoadBalancer
	deleting := svc("x", lb, time.Hour, "10.0.0.1")
	deleting.DeletionTimestamp = &api.Time{Time: time.Now()}
	for _, tc := range []struct {
		name   string
		target *api.Service
		others []*api.Service
		pool   netip.Prefix
		want   string // "" for none
		ok     bool
	}{
		{"first address", svc("a", lb, 0), nil, pool, "10.0.0.1", true},
		{"next free", svc("a", lb, 0), []*api.Service{svc("b", lb, 0, "10.0.0.1")}, pool, "10.0.0.2", true},
		{"keeps its own", svc("a", lb, 0, "10.0.0.2"), nil, pool, "10.0.0.2", true},
		{"exhausted", svc("a", lb, 0), []*api.Service{svc("b", lb, 0, "10.0.0.1"), svc("c", lb, 0, "10.0.0.2")}, pool, "", false},
		{"not a load balancer", svc("a", api.ServiceClusterIP, 0, "10.0.0.1"), nil, pool, "", true},
		{"being deleted", deleting, nil, pool, "", true},
		{"out of the pool", svc("a", lb, 0, "192.168.1.1"), nil, pool, "10.0.0.1", true},
		{"older holder wins", svc("a", lb, 0, "10.0.0.1"), []*api.Service{svc("b", lb, time.Hour, "10.0.0.1")}, pool, "10.0.0.2", true},
		{"younger holder loses", svc("a", lb, time.Hour, "10.0.0.1"), []*api.Service{svc("b", lb, 0, "10.0.0.1")}, pool, "10.0.0.1", true},
		{"address of a ClusterIP service is free", svc("a", lb, 0), []*api.Service{svc("b", api.ServiceClusterIP, 0, "10.0.0.1")}, pool, "10.0.0.1", true},
		{"single address pool", svc("a", lb, 0), nil, netip.MustParsePrefix("10.0.0.7/32"), "10.0.0.7", true},
		{"IPv6 pool", svc("a", lb, 0), []*api.Service{svc("b", lb, 0, "fd00::")}, netip.MustParsePrefix("fd00::/120"), "fd00::1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := append([]*api.Service{tc.target}, tc.others...)
			got, ok := Plan(tc.target, "default/"+tc.target.Name, Claims(all, tc.pool), tc.pool)
			want := []api.LoadBalancerIngress(nil)
			if tc.want != "" {
				want = []api.LoadBalancerIngress{{IP: tc.want}}
			}
			if ok != tc.ok || !SameIngress(got, want) {
				t.Fatalf("got %v %v, want %v %v", got, ok, want, tc.ok)
			}
		})
	}
}

// TestPlanOwnWrittenClaim: an address a Service was given but its cache entry does not show yet
// (a written claim) is still free for that Service, so a forged address taken back from it
// leaves it the one it was given.
func TestPlanOwnWrittenClaim(t *testing.T) {
	pool := netip.MustParsePrefix("10.0.0.0/30")
	c := svc("c", api.ServiceLoadBalancer, time.Hour, "10.0.0.1")
	d := svc("d", api.ServiceLoadBalancer, 0, "10.0.0.1") // younger, forged onto c's address
	claims := append(Claims([]*api.Service{c, d}, pool),
		Claim{Key: "default/d", Created: d.CreationTimestamp, Addr: netip.MustParseAddr("10.0.0.2")})
	got, ok := Plan(d, "default/d", claims, pool)
	if !ok || !SameIngress(got, []api.LoadBalancerIngress{{IP: "10.0.0.2"}}) {
		t.Fatalf("got %v %v, want 10.0.0.2", got, ok)
	}
}

func BenchmarkPlanFullPool(b *testing.B) {
	pool := netip.MustParsePrefix("10.0.0.0/22")
	var all []*api.Service
	for a := first(pool); len(all) < 1000; a = a.Next() {
		all = append(all, svc(fmt.Sprint("s", len(all)), api.ServiceLoadBalancer, 0, a.String()))
	}
	target := svc("new", api.ServiceLoadBalancer, 0)
	all = append(all, target)
	b.ResetTimer()
	for b.Loop() {
		Plan(target, "default/new", Claims(all, pool), pool)
	}
}
