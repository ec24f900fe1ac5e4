// Package server assembles wasmkube's control plane in one process: the cluster's identity
// (CA, tokens, kubeconfig), the etcd member (embedded, or external endpoints), the API server,
// and, under a leader lease, the controllers and the scheduler. It owns the start and stop order;
// the pieces themselves live in their own packages.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/control/store"
)

// Config configures a control-plane process. Zero fields take the defaults in their comments.
type Config struct {
	// DataDir holds the etcd data, the PKI, the tokens and the kubeconfig. Required.
	DataDir string
	// APIAddr is where the API server listens (127.0.0.1:6443; port 0 picks a free one).
	APIAddr string
	// Hosts are extra names and addresses for the serving certificate.
	Hosts []string
	// EtcdEndpoints, when set, use an external etcd cluster instead of the embedded member.
	EtcdEndpoints []string
	// EtcdClientURL is where the embedded member serves etcd clients (http://127.0.0.1:PORT),
	// so further servers can share this cluster with EtcdEndpoints; empty picks a free port.
	EtcdClientURL string
	// Controllers runs the controllers and the scheduler (under a leader lease) in this
	// process (true by default through DefaultConfig; a pure API server sets it false).
	Controllers bool
	// Scheduler runs the built-in scheduler alongside the controllers (true by default through
	// DefaultConfig). A process that runs its own scheduler, as `wk bench scheduler` does,
	// sets it false; it has no effect when Controllers is false.
	Scheduler bool
	// Identity names this process in leader election (hostname + pid).
	Identity string
	// NodeMonitorGracePeriod is how long a node's lease may go unrenewed before the node is
	// NotReady and its pods are replaced (the node lifecycle controller's setting).
	NodeMonitorGracePeriod time.Duration
	// PodEvictionTimeout is how long a node stays NotReady before its pods are deleted so
	// their controllers replace them elsewhere (nil: the node lifecycle default, 5s).
	PodEvictionTimeout *time.Duration
	// LoadBalancerPool is where LoadBalancer Services get their addresses (127.0.100.0/24).
	LoadBalancerPool netip.Prefix
	// EventTTL is how long an Event lives after its last write (1h, kube-apiserver's
	// --event-ttl); etcd then deletes it.
	EventTTL time.Duration
	// CompactInterval is how often etcd history is compacted (5m).
	CompactInterval time.Duration
	// UnsafeNoFsync disables etcd fsync: tests and benchmarks only; acknowledged writes may be
	// lost on a crash.
	UnsafeNoFsync bool
	// Logger receives the control plane's logs (discarded when nil).
	Logger *slog.Logger
}

// DefaultConfig returns the configuration `wk server` starts from.
func DefaultConfig() Config {
	return Config{APIAddr: "127.0.0.1:6443", Controllers: true, Scheduler: true}
}

// Default fills unset fields.
func (c *Config) Default() {
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:6443"
	}
	if c.Identity == "" {
		host, _ := os.Hostname()
		c.Identity = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = store.DefaultCompactInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a field that cannot be used, naming it and what is accepted.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("server config: data-dir is required")
	}
	if _, _, err := net.SplitHostPort(c.APIAddr); err != nil {
		return fmt.Errorf("server config: api-addr %q: want HOST:PORT, e.g. 127.0.0.1:6443", c.APIAddr)
	}
	if c.NodeMonitorGracePeriod < 0 {
		return fmt.Errorf("server config: node-monitor-grace-period %v must not be negative", c.NodeMonitorGracePeriod)
	}
	if c.PodEvictionTimeout != nil && *c.PodEvictionTimeout < 0 {
		return fmt.Errorf("server config: pod-eviction-timeout %v must not be negative", *c.PodEvictionTimeout)
	}
	if c.EventTTL < 0 {
		return fmt.Errorf("server config: event-ttl %v must be positive (0 means %v)", c.EventTTL, apiserver.DefaultEventTTL)
	}
	return nil
}

