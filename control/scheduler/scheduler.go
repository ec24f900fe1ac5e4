package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/policy"
)

// DefaultName is the schedulerName this scheduler serves, as in Kubernetes.
const DefaultName = "default-scheduler"

// Config configures a Scheduler. Zero fields take the defaults given in their comments.
type Config struct {
	// Client reaches the API server. Required.
	Client *client.Client
	// Name is the spec.schedulerName served (DefaultName). Pods naming another are left alone.
	Name string
	// Filters and Scorers decide placement (DefaultFilters and DefaultScorers for Scoring,
	// each followed by the SchedulingPolicy plugin). Custom lists include PolicyFilter
	// themselves if they want policies applied.
	Filters []Filter
	Scorers []WeightedScorer
	// Scoring is the resource scoring strategy of the default scorers: LeastAllocated
	// (default, spreads load) or MostAllocated (bin packing).
	Scoring string
	// PolicyEnv compiles SchedulingPolicy expressions (policy.NewSchedulingEnv with defaults).
	PolicyEnv *policy.SchedulingEnv
	// PercentageOfNodesToScore bounds the search, as kube-scheduler's setting does: a decision
	// stops filtering once it has found NodesToFind(nodes, PercentageOfNodesToScore,
	// MinFeasibleNodesToFind) feasible nodes, starting where the previous decision stopped.
	// 0 is Kubernetes' adaptive default (10% at 5,000 nodes); 100 examines every node.
	PercentageOfNodesToScore int
	// MinFeasibleNodesToFind is the least a bounded search looks for (100, as Kubernetes).
	MinFeasibleNodesToFind int
	// InitialBackoff and MaxBackoff bound how long a pod that fit nowhere waits before it is
	// retried after the cluster changed: doubling from InitialBackoff (1s) up to MaxBackoff
	// (10s) with each failed attempt.
	InitialBackoff, MaxBackoff time.Duration
	// Binders is how many bindings are written in parallel (16).
	Binders int
	// RetryInterval is how often unschedulable pods are retried even if nothing changed (10s).
	RetryInterval time.Duration
	// Rand breaks ties between equal nodes (seeded from the clock).
	Rand *rand.Rand
	// Now is the clock (time.Now).
	Now func() time.Time
	// Recorder, if set, receives Scheduled and FailedScheduling events.
	Recorder *client.Recorder
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Default fills unset fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Scoring == "" {
		c.Scoring = ScoringLeastAllocated
	}
	if c.Filters == nil && c.PolicyEnv != nil {
		c.Filters = append(DefaultFilters(), PolicyFilter{Env: c.PolicyEnv})
	}
	if c.Scorers == nil && c.PolicyEnv != nil {
		c.Scorers = append(ScorersFor(c.Scoring), WeightedScorer{Scorer: PolicyFilter{Env: c.PolicyEnv}, Weight: 1})
	}
	if c.MinFeasibleNodesToFind == 0 {
		c.MinFeasibleNodesToFind = 100
	}
	if c.InitialBackoff == 0 {
		c.InitialBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.Binders == 0 {
		c.Binders = 16
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		seed := uint64(c.Now().UnixNano())
		c.Rand = rand.New(rand.NewPCG(seed, seed>>1|1))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a field that cannot be used.
func (c *Config) Validate() error {
	if c.Client == nil {
		return errors.New("scheduler config: Client is required")
	}
	if c.Binders < 1 {
		return fmt.Errorf("scheduler config: Binders %d must be at least 1", c.Binders)
	}
	if c.Scoring != ScoringLeastAllocated && c.Scoring != ScoringMostAllocated {
		return fmt.Errorf("scheduler config: Scoring %q is not %s or %s", c.Scoring, ScoringLeastAllocated, ScoringMostAllocated)
	}
	if c.PolicyEnv == nil || c.Filters == nil || c.Scorers == nil {
		return errors.New("scheduler config: PolicyEnv is required (Default builds one in New)")
	}
	return nil
}

// Scheduler places pending pods on nodes. It keeps its snapshot current from watches, decides
// without touching the API, and writes bindings in parallel.
type Scheduler struct {
	cfg      Config
	pods     *informer.Informer[*api.Pod]
	nodes    *informer.Informer[*api.Node]
	policies *informer.Informer[*api.SchedulingPolicy]
	// budgets are the PodDisruptionBudgets, which preemption prefers not to violate.
	budgets  *informer.Informer[*api.PodDisruptionBudget]
	compiled *Policies

	mu            sync.Mutex
	snap          *Snapshot
	active        *activeQueue
	unschedulable map[string]bool      // parked until the cluster changes or RetryInterval passes
	backoff       map[string]time.Time // waiting, after a change, until the time given
	attempts      map[string]int       // failed attempts, for the back-off
	assumed       map[string]string    // pod key -> node, while its binding is in flight
	next          int                  // where the next bounded search starts
	wake          chan struct{}
	binds         chan bindJob

	// inbox holds what the pod and node informers saw, for the loop to apply before its
	// next decision: handlers never wait for a decision to finish, so the watches keep
	// flowing however long decisions take.
	inboxMu sync.Mutex
	inbox   []change

	decisions, decideNanos atomic.Int64
}

// Stats are counters of a running scheduler.
type Stats struct {
	// Decisions is how many scheduling decisions were made; DecideTime their total time
	// (resolving the pod's rules against the snapshot, filtering and scoring, once the
	// snapshot lock is held).
	Decisions  int64
	DecideTime time.Duration
}

// Stats returns the scheduler's counters so far.
func (s *Scheduler) Stats() Stats {
	return Stats{Decisions: s.decisions.Load(), DecideTime: time.Duration(s.decideNanos.Load())}
}

// change is one informer event: a pod or a node added or updated, or gone.
type change struct {
	pod  *api.Pod
	node *api.Node
	gone bool
}

type bindJob struct {
	pod  *api.Pod
	node string
}

// New builds a Scheduler; Run starts it.
func New(cfg Config) (*Scheduler, error) {
	if cfg.PolicyEnv == nil {
		env, err := policy.NewSchedulingEnv(policy.DefaultConfig())
		if err != nil {
			return nil, fmt.Errorf("new scheduler: %w", err)
		}
		cfg.PolicyEnv = env
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{
		cfg:           cfg,
		snap:          NewSnapshot(),
		active:        newActiveQueue(),
		unschedulable: map[string]bool{},
		backoff:       map[string]time.Time{},
		attempts:      map[string]int{},
		assumed:       map[string]string{},
		compiled:      NewPolicies(cfg.PolicyEnv),
		wake:          make(chan struct{}, 1),
		binds:         make(chan bindJob, cfg.Binders*4),
	}
	s.pods = informer.New(client.Pods(cfg.Client), client.ListOptions{}, nil)
	s.nodes = informer.New(client.Nodes(cfg.Client), client.ListOptions{}, nil)
	s.pods.AddHandler(informer.Handler[*api.Pod]{
		OnAdd:    func(p *api.Pod) { s.push(change{pod: p}) },
		OnUpdate: func(_, p *api.Pod) { s.push(change{pod: p}) },
		OnDelete: func(p *api.Pod) { s.push(change{pod: p, gone: true}) },
	})
	s.nodes.AddHandler(informer.Handler[*api.Node]{
		OnAdd:    func(n *api.Node) { s.push(change{node: n}) },
		OnUpdate: func(_, n *api.Node) { s.push(change{node: n}) },
		OnDelete: func(n *api.Node) { s.push(change{node: n, gone: true}) },
	})
	s.budgets = informer.New(client.For[*api.PodDisruptionBudget](cfg.Client, "poddisruptionbudgets"), client.ListOptions{}, nil)
	s.policies = informer.New(client.For[*api.SchedulingPolicy](cfg.Client, "schedulingpolicies"), client.ListOptions{}, nil)
	s.policies.AddHandler(informer.Handler[*api.SchedulingPolicy]{
		OnAdd:    s.policyChanged,
		OnUpdate: func(_, p *api.SchedulingPolicy) { s.policyChanged(p) },
		OnDelete: func(p *api.SchedulingPolicy) {
			s.compiled.Delete(p.Name)
			s.mu.Lock()
			s.flushUnschedulable()
			s.mu.Unlock()
		},
	})
	return s, nil
}

// Run schedules until ctx ends, then returns after every goroutine it started has stopped.
func (s *Scheduler) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() { _ = s.pods.Run(ctx) })
	run(func() { _ = s.nodes.Run(ctx) })
	run(func() { _ = s.policies.Run(ctx) })
	run(func() { _ = s.budgets.Run(ctx) })
	if !s.pods.WaitForSync(ctx) || !s.nodes.WaitForSync(ctx) || !s.policies.WaitForSync(ctx) || !s.budgets.WaitForSync(ctx) {
		cancel()
		wg.Wait()
		return ctx.Err()
	}
	for i := 0; i < s.cfg.Binders; i++ {
		run(func() { s.binder(ctx) })
	}
	run(func() { s.retryLoop(ctx) })
	s.loop(ctx)
	cancel()
	wg.Wait()
	return nil
}

func podKey(p *api.Pod) string { return p.Namespace + "/" + p.Name }

func terminal(p *api.Pod) bool {
	return p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed
}

func (s *Scheduler) responsible(p *api.Pod) bool {
	return p.Spec.SchedulerName == "" || p.Spec.SchedulerName == s.cfg.Name
}

// push hands an informer event to the loop.
func (s *Scheduler) push(c change) {
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, c)
	s.inboxMu.Unlock()
	s.signal()
}

// applyChanges applies the informer events received since the last call, in order; the
// caller holds mu.
func (s *Scheduler) applyChanges() {
	s.inboxMu.Lock()
	changes := s.inbox
	s.inbox = nil
	s.inboxMu.Unlock()
	for _, c := range changes {
		switch {
		case c.pod != nil && c.gone:
			s.podDeleted(c.pod)
		case c.pod != nil:
			s.podChanged(c.pod)
		case c.gone:
			s.snap.RemoveNode(c.node.Name)
		default:
			s.snap.SetNode(c.node)
			s.flushUnschedulable()
		}
	}
}

// podChanged accounts for a pod added or updated; the caller holds mu.
func (s *Scheduler) podChanged(p *api.Pod) {
	key := podKey(p)
	if nn := p.Status.NominatedNodeName; nn != "" && p.Spec.NodeName == "" && s.snap.NominatedNode(key) == "" &&
		p.DeletionTimestamp == nil && !terminal(p) {
		// Nominated by a preemption before this scheduler started (or by another): keep
		// the room it waits for. The scheduler's own nominations are in the snapshot
		// already, and it clears them itself.
		pi := NewPodInfo(p)
		s.snap.Nominate(key, nn, pi.Priority, pi.Requests)
	}
	switch {
	case terminal(p):
		s.snap.RemovePod(key)
		s.forget(key)
		s.flushUnschedulable()
	case p.Spec.NodeName != "":
		s.snap.PlacePod(NewPodInfo(p), p.Spec.NodeName)
		s.forget(key)
		// A placed pod may be what a parked pod's affinity waits for: retry them after
		// their back-off.
		s.flushUnschedulable()
	case p.DeletionTimestamp != nil || !s.responsible(p):
		s.forget(key)
	case s.assumed[key] != "" || s.unschedulable[key]:
		// In flight or parked: the binder or the retry loop owns it.
	case !s.backoff[key].IsZero():
		// Backing off: the retry loop moves it when its time comes.
	default:
		s.active.add(key, api.PodPriority(&p.Spec), p.CreationTimestamp.Time)
		s.signal()
	}
}

// podDeleted forgets a pod; the caller holds mu.
func (s *Scheduler) podDeleted(p *api.Pod) {
	key := podKey(p)
	s.snap.RemovePod(key)
	s.forget(key)
	delete(s.assumed, key)
	s.flushUnschedulable()
}

func (s *Scheduler) policyChanged(p *api.SchedulingPolicy) {
	if err := s.compiled.Set(p); err != nil {
		s.cfg.Logger.Warn("compile scheduling policy", "policy", p.Name, "err", err)
	}
	s.mu.Lock()
	s.flushUnschedulable()
	s.mu.Unlock()
}

// forget drops key from the queues (not from assumed: the binder clears that).
func (s *Scheduler) forget(key string) {
	s.active.remove(key)
	delete(s.unschedulable, key)
	delete(s.backoff, key)
	delete(s.attempts, key)
}

// flushUnschedulable moves parked pods to back-off, from which the retry loop moves them to
// the active queue once their back-off (InitialBackoff doubling per failed attempt, up to
// MaxBackoff) has passed; the caller holds mu.
func (s *Scheduler) flushUnschedulable() {
	if len(s.unschedulable) == 0 {
		return
	}
	now := s.cfg.Now()
	for key := range s.unschedulable {
		d := s.cfg.InitialBackoff << min(max(s.attempts[key]-1, 0), 20)
		s.backoff[key] = now.Add(min(d, s.cfg.MaxBackoff))
		delete(s.unschedulable, key)
	}
}

// retryBackoff moves pods whose back-off has passed (all of them when all is set) to the
// active queue; the caller holds mu.
func (s *Scheduler) retryBackoff(all bool) {
	now := s.cfg.Now()
	moved := false
	for key, at := range s.backoff {
		if !all && now.Before(at) {
			continue
		}
		delete(s.backoff, key)
		ns, name := splitKey(key)
		if p, ok := s.pods.Get(ns, name); ok {
			s.active.add(key, api.PodPriority(&p.Spec), p.CreationTimestamp.Time)
			moved = true
		}
	}
	if moved {
		s.signal()
	}
}

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func splitKey(key string) (string, string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

func (s *Scheduler) retryLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.RetryInterval)
	defer t.Stop()
	b := time.NewTicker(min(s.cfg.InitialBackoff, time.Second) / 4)
	defer b.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			s.flushUnschedulable()
			s.retryBackoff(true)
			s.mu.Unlock()
		case <-b.C:
			s.mu.Lock()
			if len(s.backoff) > 0 {
				s.retryBackoff(false)
			}
			s.mu.Unlock()
		}
	}
}

