package printer

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func serviceRow(svc *api.Service, now time.Time) []any {
	typ := svc.Spec.Type
	if typ == "" {
		typ = api.ServiceClusterIP // the API defaults it; an undefaulted object prints the same
	}
	clusterIP := svc.Spec.ClusterIP
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := servicePorts(svc.Spec.Ports)
	return []any{
		svc.Name,
		typ,
		orNone(clusterIP),
		serviceExternalIP(svc, typ),
		orNone(ports),
		age(svc.CreationTimestamp, now),
		formatLabels(svc.Spec.Selector),
	}
}

// serviceExternalIP is Kubernetes' getServiceExternalIP with wide output, as its server prints.
func serviceExternalIP(svc *api.Service, typ string) string {
	switch typ {
	case api.ServiceClusterIP, api.ServiceNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case api.ServiceLoadBalancer:
		lb := loadBalancerIngress(svc.Status.LoadBalancer)
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(append(lb, svc.Spec.ExternalIPs...), ",")
		}
		if len(lb) > 0 {
			return strings.Join(lb, ",")
		}
		return "<pending>"
	}
	return "<unknown>"
}

// loadBalancerIngress lists the ingress IPs (or hostnames) sorted and without duplicates.
func loadBalancerIngress(s api.LoadBalancerStatus) []string {
	seen := map[string]bool{}
	var out []string
	for _, in := range s.Ingress {
		v := in.IP
		if v == "" {
			v = in.Hostname
		}
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// servicePorts renders "80/TCP,443:30443/TCP".
func servicePorts(ports []api.ServicePort) string {
	var b strings.Builder
	for i, p := range ports {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(p.Port)))
		if p.NodePort > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(int(p.NodePort)))
		}
		b.WriteByte('/')
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		b.WriteString(proto)
	}
	return b.String()
}

func endpointsRow(ep *api.Endpoints, now time.Time) []any {
	return []any{ep.Name, formatEndpoints(ep), age(ep.CreationTimestamp, now)}
}

// formatEndpoints is Kubernetes' formatEndpoints: the first three ready "ip:port" pairs and how
// many more there are, "<none>" without subsets.
func formatEndpoints(ep *api.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	list := make([]string, 0, max)
	more := false
	count := 0
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			// A headless service may have no ports: list bare addresses.
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	ret := strings.Join(list, ",")
	if more {
		return ret + " + " + strconv.Itoa(count-max) + " more..."
	}
	return ret
}