// Server is a running control plane.
type Server struct {
	cfg    Config
	bundle *pki.Bundle
	url    string

	etcd   *store.Embedded
	etcdc  *clientv3.Client // external etcd client, when EtcdEndpoints is set
	store  *store.Store
	api    *apiserver.Server
	client *client.Client // in-process: see Start
	// stopInProcess ends the requests of in-process clients, as the API server's Stop ends
	// those on its connections.
	stopInProcess context.CancelFunc
	logs          logRouter // the API server's LogSource

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// KubeconfigPath is where the admin kubeconfig is written inside the data directory.
func KubeconfigPath(dataDir string) string { return filepath.Join(dataDir, "kubeconfig") }

// RegistryDir is where the module registry keeps its blobs, under the data directory.
func RegistryDir(dataDir string) string { return filepath.Join(dataDir, "registry") }

// Start brings the control plane up: PKI, etcd, store, API server (listening when Start
// returns), the kubeconfig file, then the controllers and scheduler in the background. If a
// step fails, what was started is stopped again and the error names the step.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg}
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.Stop(stopCtx)
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	host, _, _ := net.SplitHostPort(cfg.APIAddr)
	hosts := append([]string{}, cfg.Hosts...)
	if host != "" && host != "0.0.0.0" && host != "::" {
		hosts = append(hosts, host)
	}
	s.bundle, err = pki.Ensure(cfg.DataDir, pki.BundleOptions{Hosts: hosts}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("prepare cluster identity: %w", err)
	}

	var etcdClient *clientv3.Client
	if len(cfg.EtcdEndpoints) > 0 {
		s.etcdc, err = store.Connect(ctx, cfg.EtcdEndpoints, nil)
		if err != nil {
			return nil, fmt.Errorf("connect to etcd %v: %w", cfg.EtcdEndpoints, err)
		}
		etcdClient = s.etcdc
	} else {
		// etcd warns about things that are deliberate here (one port for HTTP and gRPC, simple
		// tokens on loopback); its logs are shown only at info level and below.
		var etcdLog *slog.Logger
		if cfg.Logger.Enabled(ctx, slog.LevelInfo) {
			etcdLog = cfg.Logger.With("component", "etcd")
		}
		s.etcd, err = store.StartEmbedded(ctx, store.EtcdConfig{
			DataDir:       filepath.Join(cfg.DataDir, "etcd"),
			ClientURL:     cfg.EtcdClientURL,
			UnsafeNoFsync: cfg.UnsafeNoFsync,
			Logger:        etcdLog,
		})
		if err != nil {
			return nil, fmt.Errorf("start embedded etcd: %w", err)
		}
		etcdClient = s.etcd.Client()
	}
	s.store, err = store.New(etcdClient, store.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}

	blobs, err := registry.OpenStore(RegistryDir(cfg.DataDir), 0)
	if err != nil {
		return nil, err
	}
	s.api, err = apiserver.New(apiserver.Config{
		Store:     s.store,
		Registry:  registry.Handler(blobs),
		LogSource: &s.logs,
		EventTTL:  cfg.EventTTL,
		Tokens: map[string]apiserver.User{
			s.bundle.AdminToken: {Name: "admin", Groups: []string{"system:masters"}},
			s.bundle.JoinToken:  {Name: "system:bootstrap:runner", Groups: []string{"system:bootstrappers", "system:nodes"}},
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on api-addr %s: %w", cfg.APIAddr, err)
	}
	tlsCfg, err := pki.ServerTLSConfig(s.bundle.ServingCertPEM, s.bundle.ServingKeyPEM)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if err := s.api.Start(ctx, ln, tlsCfg); err != nil {
		ln.Close()
		return nil, err
	}
	s.url = "https://" + ln.Addr().String()
	kc := pki.AdminKubeconfig("wasmkube", s.url, s.bundle.CA.CertPEM, s.bundle.AdminToken)
	if err := pki.WriteKubeconfig(KubeconfigPath(cfg.DataDir), kc); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	// The components in this process (controllers, scheduler, runner, benches) call the API
	// handler in memory, with the admin token as over the network, sparing every request TLS,
	// syscalls and HTTP/2 framing. Stop ends their requests as closing connections ends others'.
	var inProcCtx context.Context
	inProcCtx, s.stopInProcess = context.WithCancel(context.Background())
	s.client, err = client.New(&client.Config{Server: s.url, Handler: endingWith(inProcCtx, s.api.Handler()),
		Token: s.bundle.AdminToken, UserAgent: "wasmkube-controller-manager"})
	if err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.store.RunCompactor(runCtx, cfg.CompactInterval, 0)
	}()
	if cfg.Controllers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runControlLoops(runCtx)
		}()
	}
	return s, nil
}

// EtcdEndpoints are the client URLs of the embedded etcd member (nil with an external etcd).
func (s *Server) EtcdEndpoints() []string {
	if s.etcd == nil {
		return nil
	}
	return s.etcd.Endpoints()
}

// URL is the API server's base URL.
func (s *Server) URL() string { return s.url }

// Bundle is the cluster's identity material (CA, tokens).
func (s *Server) Bundle() *pki.Bundle { return s.bundle }

// Client is an admin client of this server's API for components in this process: its
// requests (and its clones') are served in memory, not over TLS. Processes elsewhere use URL
// and the kubeconfig.
func (s *Server) Client() *client.Client { return s.client }

// endingWith serves h with request contexts that also end when ctx does, as an http.Server's
// BaseContext ends the requests on its connections.
func endingWith(ctx context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
		h.ServeHTTP(w, r.WithContext(rctx))
	})
}

// KubeconfigPath is the admin kubeconfig this server wrote.
func (s *Server) KubeconfigPath() string { return KubeconfigPath(s.cfg.DataDir) }

// Stop stops the control loops, then the API server (ending watches first), then the store
// and etcd. It is safe to call on a partly started Server and more than once.
func (s *Server) Stop(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
		s.cancel = nil
	}
	var errs []error
	if s.client != nil {
		s.client.Close()
	}
	if s.stopInProcess != nil {
		s.stopInProcess()
	}
	if s.api != nil {
		errs = append(errs, s.api.Stop(ctx))
		s.api = nil
	}
	if s.store != nil {
		s.store.Close()
		s.store = nil
	}
	if s.etcdc != nil {
		errs = append(errs, s.etcdc.Close())
		s.etcdc = nil
	}
	if s.etcd != nil {
		errs = append(errs, s.etcd.Close())
		s.etcd = nil
	}
	return errors.Join(errs...)
}
