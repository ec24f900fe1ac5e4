// Package manager runs every wasmkube controller in one process over one shared set of
// informers, as Kubernetes' kube-controller-manager does: replicaset, deployment, garbage
// collector, endpoints, node lifecycle, namespace, taint eviction, job, cronjob and daemonset. The server calls Run
// once it wins leader election and cancels its context when it loses it. It lives apart from package controller
// because the controllers import that package.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/cronjob"
	"github.com/wasmkube/wasmkube/control/csr"
	"github.com/wasmkube/wasmkube/control/daemonset"
	"github.com/wasmkube/wasmkube/control/deployment"
	"github.com/wasmkube/wasmkube/control/disruption"
	"github.com/wasmkube/wasmkube/control/endpoints"
	"github.com/wasmkube/wasmkube/control/gc"
	"github.com/wasmkube/wasmkube/control/job"
	"github.com/wasmkube/wasmkube/control/namespace"
	"github.com/wasmkube/wasmkube/control/nodelifecycle"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/control/replicaset"
	"github.com/wasmkube/wasmkube/control/servicelb"
	"github.com/wasmkube/wasmkube/control/taint"
)

// Config configures a Manager. Zero fields take the defaults in their comments.
type Config struct {
	// Client reaches the API server. Required.
	Client *client.Client
	// Identity names this process in events (reportingInstance, source.host); may be empty.
	Identity string
	// NodeLifecycle is the failure detection setting (nodelifecycle.Default()).
	NodeLifecycle nodelifecycle.Config
	// CA signs runners' certificate requests (control/csr); nil runs no signer.
	CA *pki.CA
	// LoadBalancerPool is where LoadBalancer Services get their addresses
	// (servicelb.DefaultPool when zero).
	LoadBalancerPool netip.Prefix
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives the controllers' errors (discarded when nil).
	Logger *slog.Logger
}

// Validate reports a field that cannot be used.
func (c *Config) Validate() error {
	if c.Client == nil {
		return errors.New("controller manager config: Client is required")
	}
	if c.NodeLifecycle != (nodelifecycle.Config{}) {
		if err := c.NodeLifecycle.Validate(); err != nil {
			return fmt.Errorf("controller manager config: %w", err)
		}
	}
	return nil
}

// Manager runs the controllers. Nothing runs until Run is called.
type Manager struct {
	cfg Config
}

// New checks cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NodeLifecycle == (nodelifecycle.Config{}) {
		cfg.NodeLifecycle = nodelifecycle.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg}, nil
}

// runner is what every controller is to the manager.
type runner interface {
	Run(ctx context.Context) error
}

// Run builds the informers and controllers, runs them until ctx ends, and returns once every
// goroutine it started has stopped. It returns an error only if a controller cannot be
// built; it may be called again after it returned (a new leadership term starts afresh).
func (m *Manager) Run(ctx context.Context) error {
	cfg := m.cfg
	c := cfg.Client
	inf := controller.NewInformers(c)
	recorder := func(component string) *client.Recorder {
		return client.NewRecorder(c, client.RecorderConfig{Component: component, Host: cfg.Identity, Now: cfg.Now})
	}
	rsRec, dRec, nodeRec, taintRec := recorder(replicaset.Name), recorder(deployment.Name), recorder(nodelifecycle.Name), recorder(taint.Name)
	jobRec, csrRec, lbRec := recorder(job.Name), recorder(csr.Name), recorder(servicelb.Name)
	recorders := []*client.Recorder{rsRec, dRec, nodeRec, taintRec, jobRec, csrRec, lbRec}
	dsRec := recorder(daemonset.Name)
	cjRec := recorder(cronjob.Name)
	recorders = append(recorders, dsRec, cjRec)
	log := func(name string) *slog.Logger { return cfg.Logger.With("controller", name) }

	var runners []runner
	add := func(r runner, err error) error {
		if err == nil {
			runners = append(runners, r)
		}
		return err
	}
	err := errors.Join(
		add(replicaset.New(replicaset.Config{Client: c, Informers: inf, Recorder: rsRec, Now: cfg.Now, Logger: log("replicaset")})),
		add(deployment.New(deployment.Config{Client: c, Informers: inf, Recorder: dRec, Now: cfg.Now, Logger: log("deployment")})),
		add(gc.New(gc.Config{Client: c, Informers: inf, Logger: log("garbagecollector")})),
		add(endpoints.New(endpoints.Config{Client: c, Informers: inf, Logger: log("endpoints")})),
		add(nodelifecycle.New(nodelifecycle.ControllerConfig{Client: c, Informers: inf, Config: cfg.NodeLifecycle,
			Recorder: nodeRec, Now: cfg.Now, Logger: log("nodelifecycle")})),
		add(namespace.New(namespace.Config{Client: c, Informers: inf, Logger: log("namespace")})),
		add(taint.New(taint.Config{Client: c, Informers: inf, Recorder: taintRec, Now: cfg.Now, Logger: log("taint")})),
		add(job.New(job.Config{Client: c, Informers: inf, Recorder: jobRec, Now: cfg.Now, Logger: log("job")})),
		add(daemonset.New(daemonset.Config{Client: c, Informers: inf, Recorder: dsRec, Now: cfg.Now, Logger: log("daemonset")})),
		add(cronjob.New(cronjob.Config{Client: c, Informers: inf, Recorder: cjRec, Now: cfg.Now, Logger: log("cronjob")})),
		add(servicelb.New(servicelb.Config{Client: c, Informers: inf, Pool: cfg.LoadBalancerPool, Recorder: lbRec, Logger: log("servicelb")})),
		add(disruption.New(disruption.Config{Client: c, Informers: inf, Now: cfg.Now, Logger: log("disruption")})),
	)
	if cfg.CA != nil {
		err = errors.Join(err, add(csr.New(csr.Config{Client: c, Informers: inf, CA: cfg.CA, Recorder: csrRec, Now: cfg.Now, Logger: log("csr")})))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if err != nil {
		// Controllers already built own queues: run them on a dead context so they stop.
		cancel()
	}
	for _, r := range recorders {
		r.Start(ctx)
	}
	wg.Go(func() { inf.Run(ctx) })
	for _, r := range runners {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				cfg.Logger.Error("controller stopped", "err", err)
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	for _, r := range recorders {
		r.Stop()
	}
	if err != nil {
		return fmt.Errorf("start controllers: %w", err)
	}
	return nil
}
