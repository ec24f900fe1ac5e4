package api

import (
	"os"
	"testing"
)

// BenchmarkDecodeStrictPod is the API server's decoding of a create or update body: a stored
// pod with managedFields (testdata/pod.json, as a client would send it back on an update).
func BenchmarkDecodeStrictPod(b *testing.B) {
	data, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	var d Decoder
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p Pod
		if err := d.Decode(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}
