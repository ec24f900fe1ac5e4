package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/runner/identity"
	"github.com/wasmkube/wasmkube/runner/kubelet"
	"github.com/wasmkube/wasmkube/runner/proxy"
)

// identityTimeout bounds the wait for the runner's certificate to be signed.
const identityTimeout = 30 * time.Second

// runnerStack is what makes a node: the runner's certificate from the cluster CA, its Service
// proxy, the kubelet that runs its pods, and the proxy's metrics endpoint.
type runnerStack struct {
	kubelet *kubelet.Runner
	proxy   *proxy.Proxy
	metrics string // host:port of /metrics; empty serves none
	log     *slog.Logger
}

// newRunnerStack bootstraps the runner's identity (through a CertificateSigningRequest signed
// by the cluster CA, kept under DataDir/pki), binds its proxy's peer listener and builds its
// kubelet from cfg, with the proxy's peer port on the Node and the proxy as the guests'
// outbound transport. caPEM is the cluster CA.
func newRunnerStack(ctx context.Context, cfg kubelet.Config, caPEM []byte, metricsAddr string) (*runnerStack, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ip := net.ParseIP(cfg.NodeIP)
	if ip == nil {
		return nil, fmt.Errorf("runner: --node-ip %q is not an IP address", cfg.NodeIP)
	}
	idCtx, cancel := context.WithTimeout(ctx, identityTimeout)
	defer cancel()
	cert, err := identity.Ensure(idCtx, cfg.Client, caPEM, filepath.Join(cfg.DataDir, "pki"), cfg.NodeName,
		[]net.IP{ip}, []string{cfg.NodeName})
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("runner: the cluster CA is not a PEM certificate")
	}
	st := &runnerStack{metrics: metricsAddr, log: cfg.Logger}
	st.proxy, err = proxy.New(proxy.Config{Client: cfg.Client, NodeName: cfg.NodeName, NodeIP: cfg.NodeIP,
		Cert: cert, ClusterCA: pool, Logger: cfg.Logger.With("component", "proxy"),
		Local: func(namespace, pod string) (proxy.Backend, bool) {
			if p, ok := st.kubelet.Pod(namespace, pod); ok {
				return p, true
			}
			return nil, false
		}})
	if err != nil {
		return nil, err
	}
	cfg.Annotations = map[string]string{proxy.PeerPortAnnotation: strconv.Itoa(st.proxy.PeerPort())}
	cfg.Outbound = st.proxy.Outbound
	if st.kubelet, err = kubelet.New(cfg); err != nil {
		// The proxy holds its peer listener until run: run it on a dead context to release it.
		dead, cancel := context.WithCancel(ctx)
		cancel()
		_ = st.proxy.Run(dead)
		return nil, err
	}
	return st, nil
}

// run runs the proxy, the kubelet and the metrics endpoint until ctx ends or the kubelet
// stops; it returns the kubelet's error.
func (st *runnerStack) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := st.proxy.Run(ctx); err != nil {
			st.log.Error("proxy stopped", "err", err)
		}
	})
	if st.metrics != "" {
		// A metrics port already taken (another runner on this address) costs the metrics,
		// not the node.
		ln, err := net.Listen("tcp", st.metrics)
		if err != nil {
			st.log.Warn("no /metrics endpoint", "addr", st.metrics, "err", err)
		} else {
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", st.proxy.Metrics())
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
			wg.Go(func() { _ = srv.Serve(ln) })
			wg.Go(func() { <-ctx.Done(); _ = srv.Close() })
		}
	}
	err := st.kubelet.Run(ctx)
	cancel()
	return ignoreCanceled(err)
}

// The registry's source lets a runner compile each module digest once, whatever tag names it.
var _ kubelet.DigestResolver = (*registry.Source)(nil)
