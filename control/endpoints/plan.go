// Package endpoints owns the endpoints controller: for every Service with a selector it keeps
// an Endpoints object of the same name listing the pods the selector matches, ready ones in
// addresses and the others in notReadyAddresses, with ports resolved from targetPort, as
// Kubernetes' endpoints controller. Services without a selector are left alone (their
// Endpoints are written by hand). It does not route traffic; the runners' proxies read the
// Endpoints it writes.
package endpoints

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/controller"
)

// LabelHeadless marks the Endpoints of a headless Service (clusterIP None), as in Kubernetes.
const LabelHeadless = "service.kubernetes.io/headless"

// Manages reports whether the controller writes the Endpoints of svc: it has a selector.
func Manages(svc *api.Service) bool { return svc.Spec.Selector != nil }

// Desired is the Endpoints svc should have given the pods of its namespace: one address per
// selected pod that is not terminating or finished and has an IP (status.podIP, else
// status.hostIP), for each service port the pod resolves (a number, or a named containerPort
// with the same protocol); subsets group addresses that serve the same ports. Pods whose named
// port cannot be resolved are left out of that port. The result is in a canonical order, so
// comparing it with what is stored tells whether to write.
func Desired(svc *api.Service, pods []*api.Pod) *api.Endpoints {
	ep := &api.Endpoints{
		TypeMeta:   api.TypeMeta{Kind: "Endpoints", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, Labels: endpointLabels(svc)},
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	headless := svc.Spec.ClusterIP == "None"
	g := newGrouper()
	for _, pod := range pods {
		if pod.Namespace != svc.Namespace || !sel.Matches(labels.Set(pod.Labels)) || !serving(pod) {
			continue
		}
		ip := pod.Status.PodIP
		if ip == "" {
			ip = pod.Status.HostIP
		}
		if ip == "" {
			continue
		}
		addr := api.EndpointAddress{
			IP:        ip,
			TargetRef: &api.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if pod.Spec.NodeName != "" {
			addr.NodeName = api.Ptr(pod.Spec.NodeName)
		}
		ready := controller.IsPodReady(pod)
		if len(svc.Spec.Ports) == 0 {
			if headless {
				g.add(addr, ready, api.EndpointPort{Port: -1})
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, ok := FindPort(pod, sp)
			if !ok {
				continue
			}
			g.add(addr, ready, api.EndpointPort{Name: sp.Name, Port: port, Protocol: protocol(sp.Protocol)})
		}
	}
	ep.Subsets = g.subsets()
	return ep
}

func endpointLabels(svc *api.Service) map[string]string {
	var l map[string]string
	if len(svc.Labels) > 0 || svc.Spec.ClusterIP == "None" {
		l = make(map[string]string, len(svc.Labels)+1)
	}
	for k, v := range svc.Labels {
		l[k] = v
	}
	if svc.Spec.ClusterIP == "None" {
		l[LabelHeadless] = ""
	}
	return l
}

// serving reports whether pod belongs in endpoints at all: not terminating, not finished.
func serving(p *api.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != api.PodSucceeded && p.Status.Phase != api.PodFailed
}

func protocol(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

// FindPort resolves a service port's targetPort on pod: a number as is (the service port when
// unset), a name through the pod's containerPorts of the same protocol.
func FindPort(pod *api.Pod, sp *api.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if !tp.IsString {
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == tp.StrVal && protocol(cp.Protocol) == protocol(sp.Protocol) {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// grouper repacks (address, port) pairs into subsets of addresses sharing one set of ports,
// as Kubernetes' RepackSubsets. Addresses are numbered in the order of their sort keys once
// all are known, so grouping and sorting compare integers.
type grouper struct {
	keys   []string
	addrs  []api.EndpointAddress
	index  map[string]int
	byPort map[api.EndpointPort]map[int]bool // port -> address index -> ready
}

func newGrouper() *grouper {
	return &grouper{index: map[string]int{}, byPort: map[api.EndpointPort]map[int]bool{}}
}

func addrKey(a *api.EndpointAddress) string {
	k := a.IP
	if a.TargetRef != nil {
		k += "/" + a.TargetRef.UID + "/" + a.TargetRef.Name
	}
	return k
}

func (g *grouper) add(a api.EndpointAddress, ready bool, p api.EndpointPort) {
	k := addrKey(&a)
	i, ok := g.index[k]
	if !ok {
		i = len(g.addrs)
		g.index[k] = i
		g.addrs = append(g.addrs, a)
		g.keys = append(g.keys, k)
	}
	m := g.byPort[p]
	if m == nil {
		m = map[int]bool{}
		g.byPort[p] = m
	}
	m[i] = ready
}

func (g *grouper) subsets() []api.EndpointSubset {
	// rank[i] is address i's position in key order.
	order := make([]int, len(g.addrs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return g.keys[order[a]] < g.keys[order[b]] })
	rank := make([]int, len(order))
	for r, i := range order {
		rank[i] = r
	}
	type group struct {
		members []int // address indices in key order
		ready   map[int]bool
		ports   []api.EndpointPort
	}
	groups := map[string]*group{}
	var ids []string
	for port, set := range g.byPort {
		members := make([]int, 0, len(set))
		for i := range set {
			members = append(members, i)
		}
		sort.Slice(members, func(a, b int) bool { return rank[members[a]] < rank[members[b]] })
		var id strings.Builder
		for _, i := range members {
			id.WriteString(strconv.Itoa(rank[i]))
			if set[i] {
				id.WriteByte('+')
			} else {
				id.WriteByte('-')
			}
		}
		gr := groups[id.String()]
		if gr == nil {
			gr = &group{members: members, ready: set}
			groups[id.String()] = gr
			ids = append(ids, id.String())
		}
		if port.Port > 0 {
			gr.ports = append(gr.ports, port)
		}
	}
	out := make([]api.EndpointSubset, 0, len(groups))
	for _, id := range ids {
		gr := groups[id]
		var s api.EndpointSubset
		for _, i := range gr.members {
			if gr.ready[i] {
				s.Addresses = append(s.Addresses, g.addrs[i])
			} else {
				s.NotReadyAddresses = append(s.NotReadyAddresses, g.addrs[i])
			}
		}
		sort.Slice(gr.ports, func(i, j int) bool { return portLess(gr.ports[i], gr.ports[j]) })
		s.Ports = gr.ports
		out = append(out, s)
	}
	// The group ids are canonical (ranks in key order), so they order the subsets too.
	sort.Sort(bySubsetKey{out, ids})
	return out
}

type bySubsetKey struct {
	s    []api.EndpointSubset
	keys []string
}

func (b bySubsetKey) Len() int           { return len(b.s) }
func (b bySubsetKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b bySubsetKey) Swap(i, j int) {
	b.s[i], b.s[j] = b.s[j], b.s[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

func portLess(a, b api.EndpointPort) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return a.Protocol < b.Protocol
}

// NeedsWrite reports whether stored (nil when none exists) differs from want in what the
// controller owns: the subsets and the labels.
func NeedsWrite(stored, want *api.Endpoints) bool {
	if stored == nil {
		return true
	}
	return !sameJSON(stored.Subsets, want.Subsets) || !sameJSON(stored.Labels, want.Labels)
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
