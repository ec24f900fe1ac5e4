package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/server"
	"github.com/wasmkube/wasmkube/samples"
)

func newUpCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a local cluster with the sample app deployed, and keep it running until Ctrl-C",
		Long: `Start a local cluster: the control plane on embedded etcd with its own runner at the
node address --node-ip, and --nodes minus one more runners as separate processes on the next
addresses (127.0.0.2, 127.0.0.3, ...). It builds the sample modules and pushes them to the
cluster's registry, deploys the sample app (samples/hello/hello.yaml), waits until it answers,
and prints how to reach it. It stays in the foreground until interrupted, then stops everything
it started. Running it again on the same --data-dir resumes the same cluster.`,
		Example: `  wk up
  wk up --nodes 3
  curl http://127.0.0.1:30080/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			opts := upOptions{nodes: v.GetInt("nodes"), logLevel: v.GetString("log-level")}
			if opts.nodes < 1 {
				return fmt.Errorf("--nodes %d: want at least 1", opts.nodes)
			}
			if opts.firstIP, err = netip.ParseAddr(v.GetString("node-ip")); err != nil || !opts.firstIP.Is4() || !opts.firstIP.IsLoopback() {
				return fmt.Errorf("--node-ip %q: want an IPv4 loopback address such as 127.0.0.1", v.GetString("node-ip"))
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
			return up(cmd.Context(), s, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.String("data-dir", defaultDataDir("up"), "where the cluster keeps its state; reuse it to resume the cluster")
	f.String("api-addr", "127.0.0.1:6443", "address the API server listens on")
	f.Int("nodes", 1, "how many runner nodes to run; the first in this process, the others as child processes")
	f.String("node-ip", "127.0.0.1", "address of the first node; the others take the next addresses")
	f.String("log-level", "warn", "debug, info, warn or error")
	return cmd
}

// upOptions are wk up's settings besides the server's.
type upOptions struct {
	nodes    int
	firstIP  netip.Addr
	logLevel string
}

// upNode is one node of a wk up cluster.
type upNode struct {
	name string
	ip   netip.Addr
}

func (o upOptions) nodeList() []upNode {
	out := make([]upNode, o.nodes)
	ip := o.firstIP
	for i := range out {
		out[i] = upNode{name: fmt.Sprintf("node-%d", i+1), ip: ip}
		ip = ip.Next()
	}
	return out
}

func up(ctx context.Context, s *streams, cfg server.Config, opts upOptions) error {
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
	if err := plugRemoteLogs(srv); err != nil {
		cfg.Logger.Warn("logs of other runners' pods will not be served", "err", err)
	}
	nodes := opts.nodeList()
	runCtx, cancel := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runErr <- runInProcessRunner(runCtx, srv, runnerOptions{node: nodes[0].name, ip: nodes[0].ip.String(),
			dataDir: cfg.DataDir, logger: cfg.Logger})
	}()
	defer func() { cancel(); <-done }()
	for _, n := range nodes[1:] {
		child, err := startChildRunner(srv, cfg.DataDir, n, opts.logLevel)
		if err != nil {
			return err
		}
		defer child.stop(cfg.Logger)
	}

	kc := srv.KubeconfigPath()
	fmt.Fprintf(s.out, "API server at %s with %d node(s)\n", srv.URL(), len(nodes))
	if err := pushSamples(ctx, s, kc); err != nil {
		return err
	}
	var urls bytes.Buffer
	for _, n := range nodes {
		fmt.Fprintf(&urls, "  curl http://%s:30080/\n", n.ip)
	}
	sample := "The sample app answers on every node:\n\n" + urls.String()
	if err := deploySample(ctx, s, kc, nodes); err != nil {
		// The cluster is what wk up is for: a sample that someone changed into an invalid
		// or failing state on a resumed cluster is reported, and the cluster stays up.
		sample = fmt.Sprintf("The sample app is not serving: %v.\n'wk describe deployment hello' tells why; 'wk delete -f samples/hello/hello.yaml' and\nanother 'wk up' deploy it afresh.\n", err)
	}
	fmt.Fprintf(s.out, `
wasmkube is up. %s
Use the cluster with:

  export KUBECONFIG=%s
  wk get pods            (or kubectl get pods)

