package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestServerFlagEventTTL(t *testing.T) {
	for _, tc := range []struct {
		name, env, flag string
		want            time.Duration
		err             string
	}{
		{"default", "", "", time.Hour, ""},
		{"flag", "", "--event-ttl=10m", 10 * time.Minute, ""},
		{"env", "WK_EVENT_TTL=90s", "", 90 * time.Second, ""},
		{"zero", "", "--event-ttl=0s", 0, "--event-ttl \"0s\": want a positive duration"},
		{"negative", "", "--event-ttl=-1m", 0, "want a positive duration"},
		{"not a duration", "WK_EVENT_TTL=soon", "", 0, "--event-ttl \"soon\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := serverSettings(t, tc.env, "--data-dir", t.TempDir(), tc.flag)
			cfg, err := serverConfig(v, &streams{out: io.Discard, err: io.Discard})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("serverConfig error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("serverConfig: %v", err)
			}
			if cfg.EventTTL != tc.want {
				t.Errorf("EventTTL = %v, want %v", cfg.EventTTL, tc.want)
			}
		})
	}
}
