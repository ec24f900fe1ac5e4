package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/server"
	"github.com/wasmkube/wasmkube/runner/hollow"
	"github.com/wasmkube/wasmkube/samples"
)

func newUpCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a local cluster with the sample app deployed, and keep it running until Ctrl-C",
		Long: `Start a local cluster in one process: the control plane on embedded etcd, its runner
node(s), and the sample app (samples/hello/hello.yaml). It prints how to reach the cluster and
stays in the foreground until interrupted, then stops everything it started. Running it again
on the same --data-dir resumes the same cluster.

Until Wasm runners exist, the nodes are hollow: they report pods Running without running
their modules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			nodes := v.GetInt("nodes")
			if nodes < 1 {
				return fmt.Errorf("--nodes %d: want at least 1", nodes)
			}
			log, err := logger(v, s)
			if err != nil {
				return err
			}
			cfg := server.DefaultConfig()
			cfg.DataDir = v.GetString("data-dir")
			cfg.APIAddr = v.GetString("api-addr")
			cfg.Logger = log
			// Runners renew their leases every second: a lost node is noticed within 3s and its
			// pods are replaced at once.
			cfg.NodeMonitorGracePeriod = 3 * time.Second
			cfg.PodEvictionTimeout = new(time.Duration)
			return up(cmd.Context(), s, cfg, nodes)
		},
	}
	f := cmd.Flags()
	f.String("data-dir", defaultDataDir("up"), "where the cluster keeps its state; reuse it to resume the cluster")
	f.String("api-addr", "127.0.0.1:6443", "address the API server listens on")
	f.Int("nodes", 1, "how many nodes to run")
	f.String("log-level", "warn", "debug, info, warn or error")
	return cmd
}

func up(ctx context.Context, s *streams, cfg server.Config, nodes int) error {
	fmt.Fprintf(s.out, "starting wasmkube in %s ...\n", cfg.DataDir)
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Stop(stopCtx)
	}()
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	r, err := hollow.New(hollow.Config{Client: srv.Client(), Nodes: nodes, NamePrefix: "node-",
		RenewInterval: time.Second, LeaseDuration: 4 * time.Second, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	runErr := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); runErr <- r.Run(runCtx) }()

	kc := srv.KubeconfigPath()
	fmt.Fprintf(s.out, "API server at %s with %d node(s)\ndeploying the sample app (samples/hello/hello.yaml):\n", srv.URL(), nodes)
	if code := run([]string{"apply", "-f", "-", "--kubeconfig", kc}, bytes.NewReader(samples.HelloManifest), s.out, s.err); code != 0 {
		return exitError{code: code}
	}
	if code := run([]string{"rollout", "status", "deployment", "hello", "--timeout", "2m", "--kubeconfig", kc}, nil, s.out, s.err); code != 0 {
		return exitError{code: code}
	}
	_ = run([]string{"get", "deploy,pods,svc", "-o", "wide", "--kubeconfig", kc}, nil, s.out, s.err)
	fmt.Fprintf(s.out, `
wasmkube is up. Use it with:

  export KUBECONFIG=%s
  wk get pods            (or kubectl get pods)

The hello Service is NodePort 30080; its front door opens once Services are served by runners.
Press Ctrl-C to stop; 'wk up --data-dir %s' resumes this cluster.
`, kc, cfg.DataDir)
	select {
	case <-ctx.Done():
		fmt.Fprintln(s.out, "stopping ...")
		return nil
	case err := <-runErr:
		return fmt.Errorf("node agent stopped: %w", err)
	}
}