// loop takes pods off the active queue one at a time and decides for each.
func (s *Scheduler) loop(ctx context.Context) {
	for {
		s.mu.Lock()
		s.applyChanges()
		key := s.active.pop()
		s.mu.Unlock()
		if key == "" {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				continue
			}
		}
		if job, ok := s.decide(key); ok {
			select {
			case s.binds <- job:
			case <-ctx.Done():
				return
			}
		}
	}
}

// decide schedules one pod against the snapshot. On success the pod is assumed on its node
// (counted there at once, so the next decision sees it) and a bind job is returned. A pod
// nominated to a node by an earlier preemption goes there if it fits now. A pod that fits
// nowhere may preempt pods of lower priority (preempt); either way it waits, parked, for the
// cluster to change.
func (s *Scheduler) decide(key string) (bindJob, bool) {
	ns, name := splitKey(key)
	pod, ok := s.pods.Get(ns, name)
	if !ok || pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil || terminal(pod) {
		return bindJob{}, false
	}
	pi := NewPodInfo(pod)
	s.compiled.Prepare(pi)
	s.mu.Lock()
	start := time.Now()
	s.snap.Prepare(pi)
	nodes := s.snap.Nodes()
	var d Decision
	if nn := s.snap.NominatedNode(key); nn != "" {
		if ni, ok := s.snap.Node(nn); ok {
			if ok, _ := runFilters(pi, ni, s.cfg.Filters); ok {
				d = Decision{Node: nn, Total: len(nodes), Feasible: 1, Examined: 1}
			}
		}
	}
	if d.Node == "" {
		want := NodesToFind(len(nodes), s.cfg.PercentageOfNodesToScore, s.cfg.MinFeasibleNodesToFind)
		d = ScheduleSample(pi, nodes, s.cfg.Filters, s.cfg.Scorers, s.cfg.Rand, s.next, want)
		s.next = d.Next
	}
	s.decisions.Add(1)
	s.decideNanos.Add(int64(time.Since(start)))
	if d.Node == "" {
		pre := Preemption{}
		if ok, why := s.snap.Eligible(pi); !ok {
			pre.NotEligible = why
		} else {
			s.snap.SetBudgets(s.budgets.List())
			pre = s.snap.Preempt(pi, s.cfg.Filters, s.next)
		}
		var displaced []string
		if pre.Node != "" {
			displaced = s.snap.Displace(pre.Node, pi.Priority)
			s.snap.Nominate(key, pre.Node, pi.Priority, pi.Requests)
		}
		msg := Explain(d, pre)
		s.unschedulable[key] = true
		s.attempts[key]++
		s.mu.Unlock()
		if pre.Node != "" {
			s.preempt(pod, pre, displaced)
		}
		s.markUnschedulable(pod, msg, pre.Node)
		return bindJob{}, false
	}
	s.snap.PlacePod(pi, d.Node)
	s.assumed[key] = d.Node
	s.mu.Unlock()
	return bindJob{pod: pod, node: d.Node}, true
}

