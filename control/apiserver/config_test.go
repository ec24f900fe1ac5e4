package apiserver_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

const (
	cmPath     = "/api/v1/namespaces/default/configmaps"
	secretPath = "/api/v1/namespaces/default/secrets"
	podPath    = "/api/v1/namespaces/default/pods"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func configMap(name string, data map[string]any) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}, "data": data}
}

func secret(name, typ string, data map[string]any) map[string]any {
	s := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": name}, "data": data}
	if typ != "" {
		s["type"] = typ
	}
	return s
}

// podWith is a pod whose only container has the given extra fields and whose spec has volumes.
func podWith(name string, container map[string]any, volumes []any) map[string]any {
	c := map[string]any{"name": "app", "image": "hello:1"}
	for k, v := range container {
		c[k] = v
	}
	spec := map[string]any{"containers": []any{c}}
	if volumes != nil {
		spec["volumes"] = volumes
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": name}, "spec": spec}
}

func envFrom(refs ...map[string]any) map[string]any {
	list := make([]any, len(refs))
	for i, r := range refs {
		list[i] = r
	}
	return map[string]any{"envFrom": list}
}

func valueFrom(src map[string]any) map[string]any {
	return map[string]any{"env": []any{map[string]any{"name": "X", "valueFrom": src}}}
}

func volume(src map[string]any) []any {
	v := map[string]any{"name": "vol"}
	for k, x := range src {
		v[k] = x
	}
	return []any{v}
}

// TestConfigValidation holds ConfigMaps, Secrets and the pod fields that consume them to
// Kubernetes' validation: each case is refused 422 naming the field, and nothing is stored.
//
// The size cases need a MaxObjectBytes above the default 1 MiB of JSON: base64 makes a
// Secret's JSON a third larger than its data.
func TestConfigValidation(t *testing.T) {
	e := start(t, clustertest.WithConfig(func(c *apiserver.Config) { c.MaxObjectBytes = 3 << 20 }))
	long := strings.Repeat("a", 254)
	big := strings.Repeat("x", 600*1024)
	cases := []struct {
		name  string
		path  string
		obj   map[string]any
		field string // the field path of a cause
		msg   string // a substring of the message
	}{
		{"cm bad key", cmPath, configMap("c1", map[string]any{"a b": "x"}), "data[a b]", "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"},
		{"cm key dot", cmPath, configMap("c2", map[string]any{".": "x"}), "data[.]", "must not be '.'"},
		{"cm key dotdot", cmPath, configMap("c3", map[string]any{"..": "x"}), "data[..]", "must not be '..'"},
		{"cm key starts dotdot", cmPath, configMap("c4", map[string]any{"..a": "x"}), "data[..a]", "must not start with '..'"},
		{"cm key too long", cmPath, configMap("c5", map[string]any{long: "x"}), "data[" + long + "]", "must be no more than 253"},
		{"cm binary bad key", cmPath, func() map[string]any {
			c := configMap("c6", nil)
			c["binaryData"] = map[string]any{"a/b": b64("x")}
			return c
		}(), "binaryData[a/b]", "a valid config key"},
		{"cm key in both", cmPath, func() map[string]any {
			c := configMap("c7", map[string]any{"k": "x"})
			c["binaryData"] = map[string]any{"k": b64("y")}
			return c
		}(), "data[k]", "duplicate of key present in binaryData"},
		{"cm too large", cmPath, func() map[string]any {
			c := configMap("c8", map[string]any{"a": big})
			c["binaryData"] = map[string]any{"b": b64(big)}
			return c
		}(), "", "Too long: must have at most 1048576 bytes"},
		{"cm bad name", cmPath, configMap("Bad_Name", nil), "metadata.name", "RFC 1123 subdomain"},

		{"secret bad key", secretPath, secret("s1", "", map[string]any{"a:b": b64("x")}), "data[a:b]", "a valid config key"},
		{"secret bad stringData key", secretPath, func() map[string]any {
			s := secret("s2", "", nil)
			s["stringData"] = map[string]any{"a b": "x"}
			return s
		}(), "data[a b]", "a valid config key"},
		{"secret too large", secretPath, secret("s3", "", map[string]any{"a": b64(big), "b": b64(big)}), "data", "Too long: must have at most 1048576 bytes"},
		{"tls without key", secretPath, secret("s4", api.SecretTypeTLS, map[string]any{"tls.crt": b64("c")}), "data[tls.key]", "Required value"},
		{"tls without cert", secretPath, secret("s5", api.SecretTypeTLS, map[string]any{"tls.key": b64("k")}), "data[tls.crt]", "Required value"},
		{"dockerconfigjson missing", secretPath, secret("s6", api.SecretTypeDockerConfigJSON, nil), "data[.dockerconfigjson]", "Required value"},
		{"dockerconfigjson not json", secretPath, secret("s7", api.SecretTypeDockerConfigJSON, map[string]any{".dockerconfigjson": b64("{nope")}), "data[.dockerconfigjson]", "<secret contents redacted>"},
		{"dockercfg missing", secretPath, secret("s8", api.SecretTypeDockercfg, nil), "data[.dockercfg]", "Required value"},
		{"basic-auth empty", secretPath, secret("s9", api.SecretTypeBasicAuth, nil), "data[username]", "Required value"},
		{"ssh-auth empty", secretPath, secret("s10", api.SecretTypeSSHAuth, nil), "data[ssh-privatekey]", "Required value"},
		{"service-account-token", secretPath, secret("s11", api.SecretTypeServiceAccountToken, nil),
			"metadata.annotations[kubernetes.io/service-account.name]", "Required value"},

		{"envFrom neither", podPath, podWith("p1", envFrom(map[string]any{"prefix": "A_"}), nil), "spec.containers[0].envFrom[0]", "must specify one of: `configMapRef` or `secretRef`"},
		{"envFrom both", podPath, podWith("p2", envFrom(map[string]any{"configMapRef": map[string]any{"name": "a"}, "secretRef": map[string]any{"name": "b"}}), nil),
			"spec.containers[0].envFrom[0]", "may not have more than one field specified at a time"},
		{"envFrom no name", podPath, podWith("p3", envFrom(map[string]any{"configMapRef": map[string]any{}}), nil), "spec.containers[0].envFrom[0].configMapRef.name", "Required value"},
		{"envFrom bad name", podPath, podWith("p4", envFrom(map[string]any{"secretRef": map[string]any{"name": "Bad_Name"}}), nil), "spec.containers[0].envFrom[0].secretRef.name", "RFC 1123 subdomain"},
		{"envFrom bad prefix", podPath, podWith("p5", envFrom(map[string]any{"prefix": "1=", "configMapRef": map[string]any{"name": "a"}}), nil), "spec.containers[0].envFrom[0].prefix", "environment variable name"},
		{"valueFrom two", podPath, podWith("p6", valueFrom(map[string]any{"configMapKeyRef": map[string]any{"name": "a", "key": "k"}, "secretKeyRef": map[string]any{"name": "a", "key": "k"}}), nil),
			"spec.containers[0].env[0].valueFrom", "may not have more than one field specified at a time"},
		{"valueFrom none", podPath, podWith("p7", valueFrom(map[string]any{}), nil), "spec.containers[0].env[0].valueFrom", "must specify one of"},
		{"valueFrom no key", podPath, podWith("p8", valueFrom(map[string]any{"configMapKeyRef": map[string]any{"name": "a"}}), nil), "spec.containers[0].env[0].valueFrom.configMapKeyRef.key", "Required value"},
		{"valueFrom bad key", podPath, podWith("p9", valueFrom(map[string]any{"secretKeyRef": map[string]any{"name": "a", "key": "a b"}}), nil), "spec.containers[0].env[0].valueFrom.secretKeyRef.key", "a valid config key"},
		{"valueFrom no name", podPath, podWith("p10", valueFrom(map[string]any{"secretKeyRef": map[string]any{"key": "k"}}), nil), "spec.containers[0].env[0].valueFrom.secretKeyRef.name", "Required value"},
		{"volume none", podPath, podWith("p11", nil, volume(nil)), "spec.volumes[0]", "must specify a volume type"},
		{"volume two", podPath, podWith("p12", nil, volume(map[string]any{"emptyDir": map[string]any{}, "configMap": map[string]any{"name": "a"}})),
			"spec.volumes[0].configMap", "may not specify more than 1 volume type"},
		{"configMap no name", podPath, podWith("p13", nil, volume(map[string]any{"configMap": map[string]any{}})), "spec.volumes[0].configMap.name", "Required value"},
		{"secret no name", podPath, podWith("p14", nil, volume(map[string]any{"secret": map[string]any{}})), "spec.volumes[0].secret.secretName", "Required value"},
		{"defaultMode", podPath, podWith("p15", nil, volume(map[string]any{"configMap": map[string]any{"name": "a", "defaultMode": 0o1000}})),
			"spec.volumes[0].configMap.defaultMode", "must be a number between 0 and 0777 (octal), both inclusive"},
		{"item mode", podPath, podWith("p16", nil, volume(map[string]any{"secret": map[string]any{"secretName": "a", "items": []any{map[string]any{"key": "k", "path": "p", "mode": -1}}}})),
			"spec.volumes[0].secret.items[0].mode", "must be a number between 0 and 0777 (octal), both inclusive"},
		{"item absolute", podPath, podWith("p17", nil, volume(map[string]any{"configMap": map[string]any{"name": "a", "items": []any{map[string]any{"key": "k", "path": "/etc/p"}}}})),
			"spec.volumes[0].configMap.items[0].path", "must be a relative path"},
		{"item dotdot", podPath, podWith("p18", nil, volume(map[string]any{"configMap": map[string]any{"name": "a", "items": []any{map[string]any{"key": "k", "path": "a/../../b"}}}})),
			"spec.volumes[0].configMap.items[0].path", "must not contain '..'"},
		{"item starts dotdot", podPath, podWith("p19", nil, volume(map[string]any{"configMap": map[string]any{"name": "a", "items": []any{map[string]any{"key": "k", "path": "..data"}}}})),
			"spec.volumes[0].configMap.items[0].path", "must not start with '..'"},
		{"item no path", podPath, podWith("p20", nil, volume(map[string]any{"configMap": map[string]any{"name": "a", "items": []any{map[string]any{"key": "k"}}}})),
			"spec.volumes[0].configMap.items[0].path", "Required value"},
		{"item no key", podPath, podWith("p21", nil, volume(map[string]any{"configMap": map[string]any{"name": "a", "items": []any{map[string]any{"path": "p"}}}})),
			"spec.volumes[0].configMap.items[0].key", "Required value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(http.MethodPost, c.path, c.obj)
			if r.code != http.StatusUnprocessableEntity {
				t.Fatalf("got %d %s, want 422", r.code, r.body)
			}
			st := r.status(t)
			found := false
			for _, cause := range st.Details.Causes {
				if cause.Field == c.field && strings.Contains(cause.Message, c.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no cause at %q containing %q in %s", c.field, c.msg, r.body)
			}
			name := c.obj["metadata"].(map[string]any)["name"].(string)
			if !strings.Contains(st.Message, name) {
				t.Errorf("message %q does not name the object %q", st.Message, name)
			}
			e.must(http.StatusNotFound, http.MethodGet, c.path+"/"+name, nil)
		})
	}
}

// TestConfigAccepted stores valid objects of every Secret type and a pod using every source,
// with defaultMode defaulted to 0644.
func TestConfigAccepted(t *testing.T) {
	e := start(t)
	for _, s := range []map[string]any{
		secret("opaque", "", map[string]any{"a": b64("x")}),
		secret("tls", api.SecretTypeTLS, map[string]any{"tls.crt": b64("c"), "tls.key": b64("k")}),
		secret("reg", api.SecretTypeDockerConfigJSON, map[string]any{".dockerconfigjson": b64(`{"auths":{}}`)}),
		secret("cfg", api.SecretTypeDockercfg, map[string]any{".dockercfg": b64(`{}`)}),
		secret("basic", api.SecretTypeBasicAuth, map[string]any{"password": b64("")}),
		secret("ssh", api.SecretTypeSSHAuth, map[string]any{"ssh-privatekey": b64("k")}),
		secret("custom", "example.com/thing", nil),
	} {
		e.must(http.StatusCreated, http.MethodPost, secretPath, s)
	}
	var got api.Secret
	e.must(http.StatusOK, http.MethodGet, secretPath+"/opaque", nil).decode(t, &got)
	if got.Type != api.SecretTypeOpaque {
		t.Fatalf("type %q, want Opaque by default", got.Type)
	}
	e.must(http.StatusCreated, http.MethodPost, cmPath, func() map[string]any {
		c := configMap("both", map[string]any{"a": "1"})
		c["binaryData"] = map[string]any{"b": b64("\x00")}
		return c
	}())
	p := podWith("user", map[string]any{
		"env": []any{
			map[string]any{"name": "A", "valueFrom": map[string]any{"configMapKeyRef": map[string]any{"name": "both", "key": "a"}}},
			map[string]any{"name": "B", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "opaque", "key": "a", "optional": true}}},
			map[string]any{"name": "N", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
		},
		"envFrom":      []any{map[string]any{"prefix": "CM_", "configMapRef": map[string]any{"name": "both"}}, map[string]any{"secretRef": map[string]any{"name": "opaque"}}},
		"volumeMounts": []any{map[string]any{"name": "cm", "mountPath": "/etc/cm"}, map[string]any{"name": "sec", "mountPath": "/etc/sec"}},
	}, []any{
		map[string]any{"name": "cm", "configMap": map[string]any{"name": "both", "items": []any{map[string]any{"key": "a", "path": "dir/a.txt", "mode": 0o600}}}},
		map[string]any{"name": "sec", "secret": map[string]any{"secretName": "opaque", "defaultMode": 0o400}},
	})
	var pod api.Pod
	e.must(http.StatusCreated, http.MethodPost, podPath, p).decode(t, &pod)
	if m := pod.Spec.Volumes[0].ConfigMap.DefaultMode; m == nil || *m != 0o644 {
		t.Fatalf("configMap defaultMode %v, want 0644", m)
	}
	if m := pod.Spec.Volumes[1].Secret.DefaultMode; m == nil || *m != 0o400 {
		t.Fatalf("secret defaultMode %v, want the given 0400", m)
	}
	// The defaulted mode is part of the stored spec: an update that leaves it out (and
	// changes only what a pod update may) is not a change of the spec.
	pod.Spec.Volumes[0].ConfigMap.DefaultMode = nil
	pod.Spec.Containers[0].Image = "hello:2"
	e.must(http.StatusOK, http.MethodPut, podPath+"/user", pod)
	e.must(http.StatusOK, http.MethodPatch, podPath+"/user", `{"metadata":{"labels":{"x":"y"}}}`, contentType("application/merge-patch+json"))
}

