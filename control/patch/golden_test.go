package patch

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got, indented, with testdata/name, or rewrites the file
// with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", name, buf.Bytes())
	}
}

// TestApplyGolden runs the life of a Deployment through the wire format:
// kubectl apply creates it, kubectl scale changes replicas through the scale
// subresource, the controller writes status, and a second apply changes the
// image without mentioning replicas.
func TestApplyGolden(t *testing.T) {
	doc, err := readTestdata("deployment.json")
	if err != nil {
		t.Fatal(err)
	}
	o := newObject(t, "Deployment")
	o.mustApply("kubectl", string(doc))
	o.update("kubectl-scale", `{"spec":{"replicas":5}}`, "scale")
	o.update("deployment-controller", `{"status":{"replicas":5,"observedGeneration":8}}`, "status")
	cfg := strings.Replace(strings.Replace(string(doc), "web:1.9.2", "web:1.9.3", 1), `"replicas": 3,`, "", 1)
	o.mustApply("kubectl", cfg)
	o.wantValue("spec.replicas", json.Number("5"))
	golden(t, "deployment-lifecycle.golden.json", o.body)
}
