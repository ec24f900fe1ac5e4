package apiserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/store"
)

// Service cluster IPs and node ports are allocated race-free by creating one store key per
// allocated value (/registry/serviceips/<ip>, /registry/servicenodeports/<port>) whose
// value names the owning service: etcd's create-if-absent decides between two services
// asking for the same value at once. Keys are deleted when the service is deleted or stops
// using the value.

const (
	ipKeyResource   = "serviceips"
	portKeyResource = "servicenodeports"
)

type allocator struct {
	st    *store.Store
	cidr  netip.Prefix
	base  uint32 // first usable address (network + 1)
	size  uint32 // usable addresses (no network, no broadcast)
	ports PortRange

	mu       sync.Mutex
	nextIP   uint32 // offset hint of the next address to try
	nextPort int
}

// allocation is what one write allocated, to release if the write fails.
type allocation struct{ keys []string }

func newAllocator(st *store.Store, cidr string, ports PortRange) (*allocator, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", cidr, err)
	}
	p = p.Masked()
	a4 := p.Addr().As4()
	n := uint32(1) << (32 - p.Bits())
	return &allocator{
		st: st, cidr: p, base: binary.BigEndian.Uint32(a4[:]) + 1, size: n - 2, ports: ports,
		nextIP: rand.Uint32N(n - 2), nextPort: ports.Min + rand.IntN(ports.Max-ports.Min+1),
	}, nil
}

func (a *allocator) ipAt(off uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a.base+off)
	return netip.AddrFrom4(b).String()
}

func owner(svc *api.Service) string { return svc.Namespace + "/" + svc.Name }

func needsNodePorts(svc *api.Service) bool {
	return svc.Spec.Type == api.ServiceNodePort || svc.Spec.Type == api.ServiceLoadBalancer
}

func needsClusterIP(svc *api.Service) bool { return svc.Spec.ClusterIP != "None" }

// patchAllocatedValues keeps the cluster IP and node ports an update leaves unset, and drops
// node ports the update left as they were when the service stops needing them, as
// Kubernetes does.
func patchAllocatedValues(svc, old *api.Service) {
	if needsClusterIP(old) && svc.Spec.ClusterIP == "" {
		svc.Spec.ClusterIP = old.Spec.ClusterIP
		if len(svc.Spec.ClusterIPs) == 0 {
			svc.Spec.ClusterIPs = old.Spec.ClusterIPs
		}
	}
	oldPorts := map[string]int32{}
	for _, p := range old.Spec.Ports {
		oldPorts[strconv.Itoa(int(p.Port))+"/"+p.Protocol] = p.NodePort
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		np, had := oldPorts[strconv.Itoa(int(p.Port))+"/"+proto]
		switch {
		case needsNodePorts(svc) && needsNodePorts(old) && p.NodePort == 0 && had:
			p.NodePort = np
		case !needsNodePorts(svc) && needsNodePorts(old) && had && p.NodePort == np:
			p.NodePort = 0
		}
	}
}