// TestSecretStringData: stringData is merged into data (its keys win) by every kind of
// write, and is never stored or returned.
func TestSecretStringData(t *testing.T) {
	e := start(t)
	check := func(t *testing.T, r response, want map[string]string) {
		t.Helper()
		noStringData(t, r.body)
		var s api.Secret
		r.decode(t, &s)
		got := map[string]string{}
		for k, v := range s.Data {
			got[k] = string(v)
		}
		if len(got) != len(want) {
			t.Fatalf("data %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("data %v, want %v", got, want)
			}
		}
		if s.ResourceVersion == "" {
			return // a dry run
		}
		noStringData(t, e.must(http.StatusOK, http.MethodGet, secretPath+"/"+s.Name, nil).body)
		var l struct{ Items []json.RawMessage }
		e.must(http.StatusOK, http.MethodGet, secretPath, nil).decode(t, &l)
		for _, item := range l.Items {
			noStringData(t, item)
		}
	}
	t.Run("create", func(t *testing.T) {
		s := secret("db", "", map[string]any{"user": b64("old"), "keep": b64("k")})
		s["stringData"] = map[string]any{"user": "admin", "password": "hunter2"}
		check(t, e.must(http.StatusCreated, http.MethodPost, secretPath, s), map[string]string{"user": "admin", "password": "hunter2", "keep": "k"})
	})
	t.Run("put", func(t *testing.T) {
		s := secret("db", "", map[string]any{"user": b64("admin")})
		s["stringData"] = map[string]any{"password": "p2"}
		check(t, e.must(http.StatusOK, http.MethodPut, secretPath+"/db", s), map[string]string{"user": "admin", "password": "p2"})
	})
	t.Run("merge patch", func(t *testing.T) {
		r := e.must(http.StatusOK, http.MethodPatch, secretPath+"/db", `{"stringData":{"password":"p3"}}`, contentType("application/merge-patch+json"))
		check(t, r, map[string]string{"user": "admin", "password": "p3"})
	})
	t.Run("strategic patch", func(t *testing.T) {
		r := e.must(http.StatusOK, http.MethodPatch, secretPath+"/db", `{"stringData":{"token":"t"}}`, contentType("application/strategic-merge-patch+json"))
		check(t, r, map[string]string{"user": "admin", "password": "p3", "token": "t"})
	})
	t.Run("json patch", func(t *testing.T) {
		r := e.must(http.StatusOK, http.MethodPatch, secretPath+"/db", `[{"op":"add","path":"/stringData","value":{"token":"t2"}}]`, contentType("application/json-patch+json"))
		check(t, r, map[string]string{"user": "admin", "password": "p3", "token": "t2"})
	})
	t.Run("apply", func(t *testing.T) {
		cfg := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\nstringData:\n  a: one\n"
		r := e.must(http.StatusCreated, http.MethodPatch, secretPath+"/applied?fieldManager=test", cfg, contentType("application/apply-patch+yaml"))
		check(t, r, map[string]string{"a": "one"})
		cfg = strings.Replace(cfg, "a: one", "a: two", 1)
		r = e.must(http.StatusOK, http.MethodPatch, secretPath+"/applied?fieldManager=test", cfg, contentType("application/apply-patch+yaml"))
		check(t, r, map[string]string{"a": "two"})
	})
	t.Run("dry run", func(t *testing.T) {
		s := secret("dry", "", nil)
		s["stringData"] = map[string]any{"a": "x"}
		check(t, e.must(http.StatusCreated, http.MethodPost, secretPath+"?dryRun=All", s), map[string]string{"a": "x"})
	})
}

