package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// watchStream is n MODIFIED events of ../api/testdata/pod.json, written as the API server
// writes them: one JSON object a line.
func watchStream(tb testing.TB, n int) []byte {
	pod, err := os.ReadFile("../api/testdata/pod.json")
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	for range n {
		ev, err := json.Marshal(api.WatchEvent{Type: api.Modified, Object: pod})
		if err != nil {
			tb.Fatal(err)
		}
		buf.Write(ev)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkWatchDecode runs a stream of 100 pod events through a typed watcher's decoding, as
// an informer's watch receives them.
func BenchmarkWatchDecode(b *testing.B) {
	const n = 100
	stream := watchStream(b, n)
	r := &Resource[*api.Pod]{endpoint: endpoint{info: podsInfo(b)}}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		w := benchWatcher(r, io.NopCloser(bytes.NewReader(stream)))
		got := 0
		for ev := range w.Events() {
			if ev.Err != nil {
				b.Fatal(ev.Err)
			}
			got++
		}
		if got != n {
			b.Fatalf("%d events, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

func podsInfo(tb testing.TB) api.ResourceInfo {
	for _, ri := range api.Resources() {
		if ri.Resource == "pods" {
			return ri
		}
	}
	tb.Fatal("no pods resource")
	return api.ResourceInfo{}
}

// benchWatcher starts r's watch decoding on body without a server.
func benchWatcher(r *Resource[*api.Pod], body io.ReadCloser) *Watcher[*api.Pod] {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher[*api.Pod]{events: make(chan Event[*api.Pod], watchBuffer), cancel: cancel, body: body, done: make(chan struct{})}
	go w.run(ctx, body, "pods", r.decodeFrom)
	return w
}
