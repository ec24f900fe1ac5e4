package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/control/server"
	"github.com/wasmkube/wasmkube/runner/hollow"
)

func newRunnerCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runner",
		Short: "Join a cluster as a runner (node agent); --hollow N runs N simulated nodes",
		Long: `Join a cluster as a runner. The API server is found through --server, --token and
--ca-file, or through the kubeconfig (--kubeconfig, $KUBECONFIG, ~/.wk/config).

--hollow N registers N simulated nodes in this process: they renew their leases and report the
pods bound to them Running and Ready without running anything. They stand in for Wasm runners
in tests and scale benchmarks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			n := v.GetInt("hollow")
			if n <= 0 {
				return errors.New("runner: Wasm runners come with the Wasm pods work; for now run simulated nodes with --hollow N (N >= 1)")
			}
			c, err := runnerClient(v)
			if err != nil {
				return err
			}
			defer c.Close()
			log, err := logger(v, s)
			if err != nil {
				return err
			}
			labels, err := parseLabels(v.GetStringSlice("node-labels"))
			if err != nil {
				return err
			}
			cfg := hollow.Config{Client: c, Nodes: n, NamePrefix: v.GetString("node-name"), Labels: labels,
				RenewInterval: v.GetDuration("lease-renew-interval"), Logger: log}
			if cfg.RenewInterval > 0 && cfg.RenewInterval*4 > 40*time.Second {
				cfg.LeaseDuration = cfg.RenewInterval * 4
			}
			r, err := hollow.New(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "running %d hollow node(s) against %s\n", n, c.Server())
			return ignoreCanceled(r.Run(cmd.Context()))
		},
	}
	f := cmd.Flags()
	f.Int("hollow", 0, "run this many simulated nodes")
	f.String("server", "", "the API server URL (default: from the kubeconfig)")
	f.String("token", "", "the join token (<server data-dir>/join-token)")
	f.String("ca-file", "", "the cluster CA certificate (<server data-dir>/pki/ca.crt)")
	f.String("node-name", "hollow-", "node name (the prefix of hollow node names)")
	f.StringSlice("node-labels", nil, "labels for the node(s), key=value")
	f.Duration("lease-renew-interval", 0, "how often node leases are renewed (default 10s)")
	f.String("log-level", "warn", "debug, info, warn or error")
	return cmd
}

// runnerClient builds the runner's client from --server/--token/--ca-file, or the kubeconfig.
func runnerClient(v *viper.Viper) (*client.Client, error) {
	if srv := v.GetString("server"); srv != "" {
		token := v.GetString("token")
		caFile := v.GetString("ca-file")
		if token == "" || caFile == "" {
			return nil, errors.New("runner: --server needs --token (the join token) and --ca-file (the cluster CA)")
		}
		ca, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("runner: read --ca-file: %w", err)
		}
		return client.New(&client.Config{Server: srv, Token: strings.TrimSpace(token), CAPEM: ca, UserAgent: "wk-runner"})
	}
	home, _ := os.UserHomeDir()
	path := pki.ResolvePath(v.GetString("kubeconfig"), os.Getenv, home)
	if path == "" {
		return nil, errors.New("runner: no API server: give --server, --token and --ca-file, or a kubeconfig (--kubeconfig, $KUBECONFIG, ~/.wk/config)")
	}
	cfg, err := client.FromKubeconfig(path, v.GetString("context"))
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "wk-runner"
	return client.New(cfg)
}

func parseLabels(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, val, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--node-labels %q: want key=value", p)
		}
		out[k] = val
	}
	return out, nil
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// runInProcessRunner runs the server's own node until ctx ends. Until Wasm runners exist it is
// a hollow node named after the host.
func runInProcessRunner(ctx context.Context, srv *server.Server, node string) error {
	r, err := hollow.New(hollow.Config{Client: srv.Client(), Nodes: 1, NamePrefix: node + "-",
		RenewInterval: time.Second, LeaseDuration: 10 * time.Second})
	if err != nil {
		return err
	}
	return ignoreCanceled(r.Run(ctx))
}