// noStringData fails unless the Secret in b lacks the write-only stringData (managedFields
// may name it, as in Kubernetes).
func noStringData(t *testing.T, b []byte) {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if _, ok := top["stringData"]; ok {
		t.Fatalf("secret carries stringData: %s", b)
	}
}

// TestConfigImmutable: an immutable ConfigMap or Secret keeps its data and stays immutable,
// and a Secret's type never changes; metadata may still change.
func TestConfigImmutable(t *testing.T) {
	e := start(t)
	cm := configMap("frozen", map[string]any{"a": "1"})
	cm["immutable"] = true
	e.must(http.StatusCreated, http.MethodPost, cmPath, cm)
	s := secret("frozen", "", map[string]any{"a": b64("1")})
	s["immutable"] = true
	e.must(http.StatusCreated, http.MethodPost, secretPath, s)
	e.must(http.StatusCreated, http.MethodPost, secretPath, secret("typed", api.SecretTypeTLS, map[string]any{"tls.crt": b64("c"), "tls.key": b64("k")}))
	merge := contentType("application/merge-patch+json")
	cases := []struct {
		name, path, patch, field, msg string
	}{
		{"cm data", cmPath + "/frozen", `{"data":{"a":"2"}}`, "data", "field is immutable when `immutable` is set"},
		{"cm binaryData", cmPath + "/frozen", `{"binaryData":{"b":"AA=="}}`, "binaryData", "field is immutable when `immutable` is set"},
		{"cm unset immutable", cmPath + "/frozen", `{"immutable":null}`, "immutable", "field is immutable when `immutable` is set"},
		{"cm immutable false", cmPath + "/frozen", `{"immutable":false}`, "immutable", "field is immutable when `immutable` is set"},
		{"secret data", secretPath + "/frozen", `{"data":{"a":"Mg=="}}`, "data", "field is immutable when `immutable` is set"},
		{"secret stringData", secretPath + "/frozen", `{"stringData":{"b":"x"}}`, "data", "field is immutable when `immutable` is set"},
		{"secret immutable false", secretPath + "/frozen", `{"immutable":false}`, "immutable", "field is immutable when `immutable` is set"},
		{"secret type", secretPath + "/typed", `{"type":"Opaque"}`, "type", "field is immutable"},
		{"secret type to default", secretPath + "/typed", `{"type":null}`, "type", "field is immutable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.must(http.StatusOK, http.MethodGet, c.path, nil)
			r := e.do(http.MethodPatch, c.path, c.patch, merge)
			if r.code != http.StatusUnprocessableEntity {
				t.Fatalf("got %d %s, want 422", r.code, r.body)
			}
			found := false
			for _, cause := range r.status(t).Details.Causes {
				found = found || cause.Field == c.field && strings.Contains(cause.Message, c.msg)
			}
			if !found {
				t.Fatalf("no cause at %q containing %q in %s", c.field, c.msg, r.body)
			}
			after := e.must(http.StatusOK, http.MethodGet, c.path, nil)
			if string(before.body) != string(after.body) {
				t.Fatalf("stored object changed:\n%s\n%s", before.body, after.body)
			}
		})
	}
	e.must(http.StatusOK, http.MethodPatch, cmPath+"/frozen", `{"metadata":{"labels":{"x":"y"}}}`, merge)
	e.must(http.StatusOK, http.MethodPatch, secretPath+"/frozen", `{"metadata":{"labels":{"x":"y"}},"data":{"a":"MQ=="}}`, merge)
	e.must(http.StatusOK, http.MethodDelete, cmPath+"/frozen", nil)
}

