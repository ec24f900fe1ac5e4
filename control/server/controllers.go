package server

import (
	"context"

	"github.com/wasmkube/wasmkube/control/controller/manager"
	"github.com/wasmkube/wasmkube/control/nodelifecycle"
)

// runControllers runs the controller manager (ReplicaSet, Deployment, garbage collector,
// Endpoints, node lifecycle, Namespace, Job, taint eviction, load balancer addresses, and the
// signer of runners' certificates) until ctx ends.
func (s *Server) runControllers(ctx context.Context) error {
	nl := nodelifecycle.Default()
	if s.cfg.NodeMonitorGracePeriod > 0 {
		nl.GracePeriod = s.cfg.NodeMonitorGracePeriod
	}
	if s.cfg.PodEvictionTimeout != nil {
		nl.EvictionTimeout = *s.cfg.PodEvictionTimeout
	}
	m, err := manager.New(manager.Config{Client: s.client, Identity: s.cfg.Identity, NodeLifecycle: nl,
		CA: s.bundle.CA, LoadBalancerPool: s.cfg.LoadBalancerPool, Logger: s.cfg.Logger})
	if err != nil {
		return err
	}
	return m.Run(ctx)
}
