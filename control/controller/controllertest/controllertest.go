// Package controllertest holds what the controllers' integration tests share on top of
// clustertest: a client of the test API server, a Runner that plays the part of the scheduler
// and runners by writing to the real API (binding pods, marking them Running and Ready,
// finishing their deletion, renewing a node lease), and polling helpers. It owns no production
// code path.
package controllertest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Patience bounds every wait in the controllers' integration tests; it is a failure deadline,
// not a timing assertion.
const Patience = 60 * time.Second

// Client returns an admin client of a.
func Client(t testing.TB, a *clustertest.API) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token, UserAgent: "controllertest"})
	if err != nil {
		t.Fatalf("controllertest: new client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Eventually polls cond every few milliseconds until it returns true, failing the test with
// what cond last said after Patience.
func Eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	delay := 5 * time.Millisecond
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, why)
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// RunnerConfig says what a Runner does.
type RunnerConfig struct {
	// Node is the node this runner plays. Empty: it handles every pod, bound or not, and
	// neither binds nor renews a lease.
	Node string
	// Bind binds unscheduled pods to Node (a stand-in for the scheduler).
	Bind bool
	// BindIf, when set, chooses which unscheduled pods a binding runner binds now; a pod it
	// declines is tried again after a back-off, so that a test can hand pods to its runners
	// in a fixed way instead of letting them race.
	BindIf func(*api.Pod) bool
	// Renew, when positive, creates the Node object and renews its Lease in kube-node-lease
	// this often.
	Renew time.Duration
	// NotReady, when set, chooses pods that start Running but not Ready.
	NotReady func(*api.Pod) bool
	// Workers is how many pods are handled in parallel (16).
	Workers int
}

// Runner is a stand-in for runners in controller tests: it writes through the real API what
// a runner would (pod status, the end of a pod's deletion, node lease renewals). It marks a pod
// Running once; later readiness changes made by the test are left alone.
type Runner struct {
	cfg    RunnerConfig
	c      *client.Client
	pods   *informer.Informer[*api.Pod]
	ctrl   *controller.Controller
	cancel context.CancelFunc
	done   chan struct{}
	ips    atomic.Uint32
}

// StartRunner starts a runner; it stops when the test ends or Stop is called.
func StartRunner(t testing.TB, c *client.Client, cfg RunnerConfig) *Runner {
	t.Helper()
	if cfg.Workers == 0 {
		cfg.Workers = 16
	}
	r := &Runner{cfg: cfg, c: c, done: make(chan struct{})}
	r.pods = informer.New(client.Pods(c), client.ListOptions{}, nil)
	r.ctrl = controller.New(controller.Config{Name: "test-runner", Reconciler: r, Workers: cfg.Workers,
		WaitFor: []controller.Syncer{r.pods}, MaxDelay: 100 * time.Millisecond})
	enqueue := func(p *api.Pod) { r.ctrl.Enqueue(informer.KeyOf(p)) }
	r.pods.AddHandler(informer.Handler[*api.Pod]{OnAdd: enqueue, OnUpdate: func(_, p *api.Pod) { enqueue(p) }})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if cfg.Renew > 0 {
		if err := r.register(ctx); err != nil {
			cancel()
			t.Fatalf("controllertest: register node %s: %v", cfg.Node, err)
		}
	}
	go func() {
		defer close(r.done)
		inf := make(chan struct{})
		go func() { defer close(inf); _ = r.pods.Run(ctx) }()
		if cfg.Renew > 0 {
			go r.renew(ctx)
		}
		_ = r.ctrl.Run(ctx)
		<-inf
	}()
	t.Cleanup(r.Stop)
	return r
}

// Stop stops the runner (as if its machine died: nothing more is written) and waits for it.
func (r *Runner) Stop() {
	r.cancel()
	<-r.done
}

func (r *Runner) register(ctx context.Context) error {
	now := api.Now()
	node := &api.Node{
		ObjectMeta: api.ObjectMeta{Name: r.cfg.Node, Labels: map[string]string{api.LabelHostname: r.cfg.Node}},
		Status: api.NodeStatus{Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue,
			LastHeartbeatTime: now, LastTransitionTime: now, Reason: "KubeletReady", Message: "test runner"}}},
	}
	created, err := client.Nodes(r.c).Create(ctx, node)
	if err != nil && !api.IsAlreadyExists(err) {
		return err
	}
	if err == nil {
		created.Status = node.Status
		if _, err := client.Nodes(r.c).UpdateStatus(ctx, created); err != nil {
			return err
		}
	}
	return r.renewOnce(ctx)
}

