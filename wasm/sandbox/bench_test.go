package sandbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// discard is a reusable http.ResponseWriter, so that benchmarks measure the sandbox.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// benchModules are the two modules of the figures: the hello sample (a Go guest) and the minimal
// hand-written module.
func benchModules(b *testing.B) map[string][]byte {
	return map[string][]byte{"hello": helloWasm(b), "minimal": minimalHTTP()}
}

func benchPod(b *testing.B, rt *sandbox.Runtime, wasm []byte, name string, maxInstances int) *sandbox.Pod {
	return startPod(b, rt, sandbox.PodConfig{Name: name, Containers: []sandbox.ContainerConfig{{
		Name: "c", Module: compile(b, rt, wasm), Ports: []int{8080}, MaxInstances: maxInstances,
		Env: []string{"VERSION=v1"}}}})
}

// BenchmarkHandle calls a warm instance's handler through Pod.ServeHTTP, one request at a time,
// with wazero's termination checks (the default) and without (TrustedGuests).
func BenchmarkHandle(b *testing.B) {
	for name, wasm := range benchModules(b) {
		for _, trusted := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/trusted=%v", name, trusted), func(b *testing.B) {
				rt := newRuntime(b, sandbox.RuntimeConfig{TrustedGuests: trusted})
				p := benchPod(b, rt, wasm, "bench", 1)
				w := &discard{h: http.Header{}}
				r := httptest.NewRequest("GET", "/", nil)
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					p.ServeHTTP(8080, w, r)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			})
		}
	}
}

// BenchmarkHandleParallel is BenchmarkHandle from GOMAXPROCS goroutines on as many instances.
func BenchmarkHandleParallel(b *testing.B) {
	for name, wasm := range benchModules(b) {
		b.Run(name, func(b *testing.B) {
			rt := newRuntime(b, sandbox.RuntimeConfig{})
			p := benchPod(b, rt, wasm, "bench", runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &discard{h: http.Header{}}
				r := httptest.NewRequest("GET", "/", nil)
				for pb.Next() {
					clear(w.h)
					p.ServeHTTP(8080, w, r)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// BenchmarkInstantiate replaces an HTTP container's instance: a new instance, its _initialize,
// and closing the old one.
func BenchmarkInstantiate(b *testing.B) {
	for name, wasm := range benchModules(b) {
		b.Run(name, func(b *testing.B) {
			rt := newRuntime(b, sandbox.RuntimeConfig{})
			p := benchPod(b, rt, wasm, "bench", 1)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Restart(context.Background(), "c"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPodMemory starts b.N pods of one warm instance each and reports what each holds: the
// process's resident memory, the Go heap, and linear memory. Run with -benchtime=Nx to
// choose the number of pods.
func BenchmarkPodMemory(b *testing.B) {
	for name, wasm := range benchModules(b) {
		b.Run(name, func(b *testing.B) {
			rt := newRuntime(b, sandbox.RuntimeConfig{})
			m := compile(b, rt, wasm)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rssBefore := rss(b)
			pods := make([]*sandbox.Pod, 0, b.N)
			for i := 0; b.Loop(); i++ {
				pods = append(pods, startPod(b, rt, sandbox.PodConfig{Name: fmt.Sprintf("p%d", i),
					Containers: []sandbox.ContainerConfig{{Name: "c", Module: m, Ports: []int{8080}}}}))
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			var linear uint64
			for _, p := range pods {
				linear += p.Stats()[0].MemoryBytes
			}
			n := float64(len(pods))
			b.ReportMetric(float64(rss(b)-rssBefore)/n, "rss-bytes/pod")
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/pod")
			b.ReportMetric(float64(linear)/n, "linear-bytes/pod")
			b.ReportMetric(n, "pods")
		})
	}
}

// rss returns the process's resident set size, from /proc (0 where there is none).
func rss(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	fmt.Sscan(string(data), &size, &resident)
	return resident * int64(os.Getpagesize())
}
