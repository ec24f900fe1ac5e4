package kubelet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/control/queue"
	"github.com/wasmkube/wasmkube/runner/node"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// Runner is a real node: it registers the node, renews its lease and runs the pods bound to it.
// Its Logs method is the apiserver.LogSource of those pods.
type Runner struct {
	cfg  Config
	pods *client.Resource[*api.Pod]

	// set by Run before anything reads them
	rt      *sandbox.Runtime
	images  *images
	runCtx  context.Context
	inf     *informer.Informer[*api.Pod]
	q       *queue.Queue
	configs *configObjects
	events  *client.Recorder

	logPort atomic.Int32

	mu      sync.Mutex
	workers map[string]*worker // by namespace/name
	running bool
	synced  chan struct{}
	wg      sync.WaitGroup // pod workers
}

var _ apiserver.LogSource = (*Runner)(nil)

// New returns a runner for cfg; nothing happens until Run.
func New(cfg Config) (*Runner, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, pods: client.Pods(cfg.Client),
		workers: map[string]*worker{}, synced: make(chan struct{})}, nil
}

// nodeObject is the node as the runner describes itself.
func nodeObject(cfg *Config) *api.Node {
	lbl := map[string]string{api.LabelHostname: cfg.NodeName, api.LabelOS: "wasip1", api.LabelArch: "wasm"}
	maps.Copy(lbl, cfg.Labels)
	capacity := api.ResourceList{
		api.ResourceCPU:    api.MustParseQuantity(fmt.Sprint(runtime.NumCPU())),
		api.ResourceMemory: api.MustParseQuantity(fmt.Sprint(cfg.MemoryBytes)),
		api.ResourcePods:   api.MustParseQuantity(fmt.Sprint(cfg.MaxPods)),
	}
	return &api.Node{
		ObjectMeta: api.ObjectMeta{Name: cfg.NodeName, Labels: lbl, Annotations: maps.Clone(cfg.Annotations)},
		Status: api.NodeStatus{
			Capacity:    capacity,
			Allocatable: maps.Clone(capacity),
			Addresses: []api.NodeAddress{{Type: api.NodeInternalIP, Address: cfg.NodeIP},
				{Type: api.NodeHostName, Address: cfg.Hostname}},
			NodeInfo: api.NodeSystemInfo{KubeletVersion: KubeletVersion, ContainerRuntimeVersion: RuntimeVersion,
				OSImage: "wasmkube", OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH},
		},
	}
}

// Synced is closed once the runner has seen every pod bound to its node.
func (r *Runner) Synced() <-chan struct{} { return r.synced }

// Run runs the node until ctx ends: it registers the node, keeps its lease, and runs its pods.
// When ctx ends it stops every pod (they stay in the API as they were, for the next run to pick
// up) and returns nil. Run may be called once.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("run runner: already running")
	}
	r.running = true
	r.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(r.cfg.DataDir, "pods"), 0o750); err != nil {
		return fmt.Errorf("run runner: %w", err)
	}
	rt, err := sandbox.NewRuntime(ctx, sandbox.RuntimeConfig{CacheDir: r.cfg.CacheDir,
		TrustedGuests: r.cfg.TrustedGuests})
	if err != nil {
		return fmt.Errorf("run runner: %w", err)
	}
	defer rt.Close(context.WithoutCancel(ctx))
	n := nodeObject(&r.cfg)
	var bg sync.WaitGroup
	if r.cfg.LogListen != "" {
		stop, err := r.serveLogs(n)
		if err != nil {
			return fmt.Errorf("run runner: %w", err)
		}
		defer stop()
	}
	agent, err := node.NewNodeAgent(node.AgentConfig{Client: r.cfg.Client, Node: n,
		LeaseDuration: r.cfg.LeaseDuration, Logger: r.cfg.Logger})
	if err != nil {
		return fmt.Errorf("run runner: %w", err)
	}
	r.rt = rt
	r.images = &images{rt: rt, modules: r.cfg.Modules, files: map[string]fileModule{},
		named: map[string]*sandbox.Module{}, byDigest: map[string]*sandbox.Module{}}
	r.runCtx = ctx
	r.configs = newConfigObjects(ctx, r.cfg.Client)
	r.events = client.NewRecorder(r.cfg.Client, client.RecorderConfig{Component: "kubelet", Host: r.cfg.NodeName})
	r.events.Start(ctx)
	defer r.events.Stop()
	r.q = queue.New(queue.RealClock{})
	r.inf = informer.New(r.pods, client.ListOptions{FieldSelector: "spec.nodeName=" + r.cfg.NodeName}, nil)
	add := func(p *api.Pod) { r.q.Add(informer.KeyOf(p)) }
	r.inf.AddHandler(informer.Handler[*api.Pod]{OnAdd: add, OnUpdate: func(_, p *api.Pod) { add(p) }, OnDelete: add})

	bg.Go(func() { _ = agent.Run(ctx, r.cfg.RenewInterval) })
	bg.Go(func() { _ = r.inf.Run(ctx) })
	if r.inf.WaitForSync(ctx) {
		r.removeOrphans()
		close(r.synced)
	}
	for range r.cfg.Workers {
		bg.Go(func() { r.syncLoop(ctx) })
	}
	<-ctx.Done()
	r.q.ShutDown()
	bg.Wait()
	r.wg.Wait() // every pod worker saw ctx end and stopped its pod
	r.configs.wait()
	return nil
}

