// Package apiserver owns wasmkube's API server: the Kubernetes-shaped REST API over HTTPS
// (paths, verbs, query parameters, Status errors, resourceVersion and watch semantics as in
// Kubernetes), backed by etcd through control/store. It decodes, defaults and validates
// objects (control/api), applies patches and server-side apply (control/patch), prints
// tables (control/printer), keeps one watch cache per resource that fans events out to
// every HTTP watcher, allocates service cluster IPs and node ports, and authenticates bearer
// tokens.
//
// It does not run controllers, schedule pods or run them: those are clients of this API.
// It does not create the cluster's certificates or tokens (control/pki does); it is given
// them.
package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/patch"
	"github.com/wasmkube/wasmkube/control/store"
)

// User is who a bearer token authenticates.
type User struct {
	Name   string
	Groups []string
}

// Defaults of Config.
const (
	DefaultServiceCIDR      = "10.43.0.0/16"
	DefaultNodePortMin      = 30000
	DefaultNodePortMax      = 32767
	DefaultMaxObjectBytes   = 1 << 20
	DefaultWatchCacheSize   = 10000
	DefaultBookmarkInterval = time.Minute
	DefaultEventTTL         = time.Hour
)

// PortRange is an inclusive range of ports.
type PortRange struct{ Min, Max int }

// Config configures a Server. Call Default, then Validate; New does both on its copy.
type Config struct {
	// Store is where objects live. Required. The Server does not close it.
	Store *store.Store
	// Tokens maps each accepted bearer token to its user. A request without a known token
	// is refused with 401.
	Tokens map[string]User
	// ServiceCIDR is the range service cluster IPs come from (default DefaultServiceCIDR).
	ServiceCIDR string
	// NodePorts is the range of NodePort and LoadBalancer ports (default 30000-32767).
	NodePorts PortRange
	// MaxObjectBytes bounds an object's JSON (default 1 MiB); larger objects are refused
	// with 413.
	MaxObjectBytes int
	// WatchCacheSize is how many recent events the watch cache keeps per resource (default
	// 10,000). A watch from an older resourceVersion gets 410 Gone, and a watcher that falls
	// this far behind is closed.
	WatchCacheSize int
	// BookmarkInterval is how often watchers that allow bookmarks get one (default 1 min).
	BookmarkInterval time.Duration
	// EventTTL is how long an Event lives after its last write (default 1 h, as
	// kube-apiserver's --event-ttl); etcd then deletes it and watchers see DELETED. It is
	// rounded up to whole seconds, and an Event may outlive it by up to 5% (at most a
	// minute), since Events written close together share one etcd lease.
	EventTTL time.Duration
	// LogSource serves pods/log; nil answers every log request with 404.
	LogSource LogSource
	// Registry serves the module registry's blob endpoints under /registry/, after the
	// bearer-token check; nil answers them with 404.
	Registry http.Handler
	// Logger receives the server's errors; nil discards them.
	Logger *slog.Logger
}

