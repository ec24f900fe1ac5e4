package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// TestSettingsLayering checks the order every option is read in: a flag wins over a WK_*
// variable, which wins over the --config file, which wins over the default.
func TestSettingsLayering(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wk.yaml")
	if err := os.WriteFile(file, []byte("api-addr: 127.0.0.1:1111\nlog-level: error\nnode-name: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, flag, key, want string
	}{
		{"default", "", "", "data-dir", defaultDataDir("server")},
		{"file over default", "", "", "api-addr", "127.0.0.1:1111"},
		{"env over file", "WK_API_ADDR=127.0.0.1:2222", "", "api-addr", "127.0.0.1:2222"},
		{"flag over env", "WK_API_ADDR=127.0.0.1:2222", "--api-addr=127.0.0.1:3333", "api-addr", "127.0.0.1:3333"},
		{"dash becomes underscore", "WK_NODE_NAME=from-env", "", "node-name", "from-env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := serverSettings(t, tc.env, "--config", file, tc.flag)
			if got := v.GetString(tc.key); got != tc.want {
				t.Fatalf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

// serverSettings sets env (NAME=value, if not empty), parses args (empty ones skipped) as
// wk server's flags and returns the settings read from them.
func serverSettings(t *testing.T, env string, args ...string) *viper.Viper {
	t.Helper()
	if k, v, ok := strings.Cut(env, "="); ok {
		t.Setenv(k, v)
	}
	cmd := newServerCmd(&streams{})
	cmd.Flags().String("config", "", "") // a persistent flag of the root in real use
	var set []string
	for _, a := range args {
		if a != "" {
			set = append(set, a)
		}
	}
	if err := cmd.ParseFlags(set); err != nil {
		t.Fatal(err)
	}
	v, err := settings(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
