package main

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
)

// service is kubectl describe service, with the ready endpoints of each port.
func (d *describer) service(ctx context.Context, svc *api.Service) (string, error) {
	ep, err := client.Endpoints(d.c).Namespace(svc.Namespace).Get(ctx, svc.Name)
	if err != nil && !api.IsNotFound(err) {
		return "", err
	}
	evs, err := d.eventsFor(ctx, "Service", &svc.ObjectMeta)
	if err != nil {
		return "", err
	}
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", svc.Name)
	p.write(0, "Namespace:\t%s\n", svc.Namespace)
	p.labelsMultiline("Labels", svc.Labels)
	p.annotationsMultiline("Annotations", svc.Annotations)
	p.write(0, "Selector:\t%s\n", formatLabels(svc.Spec.Selector))
	p.write(0, "Type:\t%s\n", svc.Spec.Type)
	p.write(0, "IP:\t%s\n", svc.Spec.ClusterIP)
	if len(svc.Spec.ClusterIPs) > 0 {
		p.write(0, "IPs:\t%s\n", strings.Join(svc.Spec.ClusterIPs, ","))
	}
	if len(svc.Spec.ExternalIPs) > 0 {
		p.write(0, "External IPs:\t%v\n", strings.Join(svc.Spec.ExternalIPs, ","))
	}
	if ing := svc.Status.LoadBalancer.Ingress; len(ing) > 0 {
		addrs := make([]string, 0, len(ing))
		for _, i := range ing {
			if i.IP != "" {
				addrs = append(addrs, i.IP)
			} else {
				addrs = append(addrs, i.Hostname)
			}
		}
		p.write(0, "LoadBalancer Ingress:\t%s\n", strings.Join(addrs, ", "))
	}
	for _, sp := range svc.Spec.Ports {
		name := sp.Name
		if name == "" {
			name = "<unset>"
		}
		proto := sp.Protocol
		if proto == "" {
			proto = "TCP"
		}
		p.write(0, "Port:\t%s\t%d/%s\n", name, sp.Port, proto)
		p.write(0, "TargetPort:\t%s/%s\n", sp.TargetPort.String(), proto)
		if sp.NodePort != 0 {
			p.write(0, "NodePort:\t%s\t%d/%s\n", name, sp.NodePort, proto)
		}
		p.write(0, "Endpoints:\t%s\n", endpointsFor(ep, sp.Name))
	}
	d.writeEvents(p, evs)
	return p.String(), nil
}

// endpointsFor lists the ready addresses behind a service port, at most three, as kubectl does.
func endpointsFor(ep *api.Endpoints, portName string) string {
	if ep == nil {
		return "<none>"
	}
	var list []string
	more := 0
	for _, ss := range ep.Subsets {
		for _, port := range ss.Ports {
			if port.Name != portName {
				continue
			}
			for _, a := range ss.Addresses {
				if len(list) < 3 {
					list = append(list, net.JoinHostPort(a.IP, fmt.Sprint(port.Port)))
				} else {
					more++
				}
			}
		}
	}
	s := strings.Join(list, ",")
	if more > 0 {
		s += fmt.Sprintf(" + %d more...", more)
	}
	return orNone(s)
}

