package printer

import (
	"sort"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// nodeLabelRole is the older role label; node-role.kubernetes.io/<role> is the current one.
const nodeLabelRole = "kubernetes.io/role"

func nodeRow(n *api.Node, now time.Time) []any {
	var status []string
	for i := range n.Status.Conditions {
		// Kubernetes considers only the Ready condition; the last one listed wins.
		if c := &n.Status.Conditions[i]; c.Type == api.NodeReady {
			status = status[:0]
			if c.Status == api.ConditionTrue {
				status = append(status, c.Type)
			} else {
				status = append(status, "Not"+c.Type)
			}
		}
	}
	if len(status) == 0 {
		status = append(status, "Unknown")
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	roles := strings.Join(nodeRoles(n), ",")
	info := n.Status.NodeInfo
	return []any{
		n.Name,
		strings.Join(status, ","),
		orNone(roles),
		age(n.CreationTimestamp, now),
		info.KubeletVersion,
		nodeAddress(n, api.NodeInternalIP),
		nodeAddress(n, api.NodeExternalIP),
		orUnknown(info.OSImage),
		orUnknown(info.KernelVersion),
		orUnknown(info.ContainerRuntimeVersion),
	}
}

// nodeRoles collects roles from node-role.kubernetes.io/<role> and kubernetes.io/role=<role>.
func nodeRoles(n *api.Node) []string {
	set := map[string]bool{}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, api.LabelNodeRoleAgent):
			if role := strings.TrimPrefix(k, api.LabelNodeRoleAgent); role != "" {
				set[role] = true
			}
		case k == nodeLabelRole && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// nodeAddress is the node's first address of type typ, or "<none>".
func nodeAddress(n *api.Node, typ string) string {
	for _, a := range n.Status.Addresses {
		if a.Type == typ {
			return a.Address
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

func namespaceRow(ns *api.Namespace, now time.Time) []any {
	return []any{ns.Name, ns.Status.Phase, age(ns.CreationTimestamp, now)}
}

func leaseRow(l *api.Lease, now time.Time) []any {
	return []any{l.Name, api.Deref(l.Spec.HolderIdentity, ""), age(l.CreationTimestamp, now)}
}

// eventRow follows Kubernetes' printEvent for core/v1 events, wide cells included.
func eventRow(e *api.Event, now time.Time) []any {
	first := age(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = microAge(e.EventTime, now)
	}
	last := age(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if count == 0 {
		count = 1 // singleton events of the new API carry no count
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	return []any{
		last,
		e.Type,
		e.Reason,
		target,
		e.InvolvedObject.FieldPath,
		eventSource(e),
		strings.TrimSpace(e.Message),
		first,
		int64(count),
		e.Name,
	}
}

func microAge(t api.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t.Time))
}

// eventSource is "component, host", falling back to the reporting controller and instance.
func eventSource(e *api.Event) string {
	component := e.Source.Component
	if component == "" {
		component = e.ReportingController
	}
	host := e.Source.Host
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