func (r *Runner) renew(ctx context.Context) {
	t := time.NewTicker(r.cfg.Renew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.renewOnce(ctx)
		}
	}
}

func leaseTime() *api.MicroTime { t := api.NewMicroTime(time.Now()); return &t }

func (r *Runner) renewOnce(ctx context.Context) error {
	leases := client.Leases(r.c).Namespace(api.NamespaceNodeLease)
	l, err := leases.Get(ctx, r.cfg.Node)
	if api.IsNotFound(err) {
		_, err = leases.Create(ctx, &api.Lease{
			ObjectMeta: api.ObjectMeta{Name: r.cfg.Node, Namespace: api.NamespaceNodeLease},
			Spec: api.LeaseSpec{HolderIdentity: api.Ptr(r.cfg.Node), LeaseDurationSeconds: api.Ptr[int32](40),
				RenewTime: leaseTime()},
		})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = leaseTime()
	_, err = leases.Update(ctx, l)
	return err
}

func (r *Runner) mine(p *api.Pod) bool {
	return r.cfg.Node == "" || p.Spec.NodeName == r.cfg.Node
}

// Reconcile does for one pod what a runner would.
func (r *Runner) Reconcile(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	p, ok := r.pods.Get(ns, name)
	if !ok {
		return nil
	}
	pods := client.Pods(r.c).Namespace(ns)
	switch {
	case p.DeletionTimestamp != nil:
		if !r.mine(p) {
			return nil
		}
		err := pods.Delete(ctx, name, &api.DeleteOptions{GracePeriodSeconds: api.Ptr[int64](0),
			Preconditions: &api.Preconditions{UID: api.Ptr(p.UID)}})
		if err != nil && !api.IsNotFound(err) && !api.IsConflict(err) {
			return err
		}
		return nil
	case p.Spec.NodeName == "" && r.cfg.Bind:
		if r.cfg.BindIf != nil && !r.cfg.BindIf(p) {
			return fmt.Errorf("runner %s: pod %s is not to be bound here yet", r.cfg.Node, key)
		}
		err := pods.Bind(ctx, &api.Binding{ObjectMeta: api.ObjectMeta{Name: name, Namespace: ns},
			Target: api.ObjectReference{Kind: "Node", Name: r.cfg.Node}})
		if err != nil && !api.IsConflict(err) && !api.IsNotFound(err) {
			return err
		}
		return nil
	case !r.mine(p) || p.Status.Phase == api.PodRunning || p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed:
		return nil
	}
	up := controller.Clone(p)
	now := api.Now()
	ready := api.ConditionTrue
	if r.cfg.NotReady != nil && r.cfg.NotReady(p) {
		ready = api.ConditionFalse
	}
	n := r.ips.Add(1)
	up.Status.Phase = api.PodRunning
	up.Status.PodIP = fmt.Sprintf("10.%d.%d.%d", 1+n>>16&0xff, n>>8&0xff, n&0xff)
	up.Status.PodIPs = []api.PodIP{{IP: up.Status.PodIP}}
	up.Status.HostIP = "127.0.0.1"
	up.Status.StartTime = &now
	up.Status.Conditions = []api.PodCondition{
		{Type: api.PodScheduled, Status: api.ConditionTrue, LastTransitionTime: now},
		{Type: api.PodInitialized, Status: api.ConditionTrue, LastTransitionTime: now},
		{Type: api.ContainersReady, Status: ready, LastTransitionTime: now},
		{Type: api.PodReady, Status: ready, LastTransitionTime: now},
	}
	if _, err := pods.UpdateStatus(ctx, up); err != nil && !api.IsNotFound(err) && !api.IsConflict(err) {
		return err
	}
	return nil
}

// SetReady turns the Ready condition of pod ns/name to ready, as a probe would.
func SetReady(ctx context.Context, c *client.Client, ns, name string, ready bool) error {
	pods := client.Pods(c).Namespace(ns)
	for {
		p, err := pods.Get(ctx, name)
		if err != nil {
			return err
		}
		st := api.ConditionFalse
		if ready {
			st = api.ConditionTrue
		}
		for i := range p.Status.Conditions {
			if ct := p.Status.Conditions[i].Type; ct == api.PodReady || ct == api.ContainersReady {
				p.Status.Conditions[i].Status = st
				p.Status.Conditions[i].LastTransitionTime = api.Now()
			}
		}
		_, err = pods.UpdateStatus(ctx, p)
		if api.IsConflict(err) {
			continue
		}
		return err
	}
}
