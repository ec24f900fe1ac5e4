package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// ErrNodeNotFound is returned (wrapped) by NodeAgent.Renew when the node is gone from the API,
// deleted by someone else. The caller decides whether to register it again.
var ErrNodeNotFound = errors.New("node is not registered")

// Reasons and messages of the node conditions a NodeAgent reports, as the kubelet words them.
const (
	ReasonKubeletReady = "KubeletReady"
	MessageReady       = "kubelet is posting ready status"
)

// Node pressure condition types; a runner under no pressure reports each of them False.
const (
	NodeMemoryPressure = "MemoryPressure"
	NodeDiskPressure   = "DiskPressure"
	NodePIDPressure    = "PIDPressure"
)

// registerAttempts bounds the get-and-update rounds Register makes when it loses races
// (409 Conflict) against other writers of the same node.
const registerAttempts = 5

// AgentConfig configures a NodeAgent.
type AgentConfig struct {
	// Client reaches the API server. Required.
	Client *client.Client
	// Node is the node as its runner describes itself: name, labels, and status capacity,
	// allocatable, addresses and nodeInfo. The agent adds the conditions. Required; it is
	// copied by NewNodeAgent and never modified.
	Node *api.Node
	// LeaseDuration is written into the lease (40s): how long the node counts as alive after
	// a renewal. It is rounded down to whole seconds.
	LeaseDuration time.Duration
	// Now is the clock of the timestamps written (time.Now).
	Now func() time.Time
	// Logger receives the errors of Run (discarded when nil).
	Logger *slog.Logger
}

