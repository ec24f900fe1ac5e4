package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseManifests(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []string // kind/namespace/name of each object, in order
		wantErr string
	}{
		{name: "one document", data: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n", want: []string{"Namespace//a"}},
		{name: "separators, comments and empty documents",
			data: "---\n# nothing here\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ns1}\n--- # next\n\n---   \napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
			want: []string{"Service/ns1/s", "Namespace//b"}},
		{name: "a line starting with dashes is not a separator",
			data: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  annotations:\n    x: |\n      ---x\n", want: []string{"Namespace//a"}},
		{name: "json stream", data: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}`, want: []string{"Namespace//a", "Namespace//b"}},
		{name: "list", data: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d, namespace: x}}\n",
			want: []string{"Namespace//a", "Deployment/x/d"}},
		{name: "typed list names its items' kind", data: "apiVersion: v1\nkind: NamespaceList\nitems:\n- metadata: {name: a}\n",
			want: []string{"Namespace//a"}},
		{name: "empty file", data: "# only a comment\n"},
		{name: "bad yaml in the second document",
			data:    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: [b\n",
			wantErr: "error parsing f.yaml (document 2, starting at line 6): yaml: line 9: did not find expected ',' or ']'"},
		{name: "tab indentation", data: "apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: a\n",
			wantErr: "error parsing f.yaml (document 1, starting at line 1): yaml: line 4: found character that cannot start any token"},
		{name: "not an object", data: "- a\n- b\n", wantErr: "error parsing f.yaml (document 1, starting at line 1): the document is not an object"},
		{name: "no name", data: "apiVersion: v1\nkind: Namespace\n", wantErr: `error validating "f.yaml" (document 1): metadata.name not set`},
		{name: "no kind nor apiVersion", data: "metadata: {name: a}\n",
			wantErr: `error validating "f.yaml" (document 1): error validating data: [apiVersion not set, kind not set]`},
		{name: "bad json", data: `{"apiVersion": "v1",}`, wantErr: "error parsing f.yaml (document 1): invalid character '}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := parseManifests("f.yaml", []byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to start with %q", err, tt.wantErr)
				}
				if objs != nil {
					t.Fatalf("objects %v returned with an error", objs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.kind+"/"+o.namespace+"/"+o.name)
				var m map[string]any
				if err := json.Unmarshal(o.raw, &m); err != nil || m["kind"] != o.kind {
					t.Errorf("raw JSON of %s: %v %v", o.name, err, m)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("objects %v, want %v", got, tt.want)
			}
		})
	}
}

func TestContainerName(t *testing.T) {
	for _, tt := range []struct{ image, want string }{
		{"hello:v1", "hello"},
		{"registry.local:5000/team/hello.wasm:v1", "hello"},
		{"hello@sha256:0123", "hello"},
		{"file:///srv/My_App.wasm", "my-app"},
		{"https://example.com/m/x.wasm@sha256:ab", "x"},
		{"___", "app"},
	} {
		if got := containerName(tt.image); got != tt.want {
			t.Errorf("containerName(%q) = %q, want %q", tt.image, got, tt.want)
		}
	}
}

// BenchmarkParseManifests measures reading a 200-document manifest file, as apply -f does.
func BenchmarkParseManifests(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&sb, "---\n%s", strings.Replace(helloDeployment, "name: hello\n", fmt.Sprintf("name: hello-%d\n", i), 1))
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		objs, err := parseManifests("bench.yaml", data)
		if err != nil || len(objs) != 200 {
			b.Fatalf("%d objects, %v", len(objs), err)
		}
	}
}

// BenchmarkPrintObjects measures -o yaml of a 200-object list.
func BenchmarkPrintObjects(b *testing.B) {
	objs, err := parseManifests("bench.yaml", []byte(strings.Repeat("---\n"+helloDeployment, 200)))
	if err != nil {
		b.Fatal(err)
	}
	raws := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		raws[i] = o.raw
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := printObjects(discard{}, "yaml", raws, true, false); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
