package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestBenchProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest and runs two runners; skipped with -short")
	}
	// A node address of its own, so that parallel tests' front doors never meet this one's.
	nodeIP := fmt.Sprintf("127.%d.%d.1", 1+rand.N(250), rand.N(256))
	fig := benchJSON(t, []string{"duration_s", "concurrency", "local", "remote", "inprocess",
		"added_p50_ms", "added_p99_ms", "h3_vs_http1", "requests", "errors"},
		"bench", "proxy", "--duration", "200ms", "--concurrency", "1,4", "--node-ip", nodeIP)
	if fig["errors"] != 0.0 {
		t.Errorf("errors %v: %v", fig["errors"], fig["first_error"])
	}
	cases := func(path string, m any) {
		byConc, ok := m.(map[string]any)
		if !ok {
			t.Errorf("%s: %v is not an object", path, m)
			return
		}
		for _, conc := range []string{"c1", "c4"} {
			c, ok := byConc[conc].(map[string]any)
			if !ok {
				t.Errorf("%s: no %s in %v", path, conc, byConc)
				continue
			}
			if rps, p50, p99 := c["rps"].(float64), c["p50_ms"].(float64), c["p99_ms"].(float64); rps <= 0 || p50 <= 0 || p99 < p50 {
				t.Errorf("%s %s: rps %v, p50 %v, p99 %v", path, conc, rps, p50, p99)
			}
		}
	}
	for _, path := range []string{"local", "remote"} {
		byProto, _ := fig[path].(map[string]any)
		for _, proto := range []string{"http1", "h2c", "h3"} {
			cases(path+" "+proto, byProto[proto])
		}
	}
	cases("inprocess", fig["inprocess"])
}

func TestBenchProxyFlags(t *testing.T) {
	tests := []struct{ name, flag, value, want string }{
		{"concurrency not a number", "--concurrency", "1,x", "want positive numbers"},
		{"concurrency zero", "--concurrency", "0", "want positive numbers"},
		{"node address not loopback", "--node-ip", "10.0.0.1", "want an IPv4 loopback address"},
		{"no duration", "--duration", "0s", "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{"bench", "proxy", tt.flag, tt.value}, nil, &out, &errb); code == 0 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q, want an error with %q", code, errb.String(), tt.want)
			}
		})
	}
}

func TestParseConcurrency(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"1,64", []int{1, 64}},
		{"64, 1,1", []int{1, 64}},
		{"8", []int{8}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseConcurrency(tt.in)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("parseConcurrency(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
