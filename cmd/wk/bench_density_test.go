package main

import (
	"os"
	"strings"
	"testing"
)

func TestBenchDensity(t *testing.T) {
	wk := wkBin(t)
	fields := []string{"module", "target", "pods", "runner", "runner_rss_before_mb", "runner_rss_after_mb", "rss_per_pod_kb",
		"runner_heap_before_mb", "runner_heap_after_mb", "heap_per_pod_kb", "runner_cpu_ms_per_pod", "idle_runner_rss_mb", "idle_server_rss_mb"}
	tests := []struct {
		name     string
		args     []string
		wantPods float64
		stopped  string // in the figures' "stopped"; empty: it must not have stopped
	}{
		{name: "reaches --pods", args: []string{"--pods", "5", "--batch", "2"}, wantPods: 5},
		{name: "stops at the memory budget", args: []string{"--pods", "6", "--batch", "2", "--memory-budget", "1Mi"},
			wantPods: 2, stopped: "memory budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench", "density", "--module", "minimal", "--settle", "100ms", "--wk", wk}, tt.args...)
			fig := benchJSON(t, fields, args...)
			stopped, _ := fig["stopped"].(string)
			if fig["pods"] != tt.wantPods || (tt.stopped == "") != (stopped == "") || !strings.Contains(stopped, tt.stopped) {
				t.Errorf("pods %v, stopped %q; want %v pods, stopped with %q", fig["pods"], stopped, tt.wantPods, tt.stopped)
			}
			for _, k := range []string{"idle_runner_rss_mb", "idle_server_rss_mb", "runner_rss_after_mb"} {
				if v, _ := fig[k].(float64); v <= 0 {
					t.Errorf("%s = %v, want a size", k, fig[k])
				}
			}
		})
	}
}

func TestProcRSS(t *testing.T) {
	tests := []struct {
		name    string
		pid     int
		wantErr bool
	}{
		{"this process", os.Getpid(), false},
		{"no such process", 1 << 30, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mb, err := procRSSMB(tt.pid)
			if (err != nil) != tt.wantErr || (err == nil && mb <= 0) {
				t.Errorf("procRSSMB(%d) = %v, %v", tt.pid, mb, err)
			}
		})
	}
}

func TestProcCPUSeconds(t *testing.T) {
	busy := 0
	for i := range 50_000_000 { // some CPU time to see
		busy += i
	}
	s, err := procCPUSeconds(os.Getpid())
	if err != nil || s <= 0 || busy == 0 {
		t.Errorf("procCPUSeconds = %v, %v", s, err)
	}
}

func TestGctraceLive(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"go 1.26 line", "gc 7 @1.203s 2%: 0.021+1.2+0.004 ms clock, 0.04+0.3/0.9/0+0.009 ms cpu, 12->13->6 MB, 14 MB goal, 0 MB stacks, 0 MB globals, 2 P", "6"},
		{"forced", "gc 9 @120.1s 0%: 0.01+0.5+0.01 ms clock, 0.02+0/0.4/0+0.02 ms cpu, 30->30->27 MB, 55 MB goal, 1 MB stacks, 0 MB globals, 2 P (forced)", "27"},
		{"not a gc line", "runner bench-runner (127.0.0.1) joined", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if m := gctraceLive.FindStringSubmatch(tt.line); m != nil {
				got = m[3]
			}
			if got != tt.want {
				t.Errorf("live heap %q, want %q", got, tt.want)
			}
		})
	}
}
