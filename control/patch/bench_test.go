package patch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

// kubectlPatch is the shape of patch kubectl apply sends to change an image
// and an env var of one container of a Deployment.
const kubectlPatch = `{"metadata":{"labels":{"team":"checkout"}},"spec":{"replicas":4,"template":{"spec":{
 "$setElementOrder/containers":[{"name":"web"},{"name":"log-shipper"},{"name":"auth-proxy"}],
 "containers":[{"name":"web","image":"web:1.9.3",
  "$setElementOrder/env":[{"name":"MODE"},{"name":"CACHE_DIR"},{"name":"LOG_LEVEL"},{"name":"REGION"},{"name":"POD_NAME"}],
  "env":[{"name":"LOG_LEVEL","value":"debug"}]}]}}}}`

func BenchmarkStrategic(b *testing.B) {
	doc, err := readTestdata("deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Strategic(doc, []byte(kubectlPatch), "Deployment"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	doc, err := readTestdata("deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	p := []byte(`{"metadata":{"labels":{"team":"checkout"}},"spec":{"replicas":4}}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(doc, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply re-applies the full Deployment with one image changed, on a
// live object that already has two managers.
func BenchmarkApply(b *testing.B) {
	doc, err := readTestdata("deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	live, managed, err := Apply(nil, doc, "Deployment", "kubectl", false, nil, t0)
	if err != nil {
		b.Fatal(err)
	}
	next, err := Strategic(live, []byte(`{"spec":{"replicas":5}}`), "Deployment")
	if err != nil {
		b.Fatal(err)
	}
	managed, err = RecordUpdate(live, next, "kubectl-scale", managed, t0, "scale")
	if err != nil {
		b.Fatal(err)
	}
	if live, err = SetManagedFields(next, managed); err != nil {
		b.Fatal(err)
	}
	cfg := []byte(strings.Replace(strings.Replace(string(doc), "web:1.9.2", "web:1.9.3", 1), `"replicas": 3,`, "", 1))
	b.SetBytes(int64(len(live)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Apply(live, cfg, "Deployment", "kubectl", false, managed, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecordUpdate(b *testing.B) {
	doc, err := readTestdata("deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	next, err := Strategic(doc, []byte(kubectlPatch), "Deployment")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RecordUpdate(doc, next, "kubectl", nil, t0, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordUpdateOwned is the common write: the manager that wrote every field
// changes one it owns (as a runner renewing its node's lease does).
func BenchmarkRecordUpdateOwned(b *testing.B) {
	doc, err := readTestdata("deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	managed, err := RecordUpdate(nil, doc, "kubectl", nil, t0, "")
	if err != nil {
		b.Fatal(err)
	}
	next, err := Strategic(doc, []byte(`{"spec":{"replicas":7}}`), "Deployment")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RecordUpdate(doc, next, "kubectl", managed, t0, ""); err != nil {
			b.Fatal(err)
		}
	}
}
