package controller

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func loadPod(tb testing.TB) *api.Pod {
	data, err := os.ReadFile("../api/testdata/pod.json")
	if err != nil {
		tb.Fatal(err)
	}
	var p api.Pod
	if err := json.Unmarshal(data, &p); err != nil {
		tb.Fatal(err)
	}
	return &p
}

func TestClonePod(t *testing.T) {
	p := loadPod(t)
	c := Clone(p)
	if !reflect.DeepEqual(p, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", p, c)
	}
	c.Labels["app"] = "changed"
	c.ManagedFields[0].FieldsV1[2] = 'X'
	if p.Labels["app"] != "bench" || p.ManagedFields[0].FieldsV1[2] == 'X' {
		t.Fatal("clone shares memory with the original")
	}
}

// BenchmarkClonePod deep-copies a pod with managedFields, as controllers do before writing.
func BenchmarkClonePod(b *testing.B) {
	p := loadPod(b)
	b.ReportAllocs()
	for b.Loop() {
		Clone(p)
	}
}
