package apiserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchPod is a small pod manifest with a name placeholder.
const benchPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","labels":{"app":"bench"}},"spec":{"containers":[{"name":"app","image":"bench:1","ports":[{"containerPort":8080}],"resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}}`

// BenchmarkCreatePods creates pods from 32 concurrent clients over HTTPS, each with its
// own connection, speaking HTTP/2 (as client-go does) or HTTP/1.1, and reports creates/s and
// the 99th percentile latency. "h2-shared" has the 32 share one HTTP/2 connection, as the
// goroutines of one client process do.
func BenchmarkCreatePods(b *testing.B) {
	for _, proto := range []string{"h2", "http1", "h2-shared"} {
		b.Run(proto, func(b *testing.B) {
			e := start(b)
			newClient := func() *http.Client {
				client := e.api.HTTPClient()
				if proto == "http1" {
					tr := client.Transport.(*http.Transport)
					tr.ForceAttemptHTTP2 = false
					tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
					tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
				}
				b.Cleanup(client.CloseIdleConnections)
				return client
			}
			shared := newClient()
			url := e.api.URL + podsPath
			auth := "Bearer " + e.api.Token
			var n atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 16 per core: 32 clients on this 2-core machine
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				client := shared
				if proto != "h2-shared" {
					mu.Lock()
					client = newClient()
					mu.Unlock()
				}
				var mine []time.Duration
				for pb.Next() {
					body := fmt.Sprintf(benchPod, "p-"+strconv.FormatInt(n.Add(1), 10))
					req, _ := http.NewRequestWithContext(context.Background(), "POST", url, bytes.NewReader([]byte(body)))
					req.Header.Set("Authorization", auth)
					req.Header.Set("Content-Type", "application/json")
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("create: %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
			if len(lat) > 0 {
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// BenchmarkWatchFanout writes one pod per iteration while n HTTP watchers follow the pods;
// an iteration ends when every watcher has received its event.
func BenchmarkWatchFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprint("watchers=", n), func(b *testing.B) {
			e := start(b)
			p := e.createPod("start", nil)
			ws := make([]*watch, n)
			for i := range ws {
				ws[i] = e.watch(podsPath + "?watch=1&resourceVersion=" + p.ResourceVersion)
			}
			auth := "Bearer " + e.api.Token
			b.ResetTimer()
			for i := range b.N {
				body := fmt.Sprintf(benchPod, "w-"+strconv.Itoa(i))
				req, _ := http.NewRequest("POST", e.api.URL+podsPath, bytes.NewReader([]byte(body)))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				resp, err := e.client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				for _, w := range ws {
					if ev := w.next(false); ev.Type != "ADDED" {
						b.Fatalf("event %s", ev.Type)
					}
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
