package apiserver

import (
	"os"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// BenchmarkDecodeStored decodes a stored pod as a read, the watch cache and the write path
// do (../api/testdata/pod.json).
func BenchmarkDecodeStored(b *testing.B) {
	data, err := os.ReadFile("../api/testdata/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	var r *resource
	for _, ri := range api.Resources() {
		if ri.Resource == "pods" {
			r = &resource{ResourceInfo: ri}
		}
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeStored(r, data, 42); err != nil {
			b.Fatal(err)
		}
	}
}
