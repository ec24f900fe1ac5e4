package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/server"
)

func defaultDataDir(name string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "wk-"+name)
	}
	return filepath.Join(home, ".wk", name)
}

func newServerCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a control plane: embedded etcd, the API server, controllers, scheduler and a runner",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			cfg, err := serverConfig(v, s)
			if err != nil {
				return err
			}
			return runServer(cmd.Context(), s, cfg, v)
		},
	}
	f := cmd.Flags()
	f.String("data-dir", defaultDataDir("server"), "where etcd data, the cluster CA, tokens and the kubeconfig live")
	f.String("api-addr", "127.0.0.1:6443", "address the API server listens on (HOST:PORT)")
	f.StringSlice("tls-san", nil, "extra host names or IPs for the API server's certificate")
	f.StringSlice("etcd-endpoints", nil, "use this external etcd cluster instead of the embedded member")
	f.String("etcd-client-url", "", "where the embedded etcd serves clients (http://127.0.0.1:PORT), so more servers can join with --etcd-endpoints (default: a free port)")
	f.Bool("runner", true, "also run a runner (node agent) in this process")
	f.String("node-name", "", "name of the in-process runner's node (default: the host name)")
	f.Duration("node-monitor-grace-period", 0, "how long a node may miss lease renewals before it is NotReady (default 40s)")
	f.Duration("pod-eviction-timeout", -1, "how long a node stays NotReady before its pods are replaced elsewhere (default 5s)")
	f.String("load-balancer-pool", "127.0.100.0/24", "where LoadBalancer Services get their EXTERNAL-IP (a CIDR)")
	f.Duration("event-ttl", apiserver.DefaultEventTTL, "how long an Event is kept after its last write, as kube-apiserver's --event-ttl")
	f.String("log-level", "warn", "debug, info, warn or error")
	return cmd
}

func logger(v *viper.Viper, s *streams) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(v.GetString("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", v.GetString("log-level"))
	}
	return slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level})), nil
}

func serverConfig(v *viper.Viper, s *streams) (server.Config, error) {
	log, err := logger(v, s)
	if err != nil {
		return server.Config{}, err
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = v.GetString("data-dir")
	cfg.APIAddr = v.GetString("api-addr")
	cfg.Hosts = v.GetStringSlice("tls-san")
	cfg.EtcdEndpoints = v.GetStringSlice("etcd-endpoints")
	cfg.EtcdClientURL = v.GetString("etcd-client-url")
	cfg.NodeMonitorGracePeriod = v.GetDuration("node-monitor-grace-period")
	if d := v.GetDuration("pod-eviction-timeout"); d >= 0 {
		cfg.PodEvictionTimeout = &d
	}
	if pool := v.GetString("load-balancer-pool"); pool != "" {
		if cfg.LoadBalancerPool, err = netip.ParsePrefix(pool); err != nil {
			return server.Config{}, fmt.Errorf("--load-balancer-pool %q: want a CIDR such as 127.0.100.0/24", pool)
		}
	}
	if cfg.EventTTL = v.GetDuration("event-ttl"); cfg.EventTTL <= 0 {
		return server.Config{}, fmt.Errorf("--event-ttl %q: want a positive duration such as 1h", v.GetString("event-ttl"))
	}
	cfg.Logger = log
	return cfg, cfg.Validate()
}

// runServer starts the control plane (and, unless --runner=false, the in-process runner) and
// serves until the command's context ends (Ctrl-C or SIGTERM).
func runServer(ctx context.Context, s *streams, cfg server.Config, v *viper.Viper) error {
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Stop(stopCtx)
	}()
	fmt.Fprintf(s.out, "wasmkube API server at %s\nexport KUBECONFIG=%s\n", srv.URL(), srv.KubeconfigPath())
	if err := plugRemoteLogs(srv); err != nil {
		cfg.Logger.Warn("logs of other runners' pods will not be served", "err", err)
	}
	if v.GetBool("runner") {
		node := v.GetString("node-name")
		if node == "" {
			node = hostNodeName()
		}
		return runInProcessRunner(ctx, srv, runnerOptions{node: node, ip: "127.0.0.1", dataDir: cfg.DataDir, logger: cfg.Logger})
	}
	<-ctx.Done()
	return nil
}
