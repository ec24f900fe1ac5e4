//go:build unix

package client_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/client"
)

// reportCPU, deferred as defer reportCPU(b)(), reports the process's CPU time (user and
// system) per operation as cpu-us/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N), "cpu-us/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInProcess compares one client's pod GET and CREATE over HTTP/2+TLS with the same
// requests served in memory by the same API server. Besides wall time it reports the
// process's CPU time per request (client, API server and etcd together), which holds on a
// machine shared with other work.
func BenchmarkInProcess(b *testing.B) {
	tlsc, inproc, _ := startInProcess(b)
	ensureNamespace(b, tlsc, "bench-inproc")
	ctx := context.Background()
	if _, err := client.Pods(tlsc).Namespace("bench-inproc").Create(ctx, newPod("target", nil)); err != nil {
		b.Fatal(err)
	}
	for _, tr := range []struct {
		name string
		c    *client.Client
	}{{"tls", tlsc}, {"inprocess", inproc}} {
		pods := client.Pods(tr.c).Namespace("bench-inproc")
		b.Run("get/"+tr.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := pods.Get(ctx, "target"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("get-parallel/"+tr.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := pods.Get(ctx, "target"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		var n atomic.Int64
		b.Run("create/"+tr.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := pods.Create(ctx, newPod(fmt.Sprintf("%s-%d", tr.name, n.Add(1)), nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
