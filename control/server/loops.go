package server

import (
	"context"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/leader"
	"github.com/wasmkube/wasmkube/control/scheduler"
)

// LeaderLeaseName is the Lease in kube-system that the control loops' leader holds.
const LeaderLeaseName = "wasmkube-controller-manager"

// runControlLoops campaigns for the leader lease and, while leading, runs the controllers and
// the scheduler. Losing the lease stops them; the process then campaigns again. It returns when
// ctx ends and everything it started has stopped.
func (s *Server) runControlLoops(ctx context.Context) {
	for ctx.Err() == nil {
		err := leader.Run(ctx, leader.Config{
			Client:    s.client,
			Namespace: api.NamespaceSystem,
			Name:      LeaderLeaseName,
			Identity:  s.cfg.Identity,
		}, s.lead, func() {})
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("leader election", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// lead runs every control loop (the scheduler only when Config.Scheduler) until ctx (the
// leadership) ends.
func (s *Server) lead(ctx context.Context) {
	s.cfg.Logger.Info("leading: starting controllers and scheduler", "identity", s.cfg.Identity)
	loops := []func(context.Context) error{s.runControllers}
	if s.cfg.Scheduler {
		loops = append(loops, func(ctx context.Context) error {
			rec := client.NewRecorder(s.client, client.RecorderConfig{Component: scheduler.DefaultName, Host: s.cfg.Identity})
			rec.Start(ctx)
			defer rec.Stop()
			sched, err := scheduler.New(scheduler.Config{Client: s.client, Recorder: rec, Logger: s.cfg.Logger})
			if err != nil {
				return err
			}
			return sched.Run(ctx)
		})
	}
	var wg sync.WaitGroup
	for _, run := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("control loop stopped", "err", err)
			}
		}()
	}
	wg.Wait()
}
