package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/server"
	"github.com/wasmkube/wasmkube/runner/hollow"
)

// benchDeployment starts a control plane with its controllers and `nodes` hollow nodes in
// dir, creates a Deployment of `replicas` pods, and returns the time from the create until
// every pod is Running (seen through a watch).
func benchDeployment(ctx context.Context, dir string, replicas, nodes int, progress func(string, ...any)) (time.Duration, error) {
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.APIAddr = "127.0.0.1:0"
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Stop(c)
	}()
	c := srv.Client()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	hr, err := hollow.New(hollow.Config{Client: c, Nodes: nodes})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); _ = hr.Run(runCtx) }()

	// Wait for every node to be registered and Ready.
	for {
		list, err := client.Nodes(c).List(ctx, client.ListOptions{})
		if err != nil {
			return 0, err
		}
		ready := 0
		for _, n := range list.Items {
			if hollow.IsReady(n) {
				ready++
			}
		}
		if ready >= nodes {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	progress("  %d hollow nodes Ready", nodes)

	pods := client.Pods(c).Namespace("default")
	list, err := pods.List(ctx, client.ListOptions{LabelSelector: "app=bench-deploy"})
	if err != nil {
		return 0, err
	}
	w, err := pods.Watch(runCtx, client.ListOptions{LabelSelector: "app=bench-deploy", ResourceVersion: list.ResourceVersion})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	labels := map[string]string{"app": "bench-deploy"}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: "bench-deploy"},
		Spec: api.DeploymentSpec{
			Replicas: api.Ptr(int32(replicas)),
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:v1",
					Resources: api.ResourceRequirements{Requests: api.ResourceList{
						api.ResourceCPU: api.MustParseQuantity("10m"), api.ResourceMemory: api.MustParseQuantity("16Mi")}}}}},
			},
		},
	}
	start := time.Now()
	if _, err := client.Deployments(c).Namespace("default").Create(ctx, d); err != nil {
		return 0, fmt.Errorf("create deployment: %w", err)
	}
	running := map[string]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for len(running) < replicas {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return 0, fmt.Errorf("pod watch ended with %d of %d Running", len(running), replicas)
			}
			if ev.Err != nil {
				return 0, fmt.Errorf("pod watch: %w", ev.Err)
			}
			switch {
			case ev.Type == api.Deleted:
				delete(running, ev.Object.Name)
			case ev.Object.Status.Phase == api.PodRunning:
				running[ev.Object.Name] = true
			}
		case <-tick.C:
			progress("  %d/%d Running after %.1fs", len(running), replicas, time.Since(start).Seconds())
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return time.Since(start), nil
}
