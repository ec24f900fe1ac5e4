package proxy

import (
	"net"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/wasmkube/wasmkube/control/api"
)

// endpoint is one ready pod port behind a Service port. The same value is kept across
// rebuilds of its Service's route while the pod stays ready, so its in-flight count survives
// Endpoints updates.
type endpoint struct {
	namespace, pod string
	node           string // "" when the Endpoints do not say
	port           int    // the pod's container port
	inflight       atomic.Int64
}

// endpointKey identifies an endpoint across rebuilds.
func endpointKey(ns, pod, node string, port int) string {
	return ns + "/" + pod + "@" + node + ":" + strconv.Itoa(port)
}

// route is an immutable snapshot of one Service: what requests to it are balanced over.
// Endpoint values (and their in-flight counts) may be shared with later snapshots.
type route struct {
	namespace, name string
	clusterIP       string
	leastRequests   bool
	ports           []*routePort
	metrics         *serviceMetrics
}

// routePort is one port of a Service and its ready endpoints, in the Endpoints' order.
type routePort struct {
	route    *route
	name     string
	port     int // the Service port (spec.ports[].port)
	nodePort int
	eps      []*endpoint
	next     atomic.Uint64 // round-robin cursor
}

// byPort returns the route's port numbered port, or nil.
func (r *route) byPort(port int) *routePort {
	for _, p := range r.ports {
		if p.port == port {
			return p
		}
	}
	return nil
}

// buildRoute builds the snapshot of svc from its Endpoints (nil when there are none yet),
// reusing the endpoint values of prev (keyed by endpointKey) so that in-flight counts carry
// over; it returns the snapshot and the endpoints it uses, keyed the same way. Only ready
// addresses (subsets[].addresses) with a Pod targetRef are used; a Service port is matched to
// an endpoint port by name, as Kubernetes does.
func buildRoute(svc *api.Service, eps *api.Endpoints, prev map[string]*endpoint) (*route, map[string]*endpoint) {
	r := &route{
		namespace:     svc.Namespace,
		name:          svc.Name,
		clusterIP:     svc.Spec.ClusterIP,
		leastRequests: svc.Annotations[LoadBalancerAnnotation] == LeastRequests,
	}
	used := map[string]*endpoint{}
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol != "" && sp.Protocol != "TCP" {
			continue
		}
		rp := &routePort{route: r, name: sp.Name, port: int(sp.Port), nodePort: int(sp.NodePort)}
		if eps != nil {
			for _, ss := range eps.Subsets {
				i := slices.IndexFunc(ss.Ports, func(p api.EndpointPort) bool { return p.Name == sp.Name })
				if i < 0 {
					continue
				}
				port := int(ss.Ports[i].Port)
				for _, a := range ss.Addresses {
					ref := a.TargetRef
					if ref == nil || ref.Name == "" || (ref.Kind != "" && ref.Kind != "Pod") {
						continue
					}
					ns := ref.Namespace
					if ns == "" {
						ns = svc.Namespace
					}
					node := ""
					if a.NodeName != nil {
						node = *a.NodeName
					}
					k := endpointKey(ns, ref.Name, node, port)
					e := used[k]
					if e == nil {
						if e = prev[k]; e == nil {
							e = &endpoint{namespace: ns, pod: ref.Name, node: node, port: port}
						}
						used[k] = e
					}
					if !slices.Contains(rp.eps, e) {
						rp.eps = append(rp.eps, e)
					}
				}
			}
		}
		r.ports = append(r.ports, rp)
	}
	return r, used
}

// frontDoors returns the addresses (host:port) at which svc must be served on a node whose
// address is nodeIP, each mapped to the Service port it serves: NodeIP:nodePort for NodePort
// and LoadBalancer Services, and each load balancer ingress IP at the Service port for
// LoadBalancer Services.
func frontDoors(svc *api.Service, nodeIP string) map[string]int {
	out := map[string]int{}
	if svc.Spec.Type != api.ServiceNodePort && svc.Spec.Type != api.ServiceLoadBalancer {
		return out
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol != "" && sp.Protocol != "TCP" {
			continue
		}
		if sp.NodePort > 0 {
			out[net.JoinHostPort(nodeIP, strconv.Itoa(int(sp.NodePort)))] = int(sp.Port)
		}
		if svc.Spec.Type != api.ServiceLoadBalancer {
			continue
		}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if ip := net.ParseIP(in.IP); ip != nil {
				out[net.JoinHostPort(ip.String(), strconv.Itoa(int(sp.Port)))] = int(sp.Port)
			}
		}
	}
	return out
}