// preempt makes room for pod on pre.Node: each victim gets a DisruptionTarget condition, is
// deleted gracefully (its runner stops it within its grace period) and gets a Preempted
// event naming the preemptor by UID, as Kubernetes words it; the pods of lower priority
// that were nominated to the node lose their nomination. The victims' room is the pod's
// once they are gone: the snapshot counts them until the API reports them deleted.
func (s *Scheduler) preempt(pod *api.Pod, pre Preemption, displaced []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods := client.Pods(s.cfg.Client)
	cond, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []any{map[string]any{
		"type": api.DisruptionTarget, "status": api.ConditionTrue, "reason": "PreemptionByScheduler",
		"message": s.cfg.Name + ": preempting to accommodate a higher priority pod", "lastTransitionTime": api.NewTime(s.cfg.Now()),
	}}}})
	for _, v := range pre.Victims {
		vp := pods.Namespace(v.Namespace)
		if _, err := vp.Patch(ctx, v.Name, client.StrategicMergePatch, cond, "status"); err != nil && !api.IsNotFound(err) {
			s.cfg.Logger.Warn("mark preemption victim", "pod", podKey(v), "err", err)
		}
		err := vp.Delete(ctx, v.Name, &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr(v.UID)}})
		switch {
		case err == nil:
			if s.cfg.Recorder != nil {
				s.cfg.Recorder.Eventf(v, api.EventNormal, "Preempted", "Preempted by pod %s on node %s", pod.UID, pre.Node)
			}
		case !api.IsNotFound(err) && !api.IsConflict(err):
			s.cfg.Logger.Warn("delete preemption victim", "pod", podKey(v), "preemptor", podKey(pod), "err", err)
		}
	}
	for _, key := range displaced {
		ns, name := splitKey(key)
		_, err := pods.Namespace(ns).Patch(ctx, name, client.MergePatch, []byte(`{"status":{"nominatedNodeName":null}}`), "status")
		if err != nil && !api.IsNotFound(err) {
			s.cfg.Logger.Warn("clear nominated node", "pod", key, "err", err)
		}
	}
}

