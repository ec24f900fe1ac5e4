// Package servicelb owns the load balancer addresses of Services of type LoadBalancer: each
// gets one ingress IP from a configured pool, written to status.loadBalancer.ingress through
// the status subresource, as a cloud's service controller (or k3s' servicelb, MetalLB) does.
// An address is held by one Service at a time; it returns to the pool when the Service changes
// to another type or is deleted. When the pool is exhausted the Service gets a warning event
// and no ingress, and is retried when an address is freed.
//
// It does not route traffic to the addresses: runners' proxies listen on them. Which addresses
// are in use is derived from the Services themselves (the informer cache), so nothing else
// needs to be stored.
package servicelb

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/wasmkube/wasmkube/control/api"
)

// Name names the controller in logs and events.
const Name = "servicelb"

// DefaultPool is the pool callers use when none is configured: loopback addresses, so a
// one-machine cluster's LoadBalancer services are reachable without any network set-up.
var DefaultPool = netip.MustParsePrefix("127.0.100.0/24")

// Claim is one Service's hold on an address, as read from its status.
type Claim struct {
	// Key is the Service's "namespace/name".
	Key string
	// Created orders claims: of two Services showing the same address, the older keeps it.
	Created api.Time
	Addr    netip.Addr
}

// Wants reports whether svc should have a load balancer address.
func Wants(svc *api.Service) bool {
	return svc.Spec.Type == api.ServiceLoadBalancer && svc.DeletionTimestamp == nil
}

// Claims lists the addresses of pool that the Services show in their status, for Services that
// want one.
func Claims(svcs []*api.Service, pool netip.Prefix) []Claim {
	out := make([]Claim, 0, len(svcs))
	for _, s := range svcs {
		if !Wants(s) {
			continue
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil && pool.Contains(a) {
				out = append(out, Claim{Key: s.Namespace + "/" + s.Name, Created: s.CreationTimestamp, Addr: a})
			}
		}
	}
	return out
}

// Plan returns the ingress svc should have, given every claim on the pool (svc's own
// included): nothing when svc does not want an address; its current address when it is in the
// pool and no older Service claims it too; otherwise the lowest free address of the pool. ok
// is false when svc wants an address and none is free.
func Plan(svc *api.Service, key string, claims []Claim, pool netip.Prefix) (ingress []api.LoadBalancerIngress, ok bool) {
	if !Wants(svc) {
		return nil, true
	}
	holder := make(map[netip.Addr]Claim, len(claims)) // the older claim of each address
	for _, c := range claims {
		if h, seen := holder[c.Addr]; !seen || older(c, h) {
			holder[c.Addr] = c
		}
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		a, err := netip.ParseAddr(in.IP)
		if err != nil || !pool.Contains(a) {
			continue
		}
		if h, seen := holder[a]; !seen || h.Key == key {
			return []api.LoadBalancerIngress{{IP: a.String()}}, true
		}
	}
	for a := first(pool); a.IsValid() && pool.Contains(a); a = a.Next() {
		if isBroadcast(a, pool) {
			break
		}
		if h, taken := holder[a]; !taken || h.Key == key {
			return []api.LoadBalancerIngress{{IP: a.String()}}, true
		}
	}
	return nil, false
}

// older orders claims by creation time, then key.
func older(a, b Claim) bool {
	if c := a.Created.Compare(b.Created.Time); c != 0 {
		return c < 0
	}
	return cmp.Less(a.Key, b.Key)
}

// first is the first usable address of pool: past the network address of IPv4 pools larger
// than /31.
func first(pool netip.Prefix) netip.Addr {
	a := pool.Masked().Addr()
	if a.Is4() && pool.Bits() < 31 {
		a = a.Next()
	}
	return a
}

// isBroadcast reports whether a is the last address of an IPv4 pool larger than /31.
func isBroadcast(a netip.Addr, pool netip.Prefix) bool {
	return a.Is4() && pool.Bits() < 31 && !pool.Contains(a.Next())
}

// SameIngress reports whether two ingress lists hold the same addresses in the same order.
func SameIngress(a, b []api.LoadBalancerIngress) bool {
	return slices.Equal(a, b)
}
