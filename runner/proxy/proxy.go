package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/runner/proxy/peer"
)

// Proxy is one runner's Service proxy. Its methods are safe for concurrent use.
type Proxy struct {
	cfg     Config
	svcs    *informer.Informer[*api.Service]
	eps     *informer.Informer[*api.Endpoints]
	nodes   *informer.Informer[*api.Node]
	peerSrv *peer.Server
	peers   *peer.Client
	metrics *metrics
	h3TLS   *tls.Config

	running atomic.Bool

	mu      sync.RWMutex
	entries map[string]*entry // by namespace/name
	byIP    map[string]*entry // by clusterIP
	doors   map[string]*door  // by listen address
	stopped bool              // Run has returned: open no more doors
	wg      sync.WaitGroup    // the doors' serving goroutines
}

// entry is one Service's place in the table. It lives while the Service exists; its route is
// replaced on each change of the Service or its Endpoints.
type entry struct {
	key     string
	route   atomic.Pointer[route]
	metrics *serviceMetrics
	// Under Proxy.mu:
	clusterIP string
	endpoints map[string]*endpoint // by endpointKey, for rebuilds
	doors     map[string]*door     // the front doors it owns, by address
}

// New builds a proxy and binds its peer listener on cfg.PeerAddr, so that PeerPort is known
// before Run (the runner publishes it on its Node). Nothing else listens until Run. Run
// releases the peer listener when it returns; a Proxy that is never run holds it.
func New(cfg Config) (*Proxy, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Proxy{
		cfg:     cfg,
		svcs:    informer.New(client.Services(cfg.Client), client.ListOptions{}, nil),
		eps:     informer.New(client.Endpoints(cfg.Client), client.ListOptions{}, nil),
		nodes:   informer.New(client.Nodes(cfg.Client), client.ListOptions{}, nil),
		peers:   peer.NewClient(peer.ClientConfig{TLS: peer.ClientTLS(cfg.Cert, cfg.ClusterCA), Logger: cfg.Logger}),
		metrics: newMetrics(),
		h3TLS:   &tls.Config{Certificates: []tls.Certificate{cfg.Cert}, MinVersion: tls.VersionTLS13},
		entries: map[string]*entry{},
		byIP:    map[string]*entry{},
		doors:   map[string]*door{},
	}
	changed := func(obj api.Object) { p.update(informer.KeyOf(obj)) }
	p.svcs.AddHandler(informer.Handler[*api.Service]{
		OnAdd:    func(s *api.Service) { changed(s) },
		OnUpdate: func(_, s *api.Service) { changed(s) },
		OnDelete: func(s *api.Service) { changed(s) },
	})
	p.eps.AddHandler(informer.Handler[*api.Endpoints]{
		OnAdd:    func(e *api.Endpoints) { changed(e) },
		OnUpdate: func(_, e *api.Endpoints) { changed(e) },
		OnDelete: func(e *api.Endpoints) { changed(e) },
	})
	srv, err := peer.Listen(peer.ServerConfig{
		Addr:    cfg.PeerAddr,
		TLS:     peer.ServerTLS(cfg.Cert, cfg.ClusterCA),
		Handler: p.servePeer,
		Logger:  cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: listen for peers on %s: %w", cfg.PeerAddr, err)
	}
	p.peerSrv = srv
	return p, nil
}

// PeerPort is the UDP port other runners' proxies reach this one on: the runner publishes it
// on its Node under PeerPortAnnotation.
func (p *Proxy) PeerPort() int { return p.peerSrv.Addr().Port }

// Metrics serves the proxy's Prometheus metrics in the text exposition format.
func (p *Proxy) Metrics() http.Handler { return p.metrics.handler() }

// Run watches Services, Endpoints and Nodes and serves the front doors they call for until
// ctx ends; then it closes every front door and the peer listener, waits for their goroutines
// and returns nil. It returns an error at once if called twice.
func (p *Proxy) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return fmt.Errorf("proxy: %w", informer.ErrAlreadyRunning)
	}
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{p.nodes.Run, p.eps.Run, p.svcs.Run} {
		wg.Go(func() { run(ctx) })
	}
	<-ctx.Done()
	wg.Wait() // no handler runs any more: the table is still
	p.mu.Lock()
	p.stopped = true
	for _, d := range p.doors {
		d.close()
	}
	p.doors = map[string]*door{}
	p.mu.Unlock()
	p.wg.Wait()
	if err := p.peerSrv.Close(); err != nil {
		p.cfg.Logger.Warn("proxy: close peer listener", "err", err)
	}
	if err := p.peers.Close(); err != nil {
		p.cfg.Logger.Warn("proxy: close peer client", "err", err)
	}
	return nil
}

