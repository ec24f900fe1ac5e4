package deploytest

import (
	"bytes"
	"os"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/wasmkube/wasmkube/control/api"
)

// Manifest reads the doc-th YAML document of file into obj as the API server would: strictly
// (api.Decoder, so an unknown field fails), in namespace default, defaulted and validated.
func Manifest(t testing.TB, file string, doc int, obj api.Object) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(b, []byte("\n---\n"))
	if doc >= len(docs) {
		t.Fatalf("%s has %d documents, want document %d", file, len(docs), doc)
	}
	j, err := yaml.YAMLToJSON(docs[doc])
	if err != nil {
		t.Fatalf("%s document %d: %v", file, doc, err)
	}
	var d api.Decoder
	if err := d.Decode(j, obj); err != nil {
		t.Fatalf("%s document %d: %v", file, doc, err)
	}
	obj.GetObjectMeta().Namespace = api.NamespaceDefault
	api.Default(obj)
	if errs := api.Validate(obj, nil); len(errs) > 0 {
		t.Fatalf("%s is invalid: %v", file, errs)
	}
}
