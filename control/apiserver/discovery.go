package apiserver

import (
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/pki"
)

// KubernetesVersion is the Kubernetes release whose API wasmkube's server presents in
// /version. kubectl warns when its minor version is more than one away from the server's;
// 1.32 sits in the middle of the kubectl releases wasmkube is tested with (1.27-1.33) and
// matches the kubectl on the development machines. The "+wasmkube" build metadata keeps
// it a valid semantic version that says what answers.
const KubernetesVersion = "v1.32.0+wasmkube"

// versionInfo is the /version document.
func versionInfo() api.Version {
	return api.Version{
		Major: "1", Minor: "32", GitVersion: KubernetesVersion,
		GitCommit: "", GitTreeState: "clean", BuildDate: "",
		GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// tokenEqual compares a presented token with an accepted one in constant time.
func tokenEqual(presented, accepted string) bool { return pki.TokenEqual(presented, accepted) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// allVerbs returns the verbs of every top-level resource.
func allVerbs() []string {
	return []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
}

// groups returns the API groups served, each with its one version, in discovery order.
func (s *Server) groups() []api.APIGroup {
	var out []api.APIGroup
	seen := map[string]bool{}
	for _, r := range s.resources {
		if r.Group == "" || seen[r.Group] {
			continue
		}
		seen[r.Group] = true
		gv := api.GroupVersionForDiscovery{GroupVersion: r.GroupVersion(), Version: r.Version}
		out = append(out, api.APIGroup{
			TypeMeta: api.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
			Name:     r.Group, Versions: []api.GroupVersionForDiscovery{gv}, PreferredVersion: gv,
		})
	}
	for _, rv := range selfReviews {
		if seen[rv.group] {
			continue
		}
		seen[rv.group] = true
		gv := api.GroupVersionForDiscovery{GroupVersion: rv.group + "/" + rv.version, Version: rv.version}
		out = append(out, api.APIGroup{
			TypeMeta: api.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
			Name:     rv.group, Versions: []api.GroupVersionForDiscovery{gv}, PreferredVersion: gv,
		})
	}
	return out
}

func (s *Server) serveRootPaths(w http.ResponseWriter) {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/readyz", "/version"}
	for _, g := range s.groups() {
		paths = append(paths, "/apis/"+g.Name, "/apis/"+g.PreferredVersion.GroupVersion)
	}
	sort.Strings(paths)
	writeJSON(w, http.StatusOK, map[string][]string{"paths": paths})
}

func (s *Server) serveAPIVersions(w http.ResponseWriter, req *http.Request) {
	addr := req.Host
	if la, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		addr = la.String()
	}
	writeJSON(w, http.StatusOK, api.APIVersions{
		TypeMeta: api.TypeMeta{Kind: "APIVersions"},
		Versions: []string{"v1"},
		ServerAddressByClientCIDRs: []api.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: addr},
		},
	})
}

func (s *Server) serveAPIGroupList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, api.APIGroupList{
		TypeMeta: api.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
		Groups:   s.groups(),
	})
}

func (s *Server) serveAPIGroup(w http.ResponseWriter, group string) {
	for _, g := range s.groups() {
		if g.Name == group {
			writeJSON(w, http.StatusOK, g)
			return
		}
	}
	notFound(w)
}

// serveResourceList is the discovery document of one group version, with subresources
// as "pods/log" entries, as kubectl expects.
func (s *Server) serveResourceList(w http.ResponseWriter, group, version string) {
	list := api.APIResourceList{
		TypeMeta:     api.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: version,
		APIResources: []api.APIResource{},
	}
	if group != "" {
		list.GroupVersion = group + "/" + version
	}
	found := false
	for _, r := range s.resources {
		if r.Group != group || r.Version != version {
			continue
		}
		found = true
		list.APIResources = append(list.APIResources, api.APIResource{
			Name: r.Resource, SingularName: r.Singular, Namespaced: r.Namespaced, Kind: r.Kind,
			Verbs: allVerbs(), ShortNames: r.ShortNames, Categories: r.Categories,
		})
		subs := append([]string(nil), r.Subresources...)
		if r.Resource == "namespaces" {
			subs = append(subs, "finalize")
		}
		for _, sub := range subs {
			ar := api.APIResource{Name: r.Resource + "/" + sub, Namespaced: r.Namespaced, Kind: r.Kind}
			switch sub {
			case "status", "approval":
				ar.Verbs = []string{"get", "patch", "update"}
			case "scale":
				ar.Group, ar.Version, ar.Kind = "autoscaling", "v1", "Scale"
				ar.Verbs = []string{"get", "patch", "update"}
			case "binding":
				ar.Kind, ar.Verbs = "Binding", []string{"create"}
			case "eviction":
				ar.Group, ar.Version, ar.Kind = "policy", "v1", "Eviction"
				ar.Verbs = []string{"create"}
			case "log":
				ar.Verbs = []string{"get"}
			case "finalize":
				ar.Verbs = []string{"update"}
			}
			list.APIResources = append(list.APIResources, ar)
		}
	}
	for _, rv := range selfReviews {
		if rv.group == group && rv.version == version {
			found = true
			list.APIResources = append(list.APIResources, api.APIResource{Name: rv.resource,
				SingularName: strings.ToLower(rv.kind), Kind: rv.kind, Verbs: []string{"create"}})
		}
	}
	if !found {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// serveOpenAPI answers /openapi/v2 with an empty 200 body: kubectl then has no schema and
// skips client-side validation (the server validates strictly and names unknown fields
// itself), and falls back to its built-in types for strategic merge patches. /openapi/v3
// answers 404, which kubectl takes as "no OpenAPI v3" and falls back to v2.
func (s *Server) serveOpenAPI(w http.ResponseWriter, req *http.Request, rest []string) {
	if len(rest) == 1 && rest[0] == "v2" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return
	}
	notFound(w)
}
