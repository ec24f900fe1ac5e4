package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestStatusErrorFrom(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		body       string
		wantReason string
		wantMsg    string
		check      func(error) bool
	}{
		{"status body", 404, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"pods \"x\" not found"}`,
			api.ReasonNotFound, `pods "x" not found`, api.IsNotFound},
		{"status body without code", 409, `{"kind":"Status","reason":"Conflict","message":"stale"}`,
			api.ReasonConflict, "stale", api.IsConflict},
		{"gone", 410, `{"kind":"Status","reason":"Expired","code":410,"message":"too old"}`,
			api.ReasonExpired, "too old", api.IsGone},
		{"plain text", 404, "404 page not found\n", api.ReasonNotFound, "404 page not found", api.IsNotFound},
		{"empty body", 500, "", api.ReasonInternalError, "the server answered 500 Internal Server Error", nil},
		{"json that is not a Status", 422, `{"foo":1}`, api.ReasonInvalid, `{"foo":1}`, api.IsInvalid},
		{"binary body", 503, "\x00\x01\x02", api.ReasonServiceUnavailable, "the server answered 503 Service Unavailable", nil},
		{"unknown 4xx", 418, "", "", "the server answered 418 I'm a teapot", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se := statusErrorFrom(tc.code, []byte(tc.body))
			var err error = se
			if se.Status.Reason != tc.wantReason {
				t.Errorf("reason = %q, want %q", se.Status.Reason, tc.wantReason)
			}
			if se.Error() != tc.wantMsg {
				t.Errorf("message = %q, want %q", se.Error(), tc.wantMsg)
			}
			if api.CodeOf(err) != tc.code {
				t.Errorf("code = %d, want %d", api.CodeOf(err), tc.code)
			}
			if tc.check != nil && !tc.check(err) {
				t.Errorf("predicate failed for %v", err)
			}
			var wrapped error = errors.Join(errors.New("get pods x"), err)
			if api.CodeOf(wrapped) != tc.code {
				t.Errorf("code lost through wrapping")
			}
		})
	}
}

func TestWithTypeMeta(t *testing.T) {
	tm := api.TypeMeta{Kind: "Pod", APIVersion: "v1"}
	tests := []struct {
		name string
		obj  api.Object
		want string
	}{
		{"fills missing", &api.Pod{ObjectMeta: api.ObjectMeta{Name: "a"}},
			`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a"},"spec":{"containers":null},"status":{}}`},
		{"keeps own", &api.Pod{TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1"}},
			`{"kind":"Pod","apiVersion":"v1","metadata":{},"spec":{"containers":null},"status":{}}`},
		{"empty object", &api.Lease{}, `{"kind":"Pod","apiVersion":"v1","metadata":{},"spec":{}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeObject(tc.obj, tm)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Fatal("not valid JSON")
			}
			if tc.name == "fills missing" && tc.obj.GetTypeMeta().Kind != "" {
				t.Fatal("encodeObject modified the object's TypeMeta")
			}
		})
	}
	if _, err := withTypeMeta([]byte(`{}`), tm); err != nil {
		t.Fatal(err)
	}
	if got, _ := withTypeMeta([]byte(`{}`), tm); string(got) != `{"kind":"Pod","apiVersion":"v1"}` {
		t.Fatalf("empty object: %s", got)
	}
}

func TestPaths(t *testing.T) {
	c, err := New(&Config{Server: "https://127.0.0.1:6443/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"core namespaced item", func() (string, error) { return Pods(c).Namespace("ns").item("ns", "web") }, "/api/v1/namespaces/ns/pods/web"},
		{"core subresource", func() (string, error) { return Pods(c).item("ns", "web", "status") }, "/api/v1/namespaces/ns/pods/web/status"},
		{"cluster-scoped item", func() (string, error) { return Nodes(c).Namespace("ignored").item("", "n1") }, "/api/v1/nodes/n1"},
		{"group collection", func() (string, error) { return Deployments(c).collection("ns"), nil }, "/apis/apps/v1/namespaces/ns/deployments"},
		{"all namespaces", func() (string, error) { return Deployments(c).collection(""), nil }, "/apis/apps/v1/deployments"},
		{"lease", func() (string, error) { return Leases(c).item("kube-system", "sched") }, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/sched"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := Pods(c).item("", "web"); !errors.Is(err, ErrNamespaceRequired) {
		t.Fatalf("namespaced item without namespace: err = %v", err)
	}
}

func TestQueries(t *testing.T) {
	tail := int64(10)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"empty list", ListOptions{}.query(false).Encode(), ""},
		{"list", ListOptions{LabelSelector: "app=web", FieldSelector: "spec.nodeName=n1", Limit: 5, Continue: "tok",
			ResourceVersion: "10", ResourceVersionMatch: "NotOlderThan"}.query(false).Encode(),
			"continue=tok&fieldSelector=spec.nodeName%3Dn1&labelSelector=app%3Dweb&limit=5&resourceVersion=10&resourceVersionMatch=NotOlderThan"},
		{"watch", ListOptions{ResourceVersion: "7", TimeoutSeconds: 30, AllowWatchBookmarks: true}.query(true).Encode(),
			"allowWatchBookmarks=true&resourceVersion=7&timeoutSeconds=30&watch=true"},
		{"bookmarks only on watch", ListOptions{AllowWatchBookmarks: true}.query(false).Encode(), ""},
		{"logs", LogOptions{Container: "app", Follow: true, Previous: true, TailLines: &tail, Timestamps: true}.query().Encode(),
			"container=app&follow=true&previous=true&tailLines=10&timestamps=true"},
		{"apply", applyQuery("wk", true).Encode(), "fieldManager=wk&force=true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %s\nwant %s", tc.got, tc.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  *Config
	}{
		{"nil", nil},
		{"no server", &Config{}},
		{"not a URL", &Config{Server: "127.0.0.1:6443"}},
		{"other scheme", &Config{Server: "ftp://x"}},
		{"bad CA", &Config{Server: "https://x", CAPEM: []byte("not pem")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestForPanicsOnMisuse(t *testing.T) {
	c, _ := New(&Config{Server: "https://x"})
	for name, f := range map[string]func(){
		"unknown resource": func() { For[*api.Pod](c, "widgets") },
		"wrong type":       func() { For[*api.Node](c, "pods") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

func TestEventCache(t *testing.T) {
	c := newEventCache(2)
	k := func(s string) eventKey { return eventKey{name: s} }
	c.put(k("a"), writtenEvent{name: "a"})
	c.put(k("b"), writtenEvent{name: "b"})
	c.get(k("a")) // a is now the most recent
	c.put(k("c"), writtenEvent{name: "c"})
	if _, ok := c.get(k("b")); ok {
		t.Fatal("b should have been evicted")
	}
	for _, s := range []string{"a", "c"} {
		if _, ok := c.get(k(s)); !ok {
			t.Fatalf("%s evicted", s)
		}
	}
	c.remove(k("a"))
	if _, ok := c.get(k("a")); ok {
		t.Fatal("a still present after remove")
	}
}

func TestWatchStatusError(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		code  int
		check func(error) bool
	}{
		{"expired", `{"kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"too old resource version"}`, 410, api.IsGone},
		{"code only", `{"code":410}`, 410, api.IsGone},
		{"garbage", `"x"`, http.StatusInternalServerError, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := watchStatusError(json.RawMessage(tc.raw))
			if api.CodeOf(err) != tc.code {
				t.Fatalf("code = %d, want %d", api.CodeOf(err), tc.code)
			}
			if tc.check != nil && !tc.check(err) {
				t.Fatal("predicate failed")
			}
		})
	}
}

func TestRecorderReference(t *testing.T) {
	c, _ := New(&Config{Server: "https://x"})
	r := NewRecorder(c, RecorderConfig{Component: "test"})
	ref := r.reference(&api.Deployment{ObjectMeta: api.ObjectMeta{Name: "d", Namespace: "ns", UID: "u"}})
	want := api.ObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "ns", Name: "d", UID: "u"}
	if ref != want {
		t.Fatalf("reference = %+v, want %+v", ref, want)
	}
}

func TestRecorderDropsWhenFull(t *testing.T) {
	c, _ := New(&Config{Server: "https://x"})
	r := NewRecorder(c, RecorderConfig{Component: "test", QueueSize: 2})
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "p", Namespace: "ns"}}
	for range 5 {
		r.Eventf(pod, api.EventNormal, "Tick", "tick %d", 1)
	}
	if got := r.Dropped(); got != 3 {
		t.Fatalf("Dropped = %d, want 3", got)
	}
	r.Stop()
	r.Eventf(pod, api.EventNormal, "Tick", "after stop")
	if got := r.Dropped(); got != 4 {
		t.Fatalf("Dropped after Stop = %d, want 4", got)
	}
}
