package peer

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchPeers starts a server answering 64 bytes to every request and a client connected to it.
func benchPeers(b *testing.B) (*Client, string) {
	p := newPKI(b)
	reply := []byte(strings.Repeat("r", 64))
	srv := listen(b, "", ServerTLS(p.node(b, "b"), p.pool), func(_ Target, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write(reply)
	})
	c := newClient(b, ClientTLS(p.node(b, "a"), p.pool))
	addr := srv.Addr().String()
	benchOne(b, c, addr) // dial outside the measurement
	return c, addr
}

// benchOne sends one POST with a 64-byte body and reads the response.
func benchOne(b *testing.B, c *Client, addr string) {
	req, _ := http.NewRequest("POST", "http://web.default/path?q=1", strings.NewReader(strings.Repeat("q", 64)))
	resp, err := c.RoundTrip(addr, testTarget, req)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

// BenchmarkRoundTrip measures one request at a time over an established connection.
func BenchmarkRoundTrip(b *testing.B) {
	c, addr := benchPeers(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		benchOne(b, c, addr)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkRoundTripParallel measures concurrent requests sharing the connection (GOMAXPROCS x
// 16 goroutines).
func BenchmarkRoundTripParallel(b *testing.B) {
	c, addr := benchPeers(b)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchOne(b, c, addr)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