func (s *Scheduler) binder(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-s.binds:
			s.bind(ctx, job)
		}
	}
}

func (s *Scheduler) bind(ctx context.Context, job bindJob) {
	p := job.pod
	key := podKey(p)
	b := &api.Binding{
		TypeMeta:   api.TypeMeta{Kind: "Binding", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
		Target:     api.ObjectReference{Kind: "Node", Name: job.node, APIVersion: "v1"},
	}
	body, _ := json.Marshal(b)
	_, err := s.cfg.Client.Do(ctx, client.Request{Method: "POST",
		Path: "/api/v1/namespaces/" + p.Namespace + "/pods/" + p.Name + "/binding", Body: body})
	s.mu.Lock()
	delete(s.assumed, key)
	switch {
	case err == nil:
		s.mu.Unlock()
		if s.cfg.Recorder != nil {
			s.cfg.Recorder.Eventf(p, api.EventNormal, "Scheduled", "Successfully assigned %s to %s", key, job.node)
		}
		return
	case api.IsNotFound(err) || api.IsConflict(err):
		// Deleted, or bound by someone else: the pod informer settles the accounting.
		if api.IsNotFound(err) {
			s.snap.RemovePod(key)
		}
		s.mu.Unlock()
	default:
		s.snap.RemovePod(key)
		if ctx.Err() == nil {
			s.unschedulable[key] = true
		}
		s.mu.Unlock()
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("bind pod", "pod", key, "node", job.node, "err", err)
		}
	}
}

