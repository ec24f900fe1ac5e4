package main

import "testing"

func TestBenchScheduler(t *testing.T) {
	fields := []string{"nodes", "pods", "policies", "bound", "pods_per_s", "p50_ms", "p99_ms", "decision_us", "decisions", "cpu_ms_per_pod", "rss_mb", "heap_mb"}
	tests := []struct {
		name     string
		policies string
		cluster  bool // against a running cluster by --kubeconfig instead of its own
	}{
		{"no policies", "0", false},
		{"three policies", "3", false},
		{"existing cluster", "3", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"bench", "scheduler", "--nodes", "6", "--pods", "30", "--concurrency", "4", "--policies", tt.policies}
			if tt.cluster {
				args = append(args, "--kubeconfig", startCluster(t).kubeconfig)
			}
			fig := benchJSON(t, fields, args...)
			if fig["bound"] != 30.0 || fig["nodes"] != 6.0 {
				t.Errorf("figures %v: want 30 pods bound on 6 nodes", fig)
			}
			if v, _ := fig["cpu_ms_per_pod"].(float64); v <= 0 {
				t.Errorf("cpu_ms_per_pod = %v, want a time", fig["cpu_ms_per_pod"])
			}
		})
	}
}