Press Ctrl-C to stop; 'wk up --data-dir %s' resumes this cluster.
`, sample, kc, cfg.DataDir)
	select {
	case <-ctx.Done():
		fmt.Fprintln(s.out, "stopping ...")
		return nil
	case err := <-runErr:
		return fmt.Errorf("runner %s stopped: %w", nodes[0].name, err)
	}
}

// deploySample applies samples/hello/hello.yaml, waits for its rollout and prints it, and waits
// until it answers on every node.
func deploySample(ctx context.Context, s *streams, kc string, nodes []upNode) error {
	fmt.Fprintln(s.out, "deploying the sample app (samples/hello/hello.yaml):")
	// The sample is wk up's own, as K3s's auto-deployed manifests are its: every start applies
	// it again and takes back the fields it sets (a resumed cluster where someone scaled it or
	// set its image would otherwise fail here with a conflict). Fields it does not set stay.
	if code := run([]string{"apply", "-f", "-", "--force-conflicts", "--kubeconfig", kc}, bytes.NewReader(samples.HelloManifest), s.out, s.err); code != 0 {
		return errors.New("applying samples/hello/hello.yaml failed (above)")
	}
	if code := run([]string{"rollout", "status", "deployment", "hello", "--timeout", "2m", "--kubeconfig", kc}, nil, s.out, s.err); code != 0 {
		return errors.New("its rollout did not finish (above)")
	}
	_ = run([]string{"get", "deploy,pods,svc", "-o", "wide", "--kubeconfig", kc}, nil, s.out, s.err)
	return waitAnswers(ctx, nodes, 30080)
}

// pushSamples builds the sample modules from the source tree and pushes them: hello as hello:v1
// and hello:v2 (the two versions of the walkthrough differ in their VERSION variable).
func pushSamples(ctx context.Context, s *streams, kubeconfig string) error {
	dir, err := sampleDir("hello")
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "building %s ...\n", dir)
	for _, tag := range []string{"hello:v1", "hello:v2"} {
		var out bytes.Buffer
		code := run([]string{"build", "-t", tag, dir, "--kubeconfig", kubeconfig}, nil, &out, s.err)
		if code != 0 {
			return exitError{code: code}
		}
		fmt.Fprintf(s.out, "pushed %s %s", tag, out.String())
	}
	return nil
}

// sampleDir finds samples/NAME of the wasmkube source tree from the working directory or one of
// its parents: wk up builds the samples from source.
func sampleDir(name string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(mod, []byte("module github.com/wasmkube/wasmkube\n")) {
			return filepath.Join(dir, "samples", name), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("wk up builds the sample modules from source: run it inside the wasmkube source tree (git clone, then go run ./cmd/wk up)")
		}
	}
}

// childRunner is a `wk runner` process started by wk up.
type childRunner struct {
	node    upNode
	proc    *os.Process
	done    chan struct{}
	pidFile string // <data-dir>/<node>.pid while it runs
}

// startChildRunner starts `wk runner` for n in a child process joined with the join token; its
// output goes to <data-dir>/<node>.log.
func startChildRunner(srv *server.Server, dataDir string, n upNode, logLevel string) (*childRunner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start runner %s: %w", n.name, err)
	}
	logf, err := os.OpenFile(filepath.Join(dataDir, n.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("start runner %s: %w", n.name, err)
	}
	defer logf.Close()
	args := []string{exe, "runner", "--server", srv.URL(), "--ca-file", filepath.Join(dataDir, "pki", "ca.crt"),
		"--node-name", n.name, "--node-ip", n.ip.String(), "--data-dir", filepath.Join(dataDir, n.name),
		"--lease-renew-interval", "1s", "--log-level", logLevel}
	env := append(os.Environ(), "WK_TOKEN="+srv.Bundle().JoinToken)
	proc, err := os.StartProcess(exe, args, &os.ProcAttr{Env: env, Files: []*os.File{nil, logf, logf}})
	if err != nil {
		return nil, fmt.Errorf("start runner %s: %w", n.name, err)
	}
	c := &childRunner{node: n, proc: proc, done: make(chan struct{}), pidFile: filepath.Join(dataDir, n.name+".pid")}
	go func() { _, _ = proc.Wait(); close(c.done) }()
	if err := os.WriteFile(c.pidFile, fmt.Appendf(nil, "%d\n", proc.Pid), 0o640); err != nil {
		c.stop(slog.New(slog.DiscardHandler))
		return nil, fmt.Errorf("start runner %s: %w", n.name, err)
	}
	return c, nil
}

// stop interrupts the runner and waits for it, killing it after 15s.
func (c *childRunner) stop(log *slog.Logger) {
	_ = c.proc.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		log.Warn("runner did not stop in 15s; killing it", "node", c.node.name)
		_ = c.proc.Kill()
		<-c.done
	}
	_ = os.Remove(c.pidFile)
}

// waitAnswers waits until the sample app answers on port of every node, for up to a minute.
func waitAnswers(ctx context.Context, nodes []upNode, port int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, n := range nodes {
		url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(n.ip, uint16(port)))
		for {
			err := getOK(ctx, hc, url)
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the sample app does not answer at %s: %w", url, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func getOK(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}
