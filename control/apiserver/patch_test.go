package apiserver_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

const deploysPath = "/apis/apps/v1/namespaces/default/deployments"

func TestPatch(t *testing.T) {
	e := start(t)
	e.must(http.StatusCreated, "POST", deploysPath, deployment("web", 1))
	patchDeploy := func(code int, ct, body string) response {
		t.Helper()
		return e.must(code, "PATCH", deploysPath+"/web", body, contentType(ct))
	}
	get := func() api.Deployment {
		var d api.Deployment
		e.must(http.StatusOK, "GET", deploysPath+"/web", nil).decode(t, &d)
		return d
	}

	cases := []struct {
		name  string
		ct    string
		body  string
		code  int
		check func(t *testing.T, d api.Deployment)
	}{
		{name: "merge", ct: "application/merge-patch+json", body: `{"spec":{"replicas":3}}`, code: 200,
			check: func(t *testing.T, d api.Deployment) {
				if *d.Spec.Replicas != 3 || d.Generation != 2 {
					t.Errorf("replicas %d generation %d", *d.Spec.Replicas, d.Generation)
				}
			}},
		{name: "json", ct: "application/json-patch+json", body: `[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":4}]`, code: 200,
			check: func(t *testing.T, d api.Deployment) {
				if *d.Spec.Replicas != 4 {
					t.Errorf("replicas %d", *d.Spec.Replicas)
				}
			}},
		{name: "strategic merges containers by name", ct: "application/strategic-merge-patch+json",
			body: `{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"side:1"}]}}}}`, code: 200,
			check: func(t *testing.T, d api.Deployment) {
				if n := len(d.Spec.Template.Spec.Containers); n != 2 {
					t.Errorf("%d containers, want 2", n)
				}
			}},
		{name: "strategic delete directive", ct: "application/strategic-merge-patch+json",
			body: `{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}`, code: 200,
			check: func(t *testing.T, d api.Deployment) {
				if n := len(d.Spec.Template.Spec.Containers); n != 1 {
					t.Errorf("%d containers, want 1", n)
				}
			}},
		{name: "failed json test", ct: "application/json-patch+json", body: `[{"op":"test","path":"/spec/replicas","value":99}]`, code: 422},
		{name: "malformed", ct: "application/merge-patch+json", body: `{"spec":`, code: 400},
		{name: "invalid result", ct: "application/merge-patch+json", body: `{"spec":{"replicas":-2}}`, code: 422},
		{name: "unknown field", ct: "application/merge-patch+json", body: `{"spec":{"replicass":2}}`, code: 422},
		{name: "stale resourceVersion", ct: "application/merge-patch+json", body: `{"metadata":{"resourceVersion":"1"},"spec":{"replicas":7}}`, code: 409},
		{name: "immutable uid", ct: "application/merge-patch+json", body: `{"metadata":{"uid":"x"}}`, code: 422},
		{name: "unsupported type", ct: "text/plain", body: `x`, code: 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := get()
			r := patchDeploy(c.code, c.ct, c.body)
			if c.check != nil {
				var d api.Deployment
				r.decode(t, &d)
				c.check(t, d)
				return
			}
			r.status(t)
			if after := get(); after.ResourceVersion != before.ResourceVersion {
				t.Errorf("a refused patch changed the object (rv %s -> %s)", before.ResourceVersion, after.ResourceVersion)
			}
		})
	}
}

const applyType = "application/apply-patch+yaml"