// Default fills the zero fields of c with their defaults.
func (c *Config) Default() {
	if c.ServiceCIDR == "" {
		c.ServiceCIDR = DefaultServiceCIDR
	}
	if c.NodePorts == (PortRange{}) {
		c.NodePorts = PortRange{DefaultNodePortMin, DefaultNodePortMax}
	}
	if c.MaxObjectBytes == 0 {
		c.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if c.WatchCacheSize == 0 {
		c.WatchCacheSize = DefaultWatchCacheSize
	}
	if c.BookmarkInterval == 0 {
		c.BookmarkInterval = DefaultBookmarkInterval
	}
	if c.EventTTL == 0 {
		c.EventTTL = DefaultEventTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first field of c that cannot be used.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("apiserver config: Store is required")
	}
	p, err := netip.ParsePrefix(c.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("apiserver config: ServiceCIDR: %w", err)
	}
	if !p.Addr().Is4() || p.Bits() > 30 || p.Bits() < 8 {
		return fmt.Errorf("apiserver config: ServiceCIDR %s: want an IPv4 range between /8 and /30", c.ServiceCIDR)
	}
	if c.NodePorts.Min < 1 || c.NodePorts.Max > 65535 || c.NodePorts.Min > c.NodePorts.Max {
		return fmt.Errorf("apiserver config: NodePorts %d-%d is not a range of ports", c.NodePorts.Min, c.NodePorts.Max)
	}
	if c.MaxObjectBytes <= 0 {
		return fmt.Errorf("apiserver config: MaxObjectBytes %d must be positive", c.MaxObjectBytes)
	}
	if c.WatchCacheSize < 2 {
		return fmt.Errorf("apiserver config: WatchCacheSize %d must be at least 2", c.WatchCacheSize)
	}
	if c.BookmarkInterval < 0 {
		return fmt.Errorf("apiserver config: BookmarkInterval %v is negative", c.BookmarkInterval)
	}
	if c.EventTTL <= 0 {
		return fmt.Errorf("apiserver config: EventTTL %v must be positive", c.EventTTL)
	}
	return nil
}

// resource is one served resource with its watch cache.
type resource struct {
	api.ResourceInfo
	cache *watchCache
}

// Server serves the API. Its methods are safe for concurrent use.
type Server struct {
	cfg       Config
	store     *store.Store
	log       *slog.Logger
	dec       api.Decoder
	table     *api.ResourceTable
	resources []*resource
	byPath    map[string]*resource // "group/version/plural"
	byName    map[string]*resource // plural
	alloc     *allocator
	sched     schedulingAdmission
	handler   http.Handler
	// fieldSets keeps the parsed managedFields of recent writes: most writes carry the
	// same FieldsV1 bytes as many before them (pods of one client, leases of one agent).
	fieldSets *patch.FieldSetCache

	// base is canceled by Stop before anything else, ending every watch.
	base       context.Context
	cancelBase context.CancelFunc

	mu      sync.Mutex
	started bool
	stopped bool
	srv     *http.Server
	serveWG sync.WaitGroup
	// inflight counts requests being served; Stop waits for them.
	inflight sync.WaitGroup
	ready    chan struct{} // closed once caches are filled and namespaces exist

	// deletedNS holds the namespaces this server was asked to delete recently, with when to
	// forget them: creates in them check etcd rather than the watch cache, which may not
	// have seen the deletion yet (Kubernetes' NamespaceLifecycle keeps the same list).
	deletedMu sync.Mutex
	deletedNS map[string]time.Time
}

// forceLiveLookupTTL is how long a namespace asked to be deleted is read from etcd.
const forceLiveLookupTTL = 30 * time.Second

// namespaceDeleting records that namespace ns is being deleted.
func (s *Server) namespaceDeleting(ns string) {
	now := time.Now()
	s.deletedMu.Lock()
	defer s.deletedMu.Unlock()
	if s.deletedNS == nil {
		s.deletedNS = map[string]time.Time{}
	}
	for n, until := range s.deletedNS {
		if now.After(until) {
			delete(s.deletedNS, n)
		}
	}
	s.deletedNS[ns] = now.Add(forceLiveLookupTTL)
}

// recentlyDeleted reports whether namespace ns was asked to be deleted within the TTL.
func (s *Server) recentlyDeleted(ns string) bool {
	s.deletedMu.Lock()
	defer s.deletedMu.Unlock()
	until, ok := s.deletedNS[ns]
	return ok && time.Now().Before(until)
}

// New returns a Server for cfg. It does not touch the store until Start.
func New(cfg Config) (*Server, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		store:  cfg.Store,
		log:    cfg.Logger,
		byPath: map[string]*resource{},
		byName: map[string]*resource{},
		ready:  make(chan struct{}),
		// 1 MiB of encodings, some 20 MB of sets: every lease of 5,000 nodes (each lease's
		// encoding names its node's UID) and the few shapes of pods.
		fieldSets: patch.NewFieldSetCache(1 << 20),
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	infos := api.Resources()
	s.table = api.NewResourceTable(infos)
	for _, ri := range infos {
		r := &resource{ResourceInfo: ri}
		r.cache = newWatchCache(s, r, cfg.WatchCacheSize)
		s.resources = append(s.resources, r)
		s.byPath[ri.Group+"/"+ri.Version+"/"+ri.Resource] = r
		s.byName[ri.Resource] = r
	}
	var err error
	if s.alloc, err = newAllocator(s.store, cfg.ServiceCIDR, cfg.NodePorts); err != nil {
		return nil, err
	}
	s.handler = s.buildHandler()
	return s, nil
}

// Handler returns the server's HTTP handler. Until Start has filled the watch caches, API
// requests are answered with 503.
func (s *Server) Handler() http.Handler { return s.handler }

// Start fills the watch caches, creates the namespaces every cluster has (default,
// kube-system, kube-public, kube-node-lease) if missing, and serves HTTPS on ln with tlsCfg
// (plain HTTP when tlsCfg is nil, for tests of the handler alone) until Stop. It returns
// once the server is serving, or the error that kept it from starting, after undoing what
// it started. Start may be called once.
func (s *Server) Start(ctx context.Context, ln net.Listener, tlsCfg *tls.Config) error {
	s.mu.Lock()
	if s.started || s.stopped {
		s.mu.Unlock()
		return errors.New("start apiserver: already started")
	}
	s.started = true
	s.mu.Unlock()

	for _, r := range s.resources {
		if err := r.cache.start(ctx); err != nil {
			s.stopCaches()
			return fmt.Errorf("start apiserver: %w", err)
		}
	}
	if err := s.bootstrap(ctx); err != nil {
		s.stopCaches()
		return fmt.Errorf("start apiserver: %w", err)
	}
	close(s.ready)

	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.base },
	}
	if tlsCfg != nil {
		tc := tlsCfg.Clone()
		if len(tc.NextProtos) == 0 {
			tc.NextProtos = []string{"h2", "http/1.1"}
		}
		srv.TLSConfig = tc
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("apiserver: serve", "err", err)
		}
	}()
	return nil
}

// Stop ends every watch, refuses new requests (503), waits until the requests in flight
// are answered or ctx ends, closes every connection, and stops the watch caches. Stop is
// idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	srv := s.srv
	s.mu.Unlock()

	s.cancelBase()
	var err error
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("stop apiserver: requests still in flight: %w", ctx.Err())
	}
	if srv != nil {
		// Closing rather than shutting down: no handler runs any more, and an HTTP/2
		// shutdown would wait a second for each client to close its idle connection.
		srv.Close()
		s.serveWG.Wait()
	}
	s.stopCaches()
	return err
}

// track counts a request in flight, or reports that the server is stopping.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.inflight.Add(1)
	return true
}

func (s *Server) stopCaches() {
	s.cancelBase()
	for _, r := range s.resources {
		r.cache.stop()
	}
}

// isReady reports whether Start has filled the caches.
func (s *Server) isReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// bootstrap creates the namespaces every cluster has.
func (s *Server) bootstrap(ctx context.Context) error {
	r := s.byName["namespaces"]
	for _, name := range []string{api.NamespaceDefault, api.NamespaceSystem, "kube-public", api.NamespaceNodeLease} {
		ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}}
		ns.Kind, ns.APIVersion = r.Kind, r.GroupVersion()
		_, err := s.createObject(ctx, r, ns, writeOptions{manager: "wasmkube-apiserver"})
		if err != nil && !api.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	return nil
}
