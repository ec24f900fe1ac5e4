package api

import "strings"

// ResourceInfo describes one resource the API serves: where it lives, what it is called, and
// how to make an empty object of it. The API server, discovery, the printer and the CLI share it.
type ResourceInfo struct {
	Group        string
	Version      string
	Resource     string // plural, lower case: "deployments"
	Singular     string
	Kind         string
	Namespaced   bool
	ShortNames   []string
	Categories   []string // "all" puts it in `get all`
	Subresources []string // "status", "scale", "binding", "log"
	// New returns an empty object of this kind.
	New func() Object
}

// GroupVersion is "v1" for the core group, else "group/version".
func (r *ResourceInfo) GroupVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// GroupResource is the resource with its group.
func (r *ResourceInfo) GroupResource() GroupResource {
	return GroupResource{Group: r.Group, Resource: r.Resource}
}

// GroupKind is the kind with its group.
func (r *ResourceInfo) GroupKind() GroupKind { return GroupKind{Group: r.Group, Kind: r.Kind} }

// HasSubresource reports whether the resource serves sub.
func (r *ResourceInfo) HasSubresource(sub string) bool {
	for _, s := range r.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

// Resources returns the table of every resource wasmkube serves, in discovery order. The
// returned slice is new on every call; callers may keep it.
func Resources() []ResourceInfo {
	return []ResourceInfo{
		{Version: "v1", Resource: "namespaces", Singular: "namespace", Kind: "Namespace",
			ShortNames: []string{"ns"}, Subresources: []string{"status"}, New: func() Object { return &Namespace{} }},
		{Version: "v1", Resource: "nodes", Singular: "node", Kind: "Node",
			ShortNames: []string{"no"}, Subresources: []string{"status"}, New: func() Object { return &Node{} }},
		{Version: "v1", Resource: "pods", Singular: "pod", Kind: "Pod", Namespaced: true,
			ShortNames: []string{"po"}, Categories: []string{"all"},
			Subresources: []string{"status", "binding", "log", "eviction"}, New: func() Object { return &Pod{} }},
		{Version: "v1", Resource: "services", Singular: "service", Kind: "Service", Namespaced: true,
			ShortNames: []string{"svc"}, Categories: []string{"all"},
			Subresources: []string{"status"}, New: func() Object { return &Service{} }},
		{Version: "v1", Resource: "endpoints", Singular: "endpoints", Kind: "Endpoints", Namespaced: true,
			ShortNames: []string{"ep"}, New: func() Object { return &Endpoints{} }},
		{Version: "v1", Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap", Namespaced: true,
			ShortNames: []string{"cm"}, New: func() Object { return &ConfigMap{} }},
		{Version: "v1", Resource: "secrets", Singular: "secret", Kind: "Secret", Namespaced: true,
			New: func() Object { return &Secret{} }},
		{Version: "v1", Resource: "events", Singular: "event", Kind: "Event", Namespaced: true,
			ShortNames: []string{"ev"}, New: func() Object { return &Event{} }},
		{Group: "apps", Version: "v1", Resource: "deployments", Singular: "deployment", Kind: "Deployment",
			Namespaced: true, ShortNames: []string{"deploy"}, Categories: []string{"all"},
			Subresources: []string{"status", "scale"}, New: func() Object { return &Deployment{} }},
		{Group: "apps", Version: "v1", Resource: "replicasets", Singular: "replicaset", Kind: "ReplicaSet",
			Namespaced: true, ShortNames: []string{"rs"}, Categories: []string{"all"},
			Subresources: []string{"status", "scale"}, New: func() Object { return &ReplicaSet{} }},
		{Group: "apps", Version: "v1", Resource: "daemonsets", Singular: "daemonset", Kind: "DaemonSet",
			Namespaced: true, ShortNames: []string{"ds"}, Categories: []string{"all"},
			Subresources: []string{"status"}, New: func() Object { return &DaemonSet{} }},
		{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Singular: "lease", Kind: "Lease",
			Namespaced: true, New: func() Object { return &Lease{} }},
		{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses", Singular: "priorityclass",
			Kind: "PriorityClass", ShortNames: []string{"pc"}, New: func() Object { return &PriorityClass{} }},
		{Group: "wasmkube.io", Version: "v1alpha1", Resource: "schedulingpolicies", Singular: "schedulingpolicy",
			Kind: "SchedulingPolicy", ShortNames: []string{"sp"}, New: func() Object { return &SchedulingPolicy{} }},
		{Group: "batch", Version: "v1", Resource: "jobs", Singular: "job", Kind: "Job", Namespaced: true,
			Categories: []string{"all"}, Subresources: []string{"status"}, New: func() Object { return &Job{} }},
		{Group: "batch", Version: "v1", Resource: "cronjobs", Singular: "cronjob", Kind: "CronJob", Namespaced: true,
			ShortNames: []string{"cj"}, Categories: []string{"all"}, Subresources: []string{"status"},
			New: func() Object { return &CronJob{} }},
		{Group: "wasmkube.io", Version: "v1alpha1", Resource: "modules", Singular: "module", Kind: "Module",
			ShortNames: []string{"mod"}, New: func() Object { return &Module{} }},
		{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests", Singular: "certificatesigningrequest",
			Kind: "CertificateSigningRequest", ShortNames: []string{"csr"}, Subresources: []string{"status", "approval"},
			New: func() Object { return &CertificateSigningRequest{} }},
		{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets", Singular: "poddisruptionbudget",
			Kind: "PodDisruptionBudget", Namespaced: true, ShortNames: []string{"pdb"}, Subresources: []string{"status"},
			New: func() Object { return &PodDisruptionBudget{} }},
	}
}

// ResourceTable indexes Resources by every name a user may type.
type ResourceTable struct {
	all    []ResourceInfo
	byName map[string]*ResourceInfo
}

// NewResourceTable indexes infos by plural, singular, short name, kind, and "plural.group".
func NewResourceTable(infos []ResourceInfo) *ResourceTable {
	t := &ResourceTable{all: infos, byName: map[string]*ResourceInfo{}}
	for i := range t.all {
		r := &t.all[i]
		names := append([]string{r.Resource, r.Singular, strings.ToLower(r.Kind)}, r.ShortNames...)
		if r.Group != "" {
			names = append(names, r.Resource+"."+r.Group, r.Kind+"."+r.Group)
		}
		for _, n := range names {
			if _, dup := t.byName[n]; !dup {
				t.byName[n] = r
			}
		}
	}
	return t
}

// All returns every resource in discovery order.
func (t *ResourceTable) All() []ResourceInfo { return t.all }

// Lookup finds a resource by any of its names, case-insensitively.
func (t *ResourceTable) Lookup(name string) (*ResourceInfo, bool) {
	r, ok := t.byName[strings.ToLower(name)]
	return r, ok
}

// ForKind finds a resource by apiVersion and kind, as written in a manifest.
func (t *ResourceTable) ForKind(apiVersion, kind string) (*ResourceInfo, bool) {
	for i := range t.all {
		if r := &t.all[i]; r.Kind == kind && r.GroupVersion() == apiVersion {
			return r, true
		}
	}
	return nil, false
}

// ForPath finds a resource by group, version and plural, as in a request path.
func (t *ResourceTable) ForPath(group, version, resource string) (*ResourceInfo, bool) {
	for i := range t.all {
		if r := &t.all[i]; r.Group == group && r.Version == version && r.Resource == resource {
			return r, true
		}
	}
	return nil, false
}