// Default fills the zero fields of c with their defaults.
func (c *AgentConfig) Default() {
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 40 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first field of c that cannot be used.
func (c *AgentConfig) Validate() error {
	if c.Client == nil {
		return errors.New("node agent config: Client is required")
	}
	if c.Node == nil || c.Node.Name == "" {
		return errors.New("node agent config: Node with a name is required")
	}
	if c.LeaseDuration < time.Second {
		return fmt.Errorf("node agent config: LeaseDuration %v must be at least 1s", c.LeaseDuration)
	}
	return nil
}

// NodeAgent is the part of a runner that makes its Node exist and keeps it alive, as the
// kubelet's node registration and node lease controller do: Register creates the Node (or takes
// back the one a previous run left, keeping its spec and foreign labels), and Renew renews the
// node's coordination.k8s.io Lease in kube-node-lease and puts the Ready condition back to True
// if the node lifecycle controller marked it otherwise. It never deletes the Node: a stopped
// runner's lease simply expires.
//
// It reads nothing but what it needs and holds no goroutine; Run is the loop of a runner with
// one node. A NodeAgent is safe for concurrent use; its calls are serialized.
type NodeAgent struct {
	cfg    AgentConfig
	nodes  *client.Resource[*api.Node]
	leases *client.Resource[*api.Lease]
	want   *api.Node

	mu    sync.Mutex
	uid   string     // UID of the node registered, for the lease's owner reference
	lease *api.Lease // the lease as last written; nil until known
}

// NewNodeAgent returns an agent for cfg.Node; it does not talk to the API until called.
func NewNodeAgent(cfg AgentConfig) (*NodeAgent, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	want := &api.Node{
		ObjectMeta: api.ObjectMeta{Name: cfg.Node.Name, Labels: maps.Clone(cfg.Node.Labels),
			Annotations: maps.Clone(cfg.Node.Annotations)},
		Spec: cfg.Node.Spec,
		Status: api.NodeStatus{
			Capacity:    maps.Clone(cfg.Node.Status.Capacity),
			Allocatable: maps.Clone(cfg.Node.Status.Allocatable),
			Addresses:   append([]api.NodeAddress(nil), cfg.Node.Status.Addresses...),
			NodeInfo:    cfg.Node.Status.NodeInfo,

			DaemonEndpoints: cfg.Node.Status.DaemonEndpoints,
		},
	}
	return &NodeAgent{
		cfg:    cfg,
		nodes:  client.Nodes(cfg.Client),
		leases: client.Leases(cfg.Client).Namespace(api.NamespaceNodeLease),
		want:   want,
	}, nil
}

// Name returns the node's name.
func (a *NodeAgent) Name() string { return a.want.Name }

// Register creates the node with its labels and a status that says Ready, or, when the node
// exists (a restarted runner), merges the agent's labels and annotations into it and replaces its status; then
// it renews the lease. It returns the node as stored. Errors name the step that failed; a
// conflict lost registerAttempts times in a row is returned as is (api.IsConflict).
func (a *NodeAgent) Register(ctx context.Context) (*api.Node, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	node, created, err := a.register(ctx)
	if err != nil {
		return nil, fmt.Errorf("register node %s: %w", a.want.Name, err)
	}
	a.uid = node.UID
	// A node just created most likely has no lease yet: create it without asking first.
	if err := a.renewLease(ctx, created); err != nil {
		return node, fmt.Errorf("register node %s: %w", a.want.Name, err)
	}
	return node, nil
}

// register creates or takes back the node; created says which.
func (a *NodeAgent) register(ctx context.Context) (node *api.Node, created bool, err error) {
	now := a.cfg.Now()
	fresh := *a.want
	fresh.Status.Conditions = readyConditions(now)
	if node, err = a.nodes.Create(ctx, &fresh); err == nil {
		return node, true, nil
	}
	if !api.IsAlreadyExists(err) {
		return nil, false, err
	}
	for attempt := 1; ; attempt++ {
		node, err = a.takeBack(ctx, now)
		if err == nil || attempt == registerAttempts || !(api.IsConflict(err) || api.IsNotFound(err)) {
			return node, false, err
		}
	}
}

// takeBack makes an existing node this agent's: labels merged in, status replaced. A node
// deleted meanwhile is created again.
func (a *NodeAgent) takeBack(ctx context.Context, now time.Time) (*api.Node, error) {
	cur, err := a.nodes.Get(ctx, a.want.Name)
	if api.IsNotFound(err) {
		fresh := *a.want
		fresh.Status.Conditions = readyConditions(now)
		return a.nodes.Create(ctx, &fresh)
	}
	if err != nil {
		return nil, err
	}
	if !hasLabels(cur.Labels, a.want.Labels) || !hasLabels(cur.Annotations, a.want.Annotations) {
		upd := *cur
		upd.Labels = maps.Clone(cur.Labels)
		if upd.Labels == nil {
			upd.Labels = map[string]string{}
		}
		maps.Copy(upd.Labels, a.want.Labels)
		upd.Annotations = maps.Clone(cur.Annotations)
		if upd.Annotations == nil && len(a.want.Annotations) > 0 {
			upd.Annotations = map[string]string{}
		}
		maps.Copy(upd.Annotations, a.want.Annotations)
		if cur, err = a.nodes.Update(ctx, &upd); err != nil {
			return nil, err
		}
	}
	upd := *cur
	upd.Status = a.want.Status
	upd.Status.Conditions = readyConditions(now)
	return a.nodes.UpdateStatus(ctx, &upd)
}

// Renew renews the node's lease, and sets the node's Ready condition back to True if it is
// not. observed is the node as the caller last saw it (from an informer's cache, say); nil, or
// a node of another UID than the one registered, makes Renew read it. If the node does not exist, Renew returns an error wrapping
// ErrNodeNotFound and leaves the lease alone. Both steps are attempted; their errors are
// joined.
func (a *NodeAgent) Renew(ctx context.Context, observed *api.Node) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	node := observed
	if node != nil && a.uid != "" && node.UID != a.uid {
		node = nil // a stale copy of a node deleted since: read the one that exists now
	}
	if node == nil {
		n, err := a.nodes.Get(ctx, a.want.Name)
		if api.IsNotFound(err) {
			return fmt.Errorf("renew node %s: %w", a.want.Name, ErrNodeNotFound)
		}
		if err != nil {
			return fmt.Errorf("renew node %s: %w", a.want.Name, err)
		}
		node = n
	}
	if node.UID != "" && node.UID != a.uid {
		a.uid = node.UID
		a.lease = nil // re-read it: its owner reference points at a node that is gone
	}
	errLease := a.renewLease(ctx, false)
	var errReady error
	if !IsReady(node) {
		errReady = a.markReady(ctx, node)
	}
	if err := errors.Join(errLease, errReady); err != nil {
		return fmt.Errorf("renew node %s: %w", a.want.Name, err)
	}
	return nil
}

// markReady writes node's status back with Ready=True, keeping its other conditions. A node
// changed meanwhile (409) is read again and, if still not ready, written once more.
func (a *NodeAgent) markReady(ctx context.Context, node *api.Node) error {
	for attempt := 0; ; attempt++ {
		upd := *node
		upd.Status.Conditions = setReady(node.Status.Conditions, a.cfg.Now())
		_, err := a.nodes.UpdateStatus(ctx, &upd)
		if err == nil {
			return nil
		}
		if !api.IsConflict(err) || attempt > 0 {
			if api.IsNotFound(err) {
				err = ErrNodeNotFound
			}
			return fmt.Errorf("mark ready: %w", err)
		}
		if node, err = a.nodes.Get(ctx, a.want.Name); err != nil {
			if api.IsNotFound(err) {
				err = ErrNodeNotFound
			}
			return fmt.Errorf("mark ready: %w", err)
		}
		if IsReady(node) {
			return nil
		}
	}
}

