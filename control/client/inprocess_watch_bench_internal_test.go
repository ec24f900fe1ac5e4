//go:build unix

package client

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// BenchmarkInProcessWatchEvents measures one pod update seen by four in-process watchers,
// taking the watch cache's objects ("objects") or decoding the JSON of each event ("json", the
// path a watcher of another type takes). Besides wall time it reports the process's CPU time
// per update (API server, etcd and watchers together).
func BenchmarkInProcessWatchEvents(b *testing.B) {
	_, a := startBoth(b)
	ctx := b.Context()
	if _, err := Namespaces(a).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "bw"}}); err != nil {
		b.Fatal(err)
	}
	pods := Pods(a).Namespace("bw")
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "target", Labels: map[string]string{"app": "x"}},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1", Env: []api.EnvVar{
			{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}}}}}
	if _, err := pods.Create(ctx, p); err != nil {
		b.Fatal(err)
	}
	req := Request{Path: pods.collection("bw"), Query: ListOptions{}.query(true)}
	for _, mode := range []struct {
		name   string
		shared bool
	}{{"objects", true}, {"json", false}} {
		b.Run(mode.name, func(b *testing.B) {
			var ws []*Watcher[*api.Pod]
			for range 4 {
				w, err := openWatch(ctx, a, req, "pods", pods.decodeFrom, mode.shared)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Stop()
				ws = append(ws, w)
			}
			start := cpuTimeB(b)
			n := 0
			for b.Loop() {
				n++
				patch := fmt.Sprintf(`{"metadata":{"annotations":{"n":"%d"}}}`, n)
				up, err := pods.Patch(ctx, "target", MergePatch, []byte(patch))
				if err != nil {
					b.Fatal(err)
				}
				for _, w := range ws {
					for ev := range w.Events() {
						if ev.Err != nil {
							b.Fatal(ev.Err)
						}
						if ev.Object.ResourceVersion == up.ResourceVersion {
							break
						}
					}
				}
			}
			b.ReportMetric(float64((cpuTimeB(b)-start).Microseconds())/float64(b.N), "cpu-us/op")
		})
	}
}

func cpuTimeB(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