// formatLabels is labels.FormatLabels: "k=v,k2=v2" or <none>.
func formatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// node is kubectl describe node, with the pods it runs and what they request.
func (d *describer) node(ctx context.Context, n *api.Node) (string, error) {
	pods, err := client.Pods(d.c).List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + labels.EscapeFieldValue(n.Name)})
	if err != nil {
		return "", err
	}
	var running []*api.Pod
	for _, pod := range pods.Items {
		if pod.Spec.NodeName == n.Name && pod.Status.Phase != api.PodSucceeded && pod.Status.Phase != api.PodFailed {
			running = append(running, pod)
		}
	}
	evs, err := d.eventsFor(ctx, "Node", &n.ObjectMeta)
	if err != nil {
		return "", err
	}
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", n.Name)
	var roles []string
	for k := range n.Labels {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	p.write(0, "Roles:\t%s\n", orNone(strings.Join(roles, ",")))
	p.labelsMultiline("Labels", n.Labels)
	p.annotationsMultiline("Annotations", n.Annotations)
	p.write(0, "CreationTimestamp:\t%s\n", rfc1123z(n.CreationTimestamp.Time))
	if len(n.Spec.Taints) == 0 {
		p.write(0, "Taints:\t<none>\n")
	}
	for i, t := range n.Spec.Taints {
		label := "Taints:"
		if i > 0 {
			label = ""
		}
		kv := t.Key
		if t.Value != "" {
			kv += "=" + t.Value
		}
		p.write(0, "%s\t%s:%s\n", label, kv, t.Effect)
	}
	p.write(0, "Unschedulable:\t%v\n", n.Spec.Unschedulable)
	if len(n.Status.Conditions) > 0 {
		p.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
		p.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
		for _, c := range n.Status.Conditions {
			p.write(1, "%v \t%v \t%s \t%s \t%v \t%v\n", c.Type, c.Status,
				rfc1123z(c.LastHeartbeatTime.Time), rfc1123z(c.LastTransitionTime.Time), c.Reason, c.Message)
		}
	}
	p.write(0, "Addresses:\n")
	for _, a := range n.Status.Addresses {
		p.write(1, "%s:\t%s\n", a.Type, a.Address)
	}
	resourceList := func(rl api.ResourceList) {
		for _, k := range sortedKeys(rl) {
			p.write(0, "  %s:\t%s\n", k, rl[k].String())
		}
	}
	if len(n.Status.Capacity) > 0 {
		p.write(0, "Capacity:\n")
		resourceList(n.Status.Capacity)
	}
	if len(n.Status.Allocatable) > 0 {
		p.write(0, "Allocatable:\n")
		resourceList(n.Status.Allocatable)
	}
	info := n.Status.NodeInfo
	p.write(0, "System Info:\n")
	p.write(0, "  Machine ID:\t%s\n", info.MachineID)
	p.write(0, "  Kernel Version:\t%s\n", info.KernelVersion)
	p.write(0, "  OS Image:\t%s\n", info.OSImage)
	p.write(0, "  Operating System:\t%s\n", info.OperatingSystem)
	p.write(0, "  Architecture:\t%s\n", info.Architecture)
	p.write(0, "  Container Runtime Version:\t%s\n", info.ContainerRuntimeVersion)
	p.write(0, "  Kubelet Version:\t%s\n", info.KubeletVersion)
	d.nodeResources(p, n, running)
	d.writeEvents(p, evs)
	return p.String(), nil
}

// nodeResources writes the node's pods and what they request, as kubectl's describeNodeResource.
func (d *describer) nodeResources(p *prefixWriter, n *api.Node, pods []*api.Pod) {
	alloc := n.Status.Capacity
	if len(n.Status.Allocatable) > 0 {
		alloc = n.Status.Allocatable
	}
	allocCPU := alloc[api.ResourceCPU].MilliValue()
	allocMem := alloc[api.ResourceMemory].Value()
	pct := func(v, of int64) int64 {
		if of == 0 {
			return 0
		}
		return int64(float64(v) / float64(of) * 100)
	}
	p.write(0, "Non-terminated Pods:\t(%d in total)\n", len(pods))
	p.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
	p.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
	var totCPUReq, totCPULim, totMemReq, totMemLim int64
	for _, pod := range pods {
		var cpuReq, cpuLim, memReq, memLim int64
		for _, c := range pod.Spec.Containers {
			cpuReq += c.Resources.Requests[api.ResourceCPU].MilliValue()
			cpuLim += c.Resources.Limits[api.ResourceCPU].MilliValue()
			memReq += c.Resources.Requests[api.ResourceMemory].Value()
			memLim += c.Resources.Limits[api.ResourceMemory].Value()
		}
		totCPUReq, totCPULim, totMemReq, totMemLim = totCPUReq+cpuReq, totCPULim+cpuLim, totMemReq+memReq, totMemLim+memLim
		p.write(1, "%s\t%s\t\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s\n", pod.Namespace, pod.Name,
			api.NewMilliQuantity(cpuReq).String(), pct(cpuReq, allocCPU),
			api.NewMilliQuantity(cpuLim).String(), pct(cpuLim, allocCPU),
			api.NewQuantity(memReq).String(), pct(memReq, allocMem),
			api.NewQuantity(memLim).String(), pct(memLim, allocMem),
			d.since(pod.CreationTimestamp.Time))
	}
	p.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
	p.write(1, "Resource\tRequests\tLimits\n")
	p.write(1, "--------\t--------\t------\n")
	p.write(1, "%s\t%s (%d%%)\t%s (%d%%)\n", api.ResourceCPU,
		api.NewMilliQuantity(totCPUReq).String(), pct(totCPUReq, allocCPU),
		api.NewMilliQuantity(totCPULim).String(), pct(totCPULim, allocCPU))
	p.write(1, "%s\t%s (%d%%)\t%s (%d%%)\n", api.ResourceMemory,
		api.NewQuantity(totMemReq).String(), pct(totMemReq, allocMem),
		api.NewQuantity(totMemLim).String(), pct(totMemLim, allocMem))
}

// namespace is kubectl describe namespace; wasmkube has no quotas or limit ranges.
func (d *describer) namespace(n *api.Namespace) string {
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", n.Name)
	p.labelsMultiline("Labels", n.Labels)
	p.annotationsMultiline("Annotations", n.Annotations)
	p.write(0, "Status:\t%s\n", n.Status.Phase)
	p.write(0, "\nNo resource quota.\n")
	p.write(0, "\nNo LimitRange resource.\n")
	return p.String()
}