// renewLease writes the lease with renewTime now, creating it if needed (first of all when
// create says so). A lease changed by someone else (409) is read again and written once more.
// Callers hold a.mu.
func (a *NodeAgent) renewLease(ctx context.Context, create bool) error {
	if a.lease == nil && create {
		created, err := a.leases.Create(ctx, a.renewed(nil))
		if err == nil {
			a.lease = created
			return nil
		}
		if !api.IsAlreadyExists(err) {
			return fmt.Errorf("create lease: %w", err)
		}
	}
	var err error
	for range 2 {
		if a.lease == nil {
			var cur *api.Lease
			cur, err = a.leases.Get(ctx, a.want.Name)
			if api.IsNotFound(err) {
				var created *api.Lease
				if created, err = a.leases.Create(ctx, a.renewed(nil)); err == nil {
					a.lease = created
					return nil
				}
				if api.IsAlreadyExists(err) {
					continue // created by someone else meanwhile: read it
				}
				return fmt.Errorf("create lease: %w", err)
			}
			if err != nil {
				return fmt.Errorf("get lease: %w", err)
			}
			a.lease = cur
		}
		var upd *api.Lease
		if upd, err = a.leases.Update(ctx, a.renewed(a.lease)); err == nil {
			a.lease = upd
			return nil
		}
		a.lease = nil
		if !api.IsConflict(err) && !api.IsNotFound(err) {
			break
		}
	}
	return fmt.Errorf("renew lease: %w", err)
}

// renewed returns a copy of cur (nil: a new lease) held by this node and renewed now.
func (a *NodeAgent) renewed(cur *api.Lease) *api.Lease {
	now := api.NewMicroTime(a.cfg.Now())
	name := a.want.Name
	l := &api.Lease{ObjectMeta: api.ObjectMeta{Name: name, Namespace: api.NamespaceNodeLease}}
	if cur != nil {
		*l = *cur
	}
	spec := api.LeaseSpec{
		HolderIdentity:       &name,
		LeaseDurationSeconds: api.Ptr(int32(a.cfg.LeaseDuration / time.Second)),
		AcquireTime:          l.Spec.AcquireTime,
		RenewTime:            &now,
		LeaseTransitions:     l.Spec.LeaseTransitions,
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != name || spec.AcquireTime == nil {
		spec.AcquireTime = &now
		if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != name {
			spec.LeaseTransitions = api.Ptr(api.Deref(l.Spec.LeaseTransitions, 0) + 1)
		}
	}
	l.Spec = spec
	if a.uid != "" && !ownedBy(l.OwnerReferences, a.uid) {
		// As the kubelet does: the node owns its lease, so deleting the node removes it.
		l.OwnerReferences = []api.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: a.uid}}
	}
	return l
}

// Run registers the node, retrying with back-off until it succeeds, then renews it every
// interval until ctx ends, registering it again if it was deleted. It is the loop of a runner
// with one node and returns nil when ctx ends. Errors go to the Logger and are retried.
func (a *NodeAgent) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("run node agent %s: interval %v must be positive", a.want.Name, interval)
	}
	registered, failures := false, 0
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var err error
		if !registered {
			_, err = a.Register(ctx)
			registered = err == nil
		} else if err = a.Renew(ctx, nil); errors.Is(err, ErrNodeNotFound) {
			registered = false
		}
		delay := interval
		failures++
		if err == nil {
			failures = 0
		} else if ctx.Err() == nil {
			a.cfg.Logger.Warn("node agent", "node", a.want.Name, "err", err)
			delay = min(interval, retryDelay(failures))
		}
		t.Reset(delay)
	}
}

// retryDelay is the back-off after n failures in a row: 100ms doubling, at most 10s.
func retryDelay(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}

// IsReady reports whether node's Ready condition is True.
func IsReady(node *api.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == api.NodeReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// readyConditions are the conditions of a healthy node, heartbeat now.
func readyConditions(now time.Time) []api.NodeCondition {
	t := api.NewTime(now)
	cond := func(typ string, st api.ConditionStatus, reason, msg string) api.NodeCondition {
		return api.NodeCondition{Type: typ, Status: st, LastHeartbeatTime: t, LastTransitionTime: t,
			Reason: reason, Message: msg}
	}
	return []api.NodeCondition{
		cond(NodeMemoryPressure, api.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(NodeDiskPressure, api.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(NodePIDPressure, api.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		cond(api.NodeReady, api.ConditionTrue, ReasonKubeletReady, MessageReady),
	}
}

// setReady returns a copy of conds with Ready set to True (heartbeat and transition now),
// appended if missing.
func setReady(conds []api.NodeCondition, now time.Time) []api.NodeCondition {
	t := api.NewTime(now)
	ready := api.NodeCondition{Type: api.NodeReady, Status: api.ConditionTrue, LastHeartbeatTime: t,
		LastTransitionTime: t, Reason: ReasonKubeletReady, Message: MessageReady}
	out := make([]api.NodeCondition, 0, len(conds)+1)
	found := false
	for _, c := range conds {
		if c.Type == api.NodeReady {
			if c.Status == api.ConditionTrue {
				ready.LastTransitionTime = c.LastTransitionTime
			}
			c, found = ready, true
		}
		out = append(out, c)
	}
	if !found {
		out = append(out, ready)
	}
	return out
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func ownedBy(refs []api.OwnerReference, uid string) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}