// markUnschedulable records PodScheduled=False with the explanation, and the node a
// preemption nominated (if any) in status.nominatedNodeName, once per distinct message and
// nomination, and an event.
func (s *Scheduler) markUnschedulable(p *api.Pod, msg, nominated string) {
	if nominated == "" || p.Status.NominatedNodeName == nominated {
		for _, c := range p.Status.Conditions {
			if c.Type == api.PodScheduled && c.Status == api.ConditionFalse && c.Message == msg {
				return
			}
		}
	}
	status := map[string]any{"conditions": []any{map[string]any{
		"type": api.PodScheduled, "status": api.ConditionFalse, "reason": "Unschedulable",
		"message": msg, "lastTransitionTime": api.NewTime(s.cfg.Now()),
	}}}
	if nominated != "" {
		status["nominatedNodeName"] = nominated
	}
	patch, _ := json.Marshal(map[string]any{"status": status})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Pods(s.cfg.Client).Namespace(p.Namespace).Patch(ctx, p.Name, client.StrategicMergePatch, patch, "status")
	if err != nil && !api.IsNotFound(err) {
		s.cfg.Logger.Warn("record unschedulable pod", "pod", podKey(p), "err", err)
	}
	if s.cfg.Recorder != nil {
		s.cfg.Recorder.Eventf(p, api.EventWarning, "FailedScheduling", "%s", msg)
	}
}