func applyYAML(replicas string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: ` + replicas + `
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: app
        image: app:1
`
}

func TestServerSideApply(t *testing.T) {
	e := start(t)
	path := deploysPath + "/app"
	managers := func(d api.Deployment) string {
		var out []string
		for _, m := range d.ManagedFields {
			out = append(out, m.Manager+":"+m.Operation)
		}
		return strings.Join(out, ",")
	}

	st := e.must(http.StatusBadRequest, "PATCH", path, applyYAML("1"), contentType(applyType)).status(t)
	if !strings.Contains(st.Message, "fieldManager") {
		t.Errorf("apply without fieldManager: %q", st.Message)
	}

	var d api.Deployment
	e.must(http.StatusCreated, "PATCH", path+"?fieldManager=alice", applyYAML("2"), contentType(applyType)).decode(t, &d)
	if *d.Spec.Replicas != 2 || managers(d) != "alice:Apply" || d.UID == "" {
		t.Fatalf("apply create: replicas %d managers %s", *d.Spec.Replicas, managers(d))
	}
	e.must(http.StatusOK, "PATCH", path+"?fieldManager=alice", applyYAML("3"), contentType(applyType)).decode(t, &d)
	if *d.Spec.Replicas != 3 || d.Generation != 2 {
		t.Fatalf("apply update: replicas %d generation %d", *d.Spec.Replicas, d.Generation)
	}
	rv := d.ResourceVersion
	e.must(http.StatusOK, "PATCH", path+"?fieldManager=alice", applyYAML("3"), contentType(applyType)).decode(t, &d)
	if d.ResourceVersion != rv {
		t.Errorf("applying the same configuration again wrote the object (rv %s -> %s)", rv, d.ResourceVersion)
	}

	st = e.must(http.StatusConflict, "PATCH", path+"?fieldManager=bob", applyYAML("5"), contentType(applyType)).status(t)
	if st.Reason != api.ReasonConflict || st.Details == nil || len(st.Details.Causes) == 0 {
		t.Fatalf("conflict status %+v", st)
	}
	cause := st.Details.Causes[0]
	if cause.Type != "FieldManagerConflict" || cause.Field != ".spec.replicas" || !strings.Contains(cause.Message, `"alice"`) {
		t.Errorf("conflict cause %+v", cause)
	}

	e.must(http.StatusOK, "PATCH", path+"?fieldManager=bob&force=true", applyYAML("5"), contentType(applyType)).decode(t, &d)
	if *d.Spec.Replicas != 5 || !strings.Contains(managers(d), "bob:Apply") {
		t.Fatalf("forced apply: replicas %d managers %s", *d.Spec.Replicas, managers(d))
	}

	// An update through scale takes spec.replicas: the next apply of another value conflicts.
	e.must(http.StatusOK, "PATCH", path+"/scale?fieldManager=kubectl-scale", `{"spec":{"replicas":6}}`,
		contentType("application/merge-patch+json"))
	st = e.must(http.StatusConflict, "PATCH", path+"?fieldManager=bob", applyYAML("7"), contentType(applyType)).status(t)
	if !strings.Contains(st.Message, "kubectl-scale") {
		t.Errorf("conflict after scale: %q", st.Message)
	}

	// JSON is YAML too; an unknown field is a 422.
	e.must(http.StatusUnprocessableEntity, "PATCH", path+"?fieldManager=alice",
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"app"},"spec":{"replicaz":1}}`, contentType(applyType))
}

// TestConcurrentPatchesRetry sends many merge patches without a resourceVersion to one object
// at once: as in Kubernetes, each is applied to the current object and none fails with 409.
func TestConcurrentPatchesRetry(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := a.HTTPClient()
	do := func(method, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, a.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.Token)
		req.Header.Set("Content-Type", ctype)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("POST", "/api/v1/namespaces/default/pods", "application/json",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"m:v1"}]}}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var wg sync.WaitGroup
	codes := make(chan int, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := do("PATCH", "/api/v1/namespaces/default/pods/p", "application/merge-patch+json",
				fmt.Sprintf(`{"metadata":{"labels":{"k%d":"v"}}}`, i))
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Fatalf("a concurrent patch got %d", code)
		}
	}
	_, body := do("GET", "/api/v1/namespaces/default/pods/p", "", "")
	for i := 0; i < 32; i++ {
		if !strings.Contains(body, fmt.Sprintf(`"k%d":"v"`, i)) {
			t.Fatalf("label k%d lost: %s", i, body)
		}
	}
	// A patch that names a stale resourceVersion still fails.
	if code, _ := do("PATCH", "/api/v1/namespaces/default/pods/p", "application/merge-patch+json",
		`{"metadata":{"resourceVersion":"1","labels":{"x":"y"}}}`); code != 409 {
		t.Fatalf("stale patch got %d, want 409", code)
	}
}
