package main

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

const helloDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  labels: {app: hello}
spec:
  replicas: 2
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
      - name: hello
        image: hello:v1
        ports:
        - containerPort: 8080
`

const helloService = `apiVersion: v1
kind: Service
metadata:
  name: hello
spec:
  selector: {app: hello}
  ports:
  - port: 80
    targetPort: 8080
`

func TestApply(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	deps := client.Deployments(tc.c)
	both := tc.file(t, "hello.yaml", helloDeployment+"---\n"+helloService)

	tests := []struct {
		name    string
		stdin   string
		args    []string
		wantOut string
		wantErr string // a substring of stderr; empty means the command must succeed quietly
	}{
		{name: "create", args: []string{"apply", "-f", both},
			wantOut: "deployment.apps/hello created\nservice/hello created\n"},
		{name: "unchanged", args: []string{"apply", "-f", both},
			wantOut: "deployment.apps/hello unchanged\nservice/hello unchanged\n"},
		{name: "configured", args: []string{"apply", "-f", tc.file(t, "scaled.yaml",
			strings.Replace(helloDeployment, "replicas: 2", "replicas: 3", 1))},
			wantOut: "deployment.apps/hello configured\n"},
		{name: "stdin", stdin: helloService, args: []string{"apply", "-f", "-"},
			wantOut: "service/hello unchanged\n"},
		{name: "namespace flag", args: []string{"apply", "-n", "other", "-f", tc.file(t, "ns.yaml",
			"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n---\n"+helloService)},
			wantOut: "namespace/other created\nservice/hello created\n"},
		{name: "namespace mismatch", args: []string{"apply", "-n", "default", "-f", tc.file(t, "mismatch.yaml",
			strings.Replace(helloService, "name: hello", "name: hello\n  namespace: other", 1))},
			wantErr: `error: the namespace from the provided object "other" does not match the namespace "default". You must pass '--namespace=other' to perform this operation.`},
		{name: "json list", args: []string{"apply", "-f", tc.file(t, "list.json", `{"apiVersion": "v1", "kind": "List", "items": [
			{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "from-json"}},
			{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "json", "namespace": "from-json"},
			 "spec": {"selector": {"app": "x"}, "ports": [{"port": 81}]}}]}`)},
			wantOut: "namespace/from-json created\nservice/json created\n"},
		{name: "recursive directory", args: []string{"apply", "-R", "-f", dirOf(tc.file(t, "tree/a/one.yaml",
			"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tree-one\n"), tc.file(t, "tree/b/two.yml",
			"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tree-two\n"), tc.file(t, "tree/readme.txt", "not a manifest"))},
			wantOut: "namespace/tree-one created\nnamespace/tree-two created\n"},
		{name: "malformed yaml applies nothing from the file", args: []string{"apply", "-f", tc.file(t, "bad.yaml",
			"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: never\n---\n# second\napiVersion: v1\nkind: Service\nmetadata:\n  name: x\n spec: [\n")},
			wantErr: `error: error parsing ` + tc.dir + `/bad.yaml (document 2, starting at line 6): yaml: line 10: did not find expected key`},
		{name: "unknown kind", args: []string{"apply", "-f", tc.file(t, "foo.yaml", "apiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n")},
			wantErr: `error: resource mapping not found for name: "x" namespace: "" from "` + tc.dir + `/foo.yaml": no matches for kind "Foo" in version "v1"`},
		{name: "misspelt field", args: []string{"apply", "-f", tc.file(t, "typo.yaml",
			strings.Replace(helloDeployment, "replicas: 2", "replicass: 2", 1))},
			wantErr: `spec.replicass`},
		{name: "invalid name", args: []string{"apply", "-f", tc.file(t, "badname.yaml",
			strings.Replace(helloService, "name: hello", "name: Hello_World", 1))},
			wantErr: `The Service "Hello_World" is invalid: metadata.name: Invalid value: "Hello_World"`},
		{name: "missing file", args: []string{"apply", "-f", tc.dir + "/nope.yaml"},
			wantErr: `error: the path "` + tc.dir + `/nope.yaml" does not exist`},
		{name: "missing kind", args: []string{"apply", "-f", tc.file(t, "nokind.yaml", "apiVersion: v1\nmetadata:\n  name: x\n")},
			wantErr: `error: error validating "` + tc.dir + `/nokind.yaml" (document 1): error validating data: [kind not set]`},
		{name: "no server-side", args: []string{"apply", "--server-side=false", "-f", both},
			wantErr: "error: --server-side=false is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tc.wk(t, tt.stdin, tt.args...)
			if tt.wantErr == "" {
				if r.code != 0 || r.err != "" {
					t.Fatalf("exit %d, stderr:\n%s", r.code, r.err)
				}
			} else {
				if r.code == 0 {
					t.Fatalf("exit 0, want a failure; stdout:\n%s", r.out)
				}
				if !strings.Contains(r.err, tt.wantErr) {
					t.Fatalf("stderr:\n%s\nwant it to contain:\n%s", r.err, tt.wantErr)
				}
			}
			if r.out != tt.wantOut {
				t.Fatalf("stdout:\n%s\nwant:\n%s", r.out, tt.wantOut)
			}
		})
	}

	d, err := deps.Namespace("default").Get(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got := api.Deref(d.Spec.Replicas, 0); got != 3 {
		t.Errorf("replicas = %d after the configured apply, want 3", got)
	}
	if len(d.ManagedFields) == 0 || d.ManagedFields[0].Manager != "wk" || d.ManagedFields[0].Operation != "Apply" {
		t.Errorf("managedFields = %+v, want an Apply entry of manager wk", d.ManagedFields)
	}
	if _, err := client.Namespaces(tc.c).Get(ctx, "never"); !api.IsNotFound(err) {
		t.Errorf("namespace from the malformed file: err = %v, want NotFound (nothing applied)", err)
	}
}

func TestApplyConflict(t *testing.T) {
	tc := startCluster(t)
	f := tc.file(t, "hello.yaml", helloDeployment)
	tc.mustWK(t, "apply", "-f", f)
	// Another manager takes spec.replicas.
	patch := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"hello"},"spec":{"replicas":5}}`
	if _, err := client.Deployments(tc.c).Namespace("default").Apply(context.Background(), "hello", []byte(patch), "other", true); err != nil {
		t.Fatal(err)
	}
	r := tc.wk(t, "", "apply", "-f", f)
	if r.code == 0 || !strings.Contains(r.err, "--force-conflicts") || !strings.Contains(r.err, "error: ") {
		t.Fatalf("apply over another manager's field: exit %d, stderr:\n%s", r.code, r.err)
	}
	if out := tc.mustWK(t, "apply", "--force-conflicts", "-f", f); out != "deployment.apps/hello configured\n" {
		t.Fatalf("apply --force-conflicts: %q", out)
	}
}

// dirOf returns the directory holding the first of the files (which the caller has created).
func dirOf(paths ...string) string {
	p := paths[0]
	return p[:strings.Index(p, "/tree/")+len("/tree")]
}