// TestConfigDiscovery serves configmaps (cm) and secrets with every verb, outside the all
// category.
func TestConfigDiscovery(t *testing.T) {
	e := start(t)
	var list struct {
		Resources []struct {
			Name       string   `json:"name"`
			Kind       string   `json:"kind"`
			Namespaced bool     `json:"namespaced"`
			ShortNames []string `json:"shortNames"`
			Categories []string `json:"categories"`
			Verbs      []string `json:"verbs"`
		} `json:"resources"`
	}
	e.must(http.StatusOK, http.MethodGet, "/api/v1", nil).decode(t, &list)
	want := map[string]string{"configmaps": "ConfigMap", "secrets": "Secret"}
	for _, r := range list.Resources {
		kind, ok := want[r.Name]
		if !ok {
			continue
		}
		delete(want, r.Name)
		if r.Kind != kind || !r.Namespaced || len(r.Categories) != 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
		if r.Name == "configmaps" && (len(r.ShortNames) != 1 || r.ShortNames[0] != "cm") {
			t.Errorf("configmaps short names %v, want [cm]", r.ShortNames)
		}
		verbs := strings.Join(r.Verbs, ",")
		for _, v := range []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"} {
			if !strings.Contains(verbs, v) {
				t.Errorf("%s verbs %v lack %s", r.Name, r.Verbs, v)
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("discovery lacks %v", want)
	}
	e.must(http.StatusCreated, http.MethodPost, cmPath, configMap("a", nil))
	e.must(http.StatusCreated, http.MethodPost, cmPath, configMap("b", nil))
	e.must(http.StatusOK, http.MethodDelete, cmPath+"?labelSelector=", nil)
	var cms api.List[api.ConfigMap]
	e.must(http.StatusOK, http.MethodGet, cmPath, nil).decode(t, &cms)
	if len(cms.Items) != 0 {
		t.Fatalf("deletecollection left %d", len(cms.Items))
	}
}
