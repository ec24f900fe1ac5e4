package apiserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
)

// TestBadInput sends every kind of bad request and checks its status code, reason, message
// and field path, and that nothing was stored.
func TestBadInput(t *testing.T) {
	e := start(t)
	const deploys = "/apis/apps/v1/namespaces/default/deployments"
	const pods = "/api/v1/namespaces/default/pods"

	withSpec := func(d map[string]any, f func(spec map[string]any)) map[string]any {
		f(d["spec"].(map[string]any))
		return d
	}
	big := pod("big", nil)
	big["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["args"] = []any{strings.Repeat("x", 1<<20)}
	badLabel := pod("lbl", map[string]string{"app": "no spaces allowed"})

	cases := []struct {
		name    string
		method  string
		path    string
		body    any
		opts    []reqOpt
		code    int
		reason  string
		message string // substring
		field   string // a cause's field
	}{
		{name: "malformed JSON", method: "POST", path: deploys, body: `{"apiVersion": "apps/v1", "kind":`,
			code: 400, reason: api.ReasonBadRequest, message: "could not be decoded"},
		{name: "malformed YAML", method: "POST", path: deploys, body: "apiVersion: apps/v1\nkind: [Deployment\n",
			opts: []reqOpt{contentType("application/yaml")}, code: 400, reason: api.ReasonBadRequest},
		{name: "unknown resource", method: "GET", path: "/api/v1/namespaces/default/foos", code: 404, reason: api.ReasonNotFound},
		{name: "unknown group", method: "GET", path: "/apis/nope.example.com/v1/things", code: 404, reason: api.ReasonNotFound},
		{name: "unknown subresource", method: "GET", path: pods + "/x/exec", code: 404, reason: api.ReasonNotFound},
		{name: "misspelt field", method: "POST", path: deploys,
			body: withSpec(deployment("hello", 1), func(s map[string]any) { s["replicass"] = 3 }),
			code: 422, reason: api.ReasonInvalid, message: `Deployment.apps "hello" is invalid: spec.replicass: Unknown field`, field: "spec.replicass"},
		{name: "unknown nested field", method: "POST", path: pods,
			body: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "i:1", "securityContext": map[string]any{}}}}},
			code: 422, reason: api.ReasonInvalid, field: "spec.containers[0].securityContext"},
		{name: "invalid name", method: "POST", path: pods, body: pod("Hello_World", nil),
			code: 422, reason: api.ReasonInvalid, message: `Pod "Hello_World" is invalid: metadata.name`, field: "metadata.name"},
		{name: "invalid label", method: "POST", path: pods, body: badLabel,
			code: 422, reason: api.ReasonInvalid, field: "metadata.labels[app]"},
		{name: "selector does not match template", method: "POST", path: deploys,
			body: withSpec(deployment("sel", 1), func(s map[string]any) {
				s["selector"] = map[string]any{"matchLabels": map[string]any{"app": "other"}}
			}),
			code: 422, reason: api.ReasonInvalid, message: "`selector` does not match template `labels`", field: "spec.template.metadata.labels"},
		{name: "negative replicas", method: "POST", path: deploys,
			body: withSpec(deployment("neg", 1), func(s map[string]any) { s["replicas"] = -1 }),
			code: 422, reason: api.ReasonInvalid, field: "spec.replicas"},
		{name: "every cause", method: "POST", path: deploys,
			body: withSpec(deployment("Bad_Name", 1), func(s map[string]any) { s["replicas"] = -1 }),
			code: 422, reason: api.ReasonInvalid, message: "[", field: "metadata.name"},
		{name: "over 1 MiB", method: "POST", path: pods, body: big, code: 413, reason: api.ReasonRequestEntityLarge},
		{name: "kind does not match path", method: "POST", path: deploys, body: pod("p", nil), code: 400, reason: api.ReasonBadRequest},
		{name: "namespace does not match path", method: "POST", path: pods,
			body: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "other"},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "i:1"}}}},
			code: 400, reason: api.ReasonBadRequest, message: "namespace of the provided object does not match"},
		{name: "namespace missing", method: "POST", path: "/api/v1/namespaces/nope/pods", body: pod("p", nil),
			code: 404, reason: api.ReasonNotFound, message: `namespaces "nope" not found`},
		{name: "missing token", method: "GET", path: pods, opts: []reqOpt{noToken()}, code: 401, reason: api.ReasonUnauthorized, message: "Unauthorized"},
		{name: "wrong token", method: "GET", path: pods, opts: []reqOpt{header("Authorization", "Bearer wk-admin.nope")},
			code: 401, reason: api.ReasonUnauthorized},
		{name: "create with a token but no body", method: "POST", path: pods, body: "", code: 400, reason: api.ReasonBadRequest},
		{name: "unsupported media type", method: "POST", path: pods, body: "x",
			opts: []reqOpt{contentType("text/plain")}, code: 415, reason: api.ReasonUnsupportedMedia},
		{name: "method not allowed", method: "PUT", path: pods, body: pod("p", nil), code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "post to a name", method: "POST", path: pods + "/p", body: pod("p", nil), code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "unsupported field selector", method: "GET", path: pods + "?fieldSelector=spec.image%3Dx",
			code: 400, reason: api.ReasonBadRequest, message: "field label not supported: spec.image"},
		{name: "bad label selector", method: "GET", path: pods + "?labelSelector=a%20in%20(", code: 400, reason: api.ReasonBadRequest},
		{name: "update of a missing object", method: "PUT", path: pods + "/ghost", body: pod("ghost", nil),
			code: 404, reason: api.ReasonNotFound, message: `pods "ghost" not found`},
		{name: "name does not match path", method: "PUT", path: pods + "/a", body: pod("b", nil), code: 400, reason: api.ReasonBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.body, c.opts...)
			if r.code != c.code {
				t.Fatalf("got %d %s, want %d", r.code, r.body, c.code)
			}
			st := r.status(t)
			if st.Reason != c.reason || int(st.Code) != c.code || st.Status != api.StatusFailure {
				t.Errorf("status %+v, want reason %s code %d", st, c.reason, c.code)
			}
			if !strings.Contains(st.Message, c.message) {
				t.Errorf("message %q lacks %q", st.Message, c.message)
			}
			if c.field != "" {
				found := false
				for _, cause := range st.Details.Causes {
					found = found || cause.Field == c.field
				}
				if !found {
					t.Errorf("causes %+v lack field %s", st.Details.Causes, c.field)
				}
			}
		})
	}
	t.Run("nothing stored", func(t *testing.T) {
		for _, p := range []string{deploys, pods} {
			var l api.List[api.PartialObjectMetadata]
			e.must(http.StatusOK, "GET", p, nil).decode(t, &l)
			if len(l.Items) != 0 {
				t.Errorf("%s holds %d objects after refused requests", p, len(l.Items))
			}
		}
	})
}