// allocate gives svc a cluster IP and node ports (keeping old's, for an update), refusing
// taken or out-of-range values with 422. With dryRun it checks without allocating.
func (a *allocator) allocate(ctx context.Context, svc, old *api.Service, dryRun bool) (*allocation, error) {
	al := &allocation{}
	fail := func(err error) (*allocation, error) {
		a.release(ctx, al)
		return nil, err
	}
	name := owner(svc)
	gk := api.GroupKind{Kind: "Service"}
	switch {
	case svc.Spec.ClusterIP == "None":
		svc.Spec.ClusterIPs = []string{"None"}
	case old != nil && svc.Spec.ClusterIP == old.Spec.ClusterIP && svc.Spec.ClusterIP != "":
		// Unchanged: still ours.
	case svc.Spec.ClusterIP == "":
		ip, err := a.allocateIP(ctx, name, al, dryRun)
		if err != nil {
			return fail(err)
		}
		svc.Spec.ClusterIP = ip
		svc.Spec.ClusterIPs = []string{ip}
	default:
		ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
		if err != nil {
			return fail(api.Invalid(gk, svc.Name, api.FieldErrors{api.InvalidValue("spec.clusterIP", svc.Spec.ClusterIP, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")}))
		}
		if !a.inRange(ip) {
			return fail(api.Invalid(gk, svc.Name, api.FieldErrors{api.InvalidValue("spec.clusterIP", svc.Spec.ClusterIP,
				fmt.Sprintf("provided IP is not in the valid range. The range of valid IPs is %s", a.cidr))}))
		}
		ok, err := a.claim(ctx, store.Key(ipKeyResource, "", ip.String()), name, al, dryRun)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return fail(api.Invalid(gk, svc.Name, api.FieldErrors{api.InvalidValue("spec.clusterIP", svc.Spec.ClusterIP,
				"provided IP is already allocated")}))
		}
		svc.Spec.ClusterIPs = []string{ip.String()}
	}
	if svc.Spec.ClusterIP != "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	if !needsNodePorts(svc) {
		return al, nil
	}
	mine := map[int32]bool{}
	if old != nil && needsNodePorts(old) {
		for _, p := range old.Spec.Ports {
			mine[p.NodePort] = true
		}
	}
	seen := map[int32]bool{}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		path := api.Path("spec").Child("ports").Index(i).Child("nodePort")
		switch {
		case p.NodePort != 0 && seen[p.NodePort]:
			return fail(api.Invalid(gk, svc.Name, api.FieldErrors{api.Duplicate(path, p.NodePort)}))
		case p.NodePort != 0 && mine[p.NodePort]:
		case p.NodePort == 0:
			port, err := a.allocatePort(ctx, name, al, dryRun)
			if err != nil {
				return fail(err)
			}
			p.NodePort = port
		default:
			if int(p.NodePort) < a.ports.Min || int(p.NodePort) > a.ports.Max {
				return fail(api.Invalid(gk, svc.Name, api.FieldErrors{api.InvalidValue(path, p.NodePort,
					fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", a.ports.Min, a.ports.Max))}))
			}
			ok, err := a.claim(ctx, store.Key(portKeyResource, "", strconv.Itoa(int(p.NodePort))), name, al, dryRun)
			if err != nil {
				return fail(err)
			}
			if !ok {
				return fail(api.Invalid(gk, svc.Name, api.FieldErrors{api.InvalidValue(path, p.NodePort, "provided port is already allocated")}))
			}
		}
		seen[p.NodePort] = true
	}
	return al, nil
}

func (a *allocator) inRange(ip netip.Addr) bool {
	if !ip.Is4() || !a.cidr.Contains(ip) {
		return false
	}
	b := ip.As4()
	v := binary.BigEndian.Uint32(b[:])
	return v >= a.base && v < a.base+a.size
}

// claim creates key for owner and reports whether it was free. With dryRun it only looks.
func (a *allocator) claim(ctx context.Context, key, owner string, al *allocation, dryRun bool) (bool, error) {
	if dryRun {
		_, err := a.st.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		return false, err
	}
	_, err := a.st.Create(ctx, key, []byte(owner))
	switch {
	case err == nil:
		al.keys = append(al.keys, key)
		return true, nil
	case errors.Is(err, store.ErrExists):
		return false, nil
	}
	return false, api.InternalError(fmt.Errorf("allocate %s: %w", key, err))
}

func (a *allocator) allocateIP(ctx context.Context, owner string, al *allocation, dryRun bool) (string, error) {
	for range a.size {
		a.mu.Lock()
		off := a.nextIP % a.size
		a.nextIP = off + 1
		a.mu.Unlock()
		ip := a.ipAt(off)
		ok, err := a.claim(ctx, store.Key(ipKeyResource, "", ip), owner, al, dryRun)
		if err != nil {
			return "", err
		}
		if ok {
			return ip, nil
		}
	}
	return "", api.InternalError(fmt.Errorf("allocate a cluster IP: the range %s is full", a.cidr))
}

func (a *allocator) allocatePort(ctx context.Context, owner string, al *allocation, dryRun bool) (int32, error) {
	n := a.ports.Max - a.ports.Min + 1
	for range n {
		a.mu.Lock()
		port := a.nextPort
		a.nextPort++
		if a.nextPort > a.ports.Max {
			a.nextPort = a.ports.Min
		}
		a.mu.Unlock()
		ok, err := a.claim(ctx, store.Key(portKeyResource, "", strconv.Itoa(port)), owner, al, dryRun)
		if err != nil {
			return 0, err
		}
		if ok {
			return int32(port), nil
		}
	}
	return 0, api.InternalError(fmt.Errorf("allocate a node port: the range %d-%d is full", a.ports.Min, a.ports.Max))
}

// release frees what a failed write allocated.
func (a *allocator) release(ctx context.Context, al *allocation) {
	if al == nil {
		return
	}
	for _, k := range al.keys {
		a.st.Delete(context.WithoutCancel(ctx), k, 0)
	}
	al.keys = nil
}

// releaseUnused frees the values old holds that svc (nil once deleted) no longer uses.
func (a *allocator) releaseUnused(ctx context.Context, old, svc *api.Service) {
	ctx = context.WithoutCancel(ctx)
	used := map[string]bool{}
	if svc != nil {
		for _, k := range a.keysOf(svc) {
			used[k] = true
		}
	}
	for _, k := range a.keysOf(old) {
		if used[k] {
			continue
		}
		kv, err := a.st.Get(ctx, k)
		if err != nil || string(kv.Value) != owner(old) {
			continue
		}
		a.st.Delete(ctx, k, kv.Revision)
	}
}

// keysOf returns the allocation keys svc's values live at.
func (a *allocator) keysOf(svc *api.Service) []string {
	var out []string
	if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != "None" {
		out = append(out, store.Key(ipKeyResource, "", svc.Spec.ClusterIP))
	}
	if needsNodePorts(svc) {
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				out = append(out, store.Key(portKeyResource, "", strconv.Itoa(int(p.NodePort))))
			}
		}
	}
	return out
}