func (r *Runner) syncLoop(ctx context.Context) {
	for {
		key, shutdown := r.q.Get()
		if shutdown {
			return
		}
		if ctx.Err() == nil {
			if err := r.sync(ctx, key); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("sync pod", "pod", key, "err", err)
				r.q.AddRateLimited(key)
			} else {
				r.q.Forget(key)
			}
		}
		r.q.Done(key)
	}
}

// sync makes what runs for key match the pod the informer has.
func (r *Runner) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	p, exists := r.inf.Get(ns, name)
	r.mu.Lock()
	w := r.workers[key]
	r.mu.Unlock()
	if w != nil && (!exists || p.UID != w.uid) {
		w.terminate(0) // deleted for good or replaced: stop it now
		if !exists {
			return nil
		}
		<-w.done
		w = nil
	}
	if !exists || p.Spec.NodeName != r.cfg.NodeName {
		return nil
	}
	if w != nil {
		w.update(p)
		if p.DeletionTimestamp != nil {
			w.terminate(gracePeriod(p))
		}
		return nil
	}
	if p.DeletionTimestamp != nil {
		if err := r.finalDelete(ctx, p); err != nil {
			return err
		}
		_ = os.RemoveAll(filepath.Join(r.cfg.DataDir, "pods", p.UID))
		return nil
	}
	if p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
		return nil
	}
	w = newWorker(r, p)
	r.mu.Lock()
	r.workers[key] = w
	r.mu.Unlock()
	r.wg.Go(func() { w.run(ctx) })
	return nil
}

func gracePeriod(p *api.Pod) int64 {
	if g := p.DeletionGracePeriodSeconds; g != nil {
		return *g
	}
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return defaultTerminationGracePeriod
}

// forget drops a finished worker.
func (r *Runner) forget(w *worker) {
	r.mu.Lock()
	if r.workers[w.key] == w {
		delete(r.workers, w.key)
	}
	r.mu.Unlock()
}

// finalDelete is the kubelet's final delete: grace period 0, and only this very pod.
func (r *Runner) finalDelete(ctx context.Context, p *api.Pod) error {
	uid := p.UID
	err := r.pods.Namespace(p.Namespace).Delete(ctx, p.Name, &api.DeleteOptions{
		GracePeriodSeconds: api.Ptr(int64(0)), Preconditions: &api.Preconditions{UID: &uid}})
	if err == nil || api.IsNotFound(err) || api.IsConflict(err) {
		return nil
	}
	return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
}

// removeOrphans removes the directories of pods no longer bound to the node.
func (r *Runner) removeOrphans() {
	known := map[string]bool{}
	for _, p := range r.inf.List() {
		known[p.UID] = true
	}
	dir := filepath.Join(r.cfg.DataDir, "pods")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !known[e.Name()] {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// serveLogs starts the HTTPS log server and publishes its port and certificate in n.
func (r *Runner) serveLogs(n *api.Node) (stop func(), err error) {
	cert, sum, err := servingCert(filepath.Join(r.cfg.DataDir, "pki"), r.cfg.NodeName, r.cfg.NodeIP)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(r.cfg.ClusterCA) {
		return nil, errors.New("serve logs: ClusterCA holds no PEM certificate")
	}
	ln, err := net.Listen("tcp", r.cfg.LogListen)
	if err != nil {
		return nil, fmt.Errorf("serve logs: %w", err)
	}
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[ServingCertAnnotation] = sum
	port := ln.Addr().(*net.TCPAddr).Port
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	r.logPort.Store(int32(port))
	srv := &http.Server{Handler: &logServer{r: r, clients: pool}, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
			ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeTLS(ln, "", "")
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeOnShutdown)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// LogPort returns the port of the log server; 0 until Run started it, or without LogListen.
func (r *Runner) LogPort() int {
	return int(r.logPort.Load())
}

// backoff is the delay before the n-th restart in a row: none for the first, then BackoffBase
// doubling up to BackoffMax.
func (r *Runner) backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := r.cfg.BackoffBase
	for i := 2; i < n && d < r.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, r.cfg.BackoffMax)
}

// Logs writes the log of a container of a pod of this node (apiserver.LogSource).
func (r *Runner) Logs(ctx context.Context, pod *api.Pod, opts apiserver.LogOptions, w io.Writer) error {
	if pod.Spec.NodeName != r.cfg.NodeName {
		return api.NewStatusError(http.StatusNotFound, api.ReasonNotFound,
			fmt.Sprintf("pod %s/%s runs on node %q, not %q", pod.Namespace, pod.Name, pod.Spec.NodeName, r.cfg.NodeName))
	}
	base := filepath.Join(r.cfg.DataDir, "pods", pod.UID, "logs", opts.Container)
	var l *containerLog
	r.mu.Lock()
	if wk := r.workers[pod.Namespace+"/"+pod.Name]; wk != nil && wk.uid == pod.UID {
		if c := wk.byName[opts.Container]; c != nil {
			wk.mu.Lock() // c.log is set by the worker's goroutine
			l = c.logRef()
			wk.mu.Unlock()
		}
	}
	r.mu.Unlock()
	err := serveLogs(ctx, base, l, opts, w)
	if errors.Is(err, ErrNoLogs) {
		return api.BadRequest(fmt.Sprintf("container %q in pod %q is waiting to start", opts.Container, pod.Name))
	}
	return err
}

// Pod returns the running sandbox of a pod of this node, for the proxy and probes to serve it
// with ServeHTTP; false if the pod does not run here now.
func (r *Runner) Pod(namespace, name string) (*sandbox.Pod, bool) {
	r.mu.Lock()
	w := r.workers[namespace+"/"+name]
	r.mu.Unlock()
	if w == nil {
		return nil, false
	}
	sb := w.live.Load()
	return sb, sb != nil
}