func TestDryRun(t *testing.T) {
	e := start(t)
	const pods = "/api/v1/namespaces/default/pods"
	var p api.Pod
	e.must(http.StatusCreated, "POST", pods+"?dryRun=All", pod("dry", nil)).decode(t, &p)
	if p.Name != "dry" || p.Status.Phase != api.PodPending {
		t.Fatalf("dry-run create answered %+v", p)
	}
	e.must(http.StatusNotFound, "GET", pods+"/dry", nil)
	e.must(http.StatusCreated, "POST", pods, pod("wet", nil))
	e.must(http.StatusOK, "DELETE", pods+"/wet?dryRun=All", nil)
	e.must(http.StatusOK, "GET", pods+"/wet", nil)
}

func TestGenerateName(t *testing.T) {
	e := start(t)
	body := pod("", nil)
	body["metadata"] = map[string]any{"generateName": "web-"}
	var p api.Pod
	e.must(http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", body).decode(t, &p)
	if !strings.HasPrefix(p.Name, "web-") || len(p.Name) != len("web-")+5 {
		t.Fatalf("generated name %q", p.Name)
	}
	for _, c := range p.Name[4:] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			t.Fatalf("generated name %q has %q", p.Name, c)
		}
	}
}

func TestPublicEndpoints(t *testing.T) {
	e := start(t)
	for _, p := range []string{"/livez", "/readyz", "/healthz"} {
		r := e.must(http.StatusOK, "GET", p, nil, noToken())
		if string(r.body) != "ok" {
			t.Errorf("%s: %q", p, r.body)
		}
	}
	var v api.Version
	e.must(http.StatusOK, "GET", "/version", nil, noToken()).decode(t, &v)
	if v.Major != "1" || !strings.HasPrefix(v.GitVersion, "v1.") {
		t.Errorf("version %+v", v)
	}
}

// TestNotStarted: a server that has not filled its caches answers 503, and Stop is
// idempotent without Start.
func TestNotStarted(t *testing.T) {
	e := start(t)
	srv, err := apiserver.New(apiserver.Config{Store: e.api.Store, Tokens: map[string]apiserver.User{"t": {Name: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	for path, code := range map[string]int{"/readyz": 503, "/livez": 200, "/api/v1/pods": 503} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer t")
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != code {
			t.Errorf("%s: %d, want %d", path, rec.Code, code)
		}
	}
	for range 2 {
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  apiserver.Config
	}{
		{"no store", apiserver.Config{}},
		{"bad CIDR", apiserver.Config{ServiceCIDR: "10.0.0.0/33"}},
		{"IPv6 CIDR", apiserver.Config{ServiceCIDR: "fd00::/64"}},
		{"port range", apiserver.Config{NodePorts: apiserver.PortRange{Min: 40000, Max: 30000}}},
		{"cache size", apiserver.Config{WatchCacheSize: 1}},
		{"event TTL", apiserver.Config{EventTTL: -time.Second}},
	}
	e := start(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "no store" {
				c.cfg.Store = e.api.Store
			}
			if _, err := apiserver.New(c.cfg); err == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
}
