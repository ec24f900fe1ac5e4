package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/control/server"
	"github.com/wasmkube/wasmkube/runner/hollow"
	"github.com/wasmkube/wasmkube/runner/kubelet"
)

func newRunnerCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runner",
		Short: "Join a cluster as a runner (node agent); --hollow N runs N simulated nodes",
		Long: `Join a cluster as a runner: register the node --node-name at --node-ip and run the
Wasm pods bound to it, keeping compiled modules, pod volumes and logs under --data-dir. The API
server is found through --server, --token and --ca-file, or through the kubeconfig
(--kubeconfig, $KUBECONFIG, ~/.wk/config).

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
			c, caPEM, err := runnerClient(v)
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
			if n <= 0 {
				return runRealRunner(cmd.Context(), s, v, c, caPEM, labels, log)
			}
			prefix := v.GetString("node-name")
			if prefix == "" {
				prefix = "hollow-"
			}
			cfg := hollow.Config{Client: c, Nodes: n, NamePrefix: prefix, Labels: labels,
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
	f.String("node-name", "", "node name (default: the host name, lowercased; for --hollow the prefix of node names, default hollow-)")
	f.String("node-ip", "127.0.0.1", "the node's address: its InternalIP and its pods' IP")
	f.String("data-dir", defaultDataDir("runner"), "where compiled modules, pod volumes and logs live")
	f.String("memory", "", "the node's memory capacity, e.g. 8Gi (default: half the physical memory)")
	f.Int("max-pods", 5000, "the node's pods capacity")
	f.Int("log-port", 10250, "HTTPS port on --node-ip where the API server reads pod logs (0: none)")
	f.Int("metrics-port", defaultMetricsPort, "port on --node-ip of the proxy's Prometheus /metrics (0: none)")
	f.StringSlice("node-labels", nil, "labels for the node(s), key=value")
	f.Duration("lease-renew-interval", 0, "how often node leases are renewed (default 1s; 10s with --hollow)")
	f.String("log-level", "warn", "debug, info, warn or error")
	return cmd
}

// runnerClient builds the runner's client from --server/--token/--ca-file, or the kubeconfig; it
// also returns the cluster CA.
func runnerClient(v *viper.Viper) (*client.Client, []byte, error) {
	if srv := v.GetString("server"); srv != "" {
		token := v.GetString("token")
		caFile := v.GetString("ca-file")
		if token == "" || caFile == "" {
			return nil, nil, errors.New("runner: --server needs --token (the join token) and --ca-file (the cluster CA)")
		}
		ca, err := os.ReadFile(caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("runner: read --ca-file: %w", err)
		}
		c, err := client.New(&client.Config{Server: srv, Token: strings.TrimSpace(token), CAPEM: ca, UserAgent: "wk-runner"})
		return c, ca, err
	}
	home, _ := os.UserHomeDir()
	path := pki.ResolvePath(v.GetString("kubeconfig"), os.Getenv, home)
	if path == "" {
		return nil, nil, errors.New("runner: no API server: give --server, --token and --ca-file, or a kubeconfig (--kubeconfig, $KUBECONFIG, ~/.wk/config)")
	}
	cfg, err := client.FromKubeconfig(path, v.GetString("context"))
	if err != nil {
		return nil, nil, err
	}
	cfg.UserAgent = "wk-runner"
	c, err := client.New(cfg)
	return c, cfg.CAPEM, err
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

// runRealRunner runs a Wasm runner (node agent) until the command's context ends.
func runRealRunner(ctx context.Context, s *streams, v *viper.Viper, c *client.Client, caPEM []byte, labels map[string]string, log *slog.Logger) error {
	cfg := kubelet.Config{Client: c, NodeName: v.GetString("node-name"), NodeIP: v.GetString("node-ip"),
		DataDir: v.GetString("data-dir"), Labels: labels, MaxPods: v.GetInt("max-pods"),
		RenewInterval: v.GetDuration("lease-renew-interval"), Logger: log, ClusterCA: caPEM}
	modules, err := registry.NewSource(registry.SourceConfig{Client: c, CacheDir: filepath.Join(cfg.DataDir, "modules")})
	if err != nil {
		return err
	}
	cfg.Modules = modules
	if port := v.GetInt("log-port"); port > 0 {
		cfg.LogListen = net.JoinHostPort(cfg.NodeIP, strconv.Itoa(port))
	}
	if cfg.NodeName == "" {
		cfg.NodeName = hostNodeName()
	}
	if m := v.GetString("memory"); m != "" {
		q, err := api.ParseQuantity(m)
		if err != nil {
			return fmt.Errorf("runner: --memory %q: %w", m, err)
		}
		cfg.MemoryBytes = q.Value()
	}
	metrics := ""
	if port := v.GetInt("metrics-port"); port > 0 {
		metrics = net.JoinHostPort(cfg.NodeIP, strconv.Itoa(port))
	}
	st, err := newRunnerStack(ctx, cfg, caPEM, metrics)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "runner %s (%s) joined %s\n", cfg.NodeName, cfg.NodeIP, c.Server())
	return st.run(ctx)
}

// hostNodeName is the default node name: the host name, lowercased.
func hostNodeName() string {
	host, _ := os.Hostname()
	return strings.ToLower(host)
}

// defaultMetricsPort serves a runner's /metrics, as kube-proxy's 10249.
const defaultMetricsPort = 10249

// runnerOptions configure the runner that wk server and wk up run in process.
type runnerOptions struct {
	node, ip, dataDir string
	logger            *slog.Logger
}

// runInProcessRunner runs the server's own Wasm runner until ctx ends, with its node at
// o.ip and its data under <server data-dir>/runner; the API server serves its pods' logs
// straight from it.
func runInProcessRunner(ctx context.Context, srv *server.Server, o runnerOptions) error {
	dir := filepath.Join(o.dataDir, "runner")
	modules, err := registry.NewSource(registry.SourceConfig{Client: srv.Client(), CacheDir: filepath.Join(dir, "modules")})
	if err != nil {
		return err
	}
	st, err := newRunnerStack(ctx, kubelet.Config{Client: srv.Client(), NodeName: o.node, NodeIP: o.ip,
		DataDir: dir, LeaseDuration: 10 * time.Second, Logger: o.logger, Modules: modules},
		srv.Bundle().CA.CertPEM, net.JoinHostPort(o.ip, strconv.Itoa(defaultMetricsPort)))
	if err != nil {
		return err
	}
	srv.SetNodeLogs(o.node, st.kubelet)
	defer srv.SetNodeLogs(o.node, nil)
	return st.run(ctx)
}

// plugRemoteLogs lets the API server read the logs of runners in other processes over HTTPS,
// presenting a client certificate from the cluster CA.
func plugRemoteLogs(srv *server.Server) error {
	certPEM, keyPEM, err := srv.Bundle().CA.Issue(pki.CertRequest{CommonName: kubelet.LogClientCommonName, Client: true}, time.Now())
	if err != nil {
		return fmt.Errorf("issue the runner log client certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("load the runner log client certificate: %w", err)
	}
	nodes := client.Nodes(srv.Client())
	srv.SetRemoteLogs(&kubelet.RemoteLogs{ClientCert: cert,
		Node: func(ctx context.Context, name string) (*api.Node, error) { return nodes.Get(ctx, name) }})
	return nil
}
