package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/queue"
)

// Reconciler makes what exists match what should exist for one key ("namespace/name"). It is
// called again for the same key whenever the key is queued, so it must be level-triggered:
// reconciling a key twice changes nothing the second time. An error queues the key again
// after a per-key back-off.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) error
}

// ReconcilerFunc adapts a function to Reconciler.
type ReconcilerFunc func(ctx context.Context, key string) error

// Reconcile calls f.
func (f ReconcilerFunc) Reconcile(ctx context.Context, key string) error { return f(ctx, key) }

// Syncer is a cache that can say when its first list has been delivered (an informer).
type Syncer interface {
	WaitForSync(ctx context.Context) bool
}

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Name names the controller in logs ("replicaset"). Required.
	Name string
	// Reconciler is called for each key. Required.
	Reconciler Reconciler
	// Workers is how many keys are reconciled in parallel (1).
	Workers int
	// WaitFor are the caches that must be synced before the first key is reconciled.
	WaitFor []Syncer
	// BaseDelay and MaxDelay bound the per-key back-off after errors (5ms doubling to 60s).
	BaseDelay, MaxDelay time.Duration
	// Clock drives delays and back-off (the real clock).
	Clock queue.Clock
	// Logger receives reconcile errors (discarded when nil).
	Logger *slog.Logger
}

// ErrStarted is returned by Start when the controller was already started.
var ErrStarted = errors.New("controller already started")

// Controller runs a Reconciler over a rate-limited queue of keys with N workers. A key is
// never reconciled by two workers at once. It is safe for concurrent use; Enqueue may be
// called before Start (keys wait) and after Stop (keys are dropped).
type Controller struct {
	cfg   Config
	queue *queue.Queue

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a controller; its queue exists from now on, so it must be stopped (Stop or Run)
// even if it is never started.
func New(cfg Config) *Controller {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = queue.DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{cfg: cfg, queue: queue.NewWithBackoff(cfg.Clock, cfg.BaseDelay, cfg.MaxDelay)}
}

// Name is the controller's name.
func (c *Controller) Name() string { return c.cfg.Name }

// Enqueue queues key for reconciliation.
func (c *Controller) Enqueue(key string) { c.queue.Add(key) }

// EnqueueAfter queues key once d has passed (at once when d <= 0).
func (c *Controller) EnqueueAfter(key string, d time.Duration) { c.queue.AddAfter(key, d) }

// Len is how many keys wait to be reconciled now.
func (c *Controller) Len() int { return c.queue.Len() }

// Start waits for the caches in WaitFor, then starts the workers, which run until Stop or
// until ctx ends. It returns ctx's error if ctx ends before the caches sync, and ErrStarted
// when called twice.
func (c *Controller) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return fmt.Errorf("start %s controller: %w", c.cfg.Name, ErrStarted)
	}
	c.started = true
	ctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	c.mu.Unlock()
	for _, s := range c.cfg.WaitFor {
		if !s.WaitForSync(ctx) {
			return fmt.Errorf("start %s controller: wait for caches: %w", c.cfg.Name, context.Cause(ctx))
		}
	}
	c.wg.Add(c.cfg.Workers)
	for range c.cfg.Workers {
		go func() {
			defer c.wg.Done()
			c.work(ctx)
		}()
	}
	// The queue blocks workers in Get; ending ctx must release them.
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	return nil
}

// Stop ends the workers (a reconcile in progress sees its context cancelled and is waited
// for) and discards queued keys. It may be called more than once, and without Start.
func (c *Controller) Stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.queue.ShutDown()
	c.wg.Wait()
}

// Run starts the controller, blocks until ctx ends, then stops it. It returns an error only
// when the controller could not start.
func (c *Controller) Run(ctx context.Context) error {
	defer c.Stop()
	if err := c.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	<-ctx.Done()
	return nil
}

func (c *Controller) work(ctx context.Context) {
	for {
		key, shutdown := c.queue.Get()
		if shutdown {
			return
		}
		err := c.reconcile(ctx, key)
		switch {
		case err == nil:
			c.queue.Forget(key)
		case ctx.Err() != nil:
			// Shutting down: the key will be reconciled by whoever leads next.
		default:
			level := slog.LevelWarn
			if api.IsConflict(err) || api.IsNotFound(err) || api.IsAlreadyExists(err) {
				level = slog.LevelDebug // a stale cache; the retry sees fresh state
			}
			c.cfg.Logger.Log(ctx, level, "reconcile failed", "controller", c.cfg.Name, "key", key,
				"retries", c.queue.NumRequeues(key), "err", err)
			c.queue.AddRateLimited(key)
		}
		c.queue.Done(key)
	}
}

// reconcile calls the Reconciler, turning a panic into an error so one bad object cannot stop
// the control plane.
func (c *Controller) reconcile(ctx context.Context, key string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reconcile %s %s: panic: %v\n%s", c.cfg.Name, key, r, debug.Stack())
		}
	}()
	return c.cfg.Reconciler.Reconcile(ctx, key)
}