// Synced reports whether the proxy's informers have listed everything once, so that its table
// holds every Service that existed when it started.
func (p *Proxy) Synced() bool {
	return p.svcs.HasSynced() && p.eps.HasSynced() && p.nodes.HasSynced()
}

// update rebuilds the route of the Service named key from the caches and opens or closes its
// front doors; a Service that is gone leaves the table.
func (p *Proxy) update(key string) {
	ns, name := informer.SplitKey(key)
	svc, ok := p.svcs.Get(ns, name)
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[key]
	if !ok {
		if e == nil {
			return
		}
		delete(p.entries, key)
		if p.byIP[e.clusterIP] == e {
			delete(p.byIP, e.clusterIP)
		}
		p.syncDoors(e, nil)
		p.metrics.forget(ns, name)
		return
	}
	if e == nil {
		e = &entry{key: key, metrics: p.metrics.service(ns, name), doors: map[string]*door{}}
		p.entries[key] = e
	}
	var eps *api.Endpoints
	if got, ok := p.eps.Get(ns, name); ok {
		eps = got
	}
	r, used := buildRoute(svc, eps, e.endpoints)
	r.metrics = e.metrics
	e.endpoints = used
	e.route.Store(r)
	n := 0
	for _, rp := range r.ports {
		n += len(rp.eps)
	}
	p.metrics.endpoints.WithLabelValues(ns, name).Set(float64(n))
	if ip := svc.Spec.ClusterIP; ip != e.clusterIP {
		if p.byIP[e.clusterIP] == e {
			delete(p.byIP, e.clusterIP)
		}
		e.clusterIP = ip
		if net.ParseIP(ip) != nil {
			p.byIP[ip] = e
		}
	}
	p.syncDoors(e, frontDoors(svc, p.cfg.NodeIP))
}

// peerAddr returns the address of the proxy of node: its InternalIP and the port under
// PeerPortAnnotation.
func (p *Proxy) peerAddr(node string) (string, bool) {
	n, ok := p.nodes.Get("", node)
	if !ok {
		return "", false
	}
	port, err := strconv.Atoi(n.Annotations[PeerPortAnnotation])
	if err != nil || port <= 0 || port > 65535 {
		return "", false
	}
	for _, a := range n.Status.Addresses {
		if a.Type == api.NodeInternalIP && a.Address != "" {
			return net.JoinHostPort(a.Address, strconv.Itoa(port)), true
		}
	}
	return "", false
}

// servePeer serves a request another proxy forwarded to a pod of this node, or answers 503
// with NotFoundHeader when the pod does not run here.
func (p *Proxy) servePeer(t peer.Target, w http.ResponseWriter, r *http.Request) {
	b, ok := p.cfg.Local(t.Namespace, t.Pod)
	if !ok {
		w.Header().Set(NotFoundHeader, "1")
		http.Error(w, fmt.Sprintf("pod %s/%s does not run on node %s", t.Namespace, t.Pod, p.cfg.NodeName),
			http.StatusServiceUnavailable)
		return
	}
	b.ServeHTTP(t.Port, w, r)
}
