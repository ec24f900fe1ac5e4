package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// benchValue is the size of a small Kubernetes object in JSON.
var benchValue = make([]byte, 1024)

func benchStore(b *testing.B, noFsync bool) *Store {
	b.Helper()
	return newStore(b, startEtcd(b, EtcdConfig{UnsafeNoFsync: noFsync}), Config{})
}

func forEachSync(b *testing.B, f func(b *testing.B, s *Store)) {
	for _, noFsync := range []bool{false, true} {
		name := "fsync"
		if noFsync {
			name = "nofsync"
		}
		b.Run(name, func(b *testing.B) { f(b, benchStore(b, noFsync)) })
	}
}

func BenchmarkCreate(b *testing.B) {
	forEachSync(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		b.SetBytes(int64(len(benchValue)))
		i := 0
		for b.Loop() {
			if _, err := s.Create(ctx, Key("pods", "default", fmt.Sprint("p", i)), benchValue); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	})
}

func BenchmarkCreateParallel(b *testing.B) {
	forEachSync(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		var n atomic.Int64
		b.SetBytes(int64(len(benchValue)))
		b.SetParallelism(8) // 8 goroutines per core: writers wait on raft and fsync, not CPU
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Create(ctx, Key("pods", "default", fmt.Sprint("p", n.Add(1))), benchValue); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	})
}

// BenchmarkGet reads one key: the API server's GET of one object.
func BenchmarkGet(b *testing.B) {
	s := benchStore(b, true)
	ctx := context.Background()
	key := Key("pods", "default", "web")
	mustCreate(b, s, key, string(benchValue))
	for b.Loop() {
		if _, err := s.Get(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWatchFanout writes b.N objects under a prefix that n watchers follow; an
// iteration ends when every watcher has received its event.
func BenchmarkWatchFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprint("watchers=", n), func(b *testing.B) {
			s := benchStore(b, true)
			ctx := context.Background()
			prefix := Prefix("pods", "")
			watchers := make([]*Watcher, n)
			for i := range watchers {
				watchers[i] = s.Watch(ctx, prefix, 0)
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for _, w := range watchers {
				wg.Go(func() {
					for got := 0; got < b.N; {
						ev, ok := <-w.ResultChan()
						if !ok {
							b.Error("watch closed early")
							return
						}
						if ev.Type == Error {
							b.Error(ev.Err)
							return
						}
						if ev.Type != Bookmark {
							got++
						}
					}
				})
			}
			for i := range b.N {
				if _, err := s.Create(ctx, Key("pods", "default", fmt.Sprint("p", i)), benchValue); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
			for _, w := range watchers {
				w.Stop()
			}
		})
	}
}
