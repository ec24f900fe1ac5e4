package scheduler

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/policy"
)

// Policy is a SchedulingPolicy compiled once: the pods it applies to, its program and weight.
//
// Results are memoized. What the program reads of the pod is known from its expressions
// (policy.Program.PodKey): pods that read the same (the same zone label, say; every pod, for a
// policy that never names `pod`) share a memo table, which holds for each node of the snapshot
// the filter verdict and the score, kept while the node and what is placed on it are unchanged
// (NodeInfo.gen), or only the node object for a policy that does not read node.requested
// (NodeInfo.objGen). A policy that reads the pod in a way no key holds is evaluated every time.
// Errors and cost overruns are results like any other: the node stays excluded with its
// reason. Memo tables belong to the scheduler loop: they are not safe for concurrent
// decisions. An updated policy is a new Policy, with empty tables.
type Policy struct {
	Name     string
	Selector labels.Selector
	Program  *policy.Program
	Weight   float64
	// reasons are the phrases the policy's filter prints, built once.
	reasonNoMatch, reasonCost, reasonError string

	memoMu sync.Mutex
	memos  map[string]*memoTable // by pod key
}

// maxPodKeys bounds the memo tables a policy keeps, one per pod key; past it they start over.
const maxPodKeys = 64

// memoTable is a policy's results for the pods of one key, by node position in a snapshot.
type memoTable struct {
	snap    *Snapshot
	entries []memoEntry
	// object: the policy does not read node.requested, so its results hold while the node
	// object is unchanged (NodeInfo.objGen), whatever is placed on the node.
	object bool
}

// memoEntry is one node's results, for the node state gen (NodeInfo.gen or objGen). Gens are
// unique within a snapshot, so an entry is never taken for another node or another state of
// the node.
type memoEntry struct {
	gen   uint64
	score float64
	state memoState
}

type memoState uint8

const (
	memoFiltered    memoState = 1 << iota // the filter ran: memoPass and the reason bits hold its result
	memoPass                              // the filter passed
	memoCost                              // the filter ran over the cost limit
	memoError                             // the filter failed to evaluate
	memoScored                            // the score ran: score holds it
	memoScoreFailed                       // the score failed to evaluate
)

// entry returns n's entry, emptied if it holds an older state; nil when n is not a node of
// the snapshot that prepared pi. A table serves one snapshot at a time: it starts over when
// a pod of another one uses it.
func (t *memoTable) entry(pi *PodInfo, n *NodeInfo) *memoEntry {
	s := pi.snap
	if t == nil || s == nil || n.pos < 0 || int(n.pos) >= len(s.list) || s.list[n.pos] != n {
		return nil
	}
	if t.snap != s {
		t.snap, t.entries = s, nil
	}
	if int(n.pos) >= len(t.entries) {
		t.entries = append(t.entries, make([]memoEntry, len(s.list)-len(t.entries))...)
	}
	gen := n.gen
	if t.object {
		gen = n.objGen
	}
	e := &t.entries[n.pos]
	if e.gen != gen {
		*e = memoEntry{gen: gen}
	}
	return e
}

// current returns n's entry if it holds results for the node as it is, else nil; it changes
// nothing, and is small enough to inline in the search.
func (t *memoTable) current(pi *PodInfo, n *NodeInfo) *memoEntry {
	s := pi.snap
	if t == nil || s == nil || t.snap != s || uint(n.pos) >= uint(len(t.entries)) ||
		uint(n.pos) >= uint(len(s.list)) || s.list[n.pos] != n {
		return nil
	}
	gen := n.gen
	if t.object {
		gen = n.objGen
	}
	if e := &t.entries[n.pos]; e.gen == gen {
		return e
	}
	return nil
}

// table returns the memo table of pods with key.
func (p *Policy) table(key string) *memoTable {
	p.memoMu.Lock()
	defer p.memoMu.Unlock()
	if t := p.memos[key]; t != nil {
		return t
	}
	if p.memos == nil || len(p.memos) >= maxPodKeys {
		p.memos = map[string]*memoTable{}
	}
	t := &memoTable{object: !p.Program.ReadsRequested()}
	p.memos[key] = t
	return t
}

// filter evaluates the policy's filter for pod on node, memoized in t (nil: not memoized).
func (p *Policy) filter(env *policy.SchedulingEnv, pi *PodInfo, t *memoTable, n *NodeInfo) (bool, string) {
	e := t.entry(pi, n)
	if e != nil && e.state&memoFiltered != 0 {
		if e.state&memoPass != 0 {
			return true, ""
		}
		return false, p.reason(e.state)
	}
	ok, err := p.Program.Filter(pi.input, n.PolicyInput(env))
	reason, state := "", memoFiltered
	switch {
	case errors.Is(err, policy.ErrCostLimit):
		ok, reason, state = false, p.reasonCost, state|memoCost
	case err != nil:
		ok, reason, state = false, p.reasonError, state|memoError
	case ok:
		state |= memoPass
	default:
		reason = p.reasonNoMatch
	}
	if e != nil {
		e.state |= state
	}
	return ok, reason
}

// reason is the phrase of a filter that did not pass, as memoized in state.
func (p *Policy) reason(state memoState) string {
	switch {
	case state&memoCost != 0:
		return p.reasonCost
	case state&memoError != 0:
		return p.reasonError
	}
	return p.reasonNoMatch
}

// score evaluates the policy's score for pod on node, memoized in t; ok is false when the
// evaluation failed.
func (p *Policy) score(env *policy.SchedulingEnv, pi *PodInfo, t *memoTable, n *NodeInfo) (float64, bool) {
	e := t.entry(pi, n)
	if e != nil && e.state&memoScored != 0 {
		return e.score, e.state&memoScoreFailed == 0
	}
	v, err := p.Program.Score(pi.input, n.PolicyInput(env))
	if e != nil {
		e.score, e.state = v, e.state|memoScored
		if err != nil {
			e.state |= memoScoreFailed
		}
	}
	return v, err == nil
}

// CompilePolicy compiles sp in env.
func CompilePolicy(env *policy.SchedulingEnv, sp *api.SchedulingPolicy) (*Policy, error) {
	sel := labels.Everything()
	if s := sp.Spec.PodSelector; s != nil {
		var err error
		if sel, err = api.SelectorOf(s); err != nil {
			return nil, fmt.Errorf("compile scheduling policy %s: podSelector: %w", sp.Name, err)
		}
	}
	prg, err := env.Compile(sp.Spec.Filter, sp.Spec.Score)
	if err != nil {
		return nil, fmt.Errorf("compile scheduling policy %s: %w", sp.Name, err)
	}
	w := float64(sp.Spec.Weight)
	if w == 0 {
		w = 1
	}
	return &Policy{Name: sp.Name, Selector: sel, Program: prg, Weight: w,
		reasonNoMatch: "node(s) didn't match policy " + sp.Name,
		reasonCost:    "node(s) exceeded the cost limit of policy " + sp.Name,
		reasonError:   "node(s) failed evaluation of policy " + sp.Name,
	}, nil
}

// Policies is the set of compiled scheduling policies, kept current from a watch. It is safe
// for concurrent use.
type Policies struct {
	env *policy.SchedulingEnv

	mu   sync.RWMutex
	byID map[string]*Policy
	list []*Policy // by name
}

// NewPolicies returns an empty set whose policies compile in env.
func NewPolicies(env *policy.SchedulingEnv) *Policies {
	return &Policies{env: env, byID: map[string]*Policy{}}
}

// Env returns the CEL environment the policies compile in.
func (ps *Policies) Env() *policy.SchedulingEnv { return ps.env }

// Set compiles and adds or replaces sp. A policy that does not compile (the API server
// rejects those, so only one written before a schema change) is dropped and the error returned.
func (ps *Policies) Set(sp *api.SchedulingPolicy) error {
	p, err := CompilePolicy(ps.env, sp)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err != nil {
		delete(ps.byID, sp.Name)
	} else {
		ps.byID[sp.Name] = p
	}
	ps.rebuild()
	return err
}

// Delete removes the policy called name.
func (ps *Policies) Delete(name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	delete(ps.byID, name)
	ps.rebuild()
}

func (ps *Policies) rebuild() {
	ps.list = make([]*Policy, 0, len(ps.byID))
	for _, p := range ps.byID {
		ps.list = append(ps.list, p)
	}
	sort.Slice(ps.list, func(i, j int) bool { return ps.list[i].Name < ps.list[j].Name })
}

// Prepare sets pi.Policies to the policies whose podSelector matches the pod, prepares the
// pod's CEL input once for all nodes, and picks each policy's memo table for the pod.
func (ps *Policies) Prepare(pi *PodInfo) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	pi.Policies, pi.input = pi.Policies[:0], nil
	pi.filters, pi.scores = pi.filters[:0], pi.scores[:0]
	set := labels.Set(pi.Pod.Labels)
	for _, p := range ps.list {
		if p.Selector.Matches(set) {
			pi.Policies = append(pi.Policies, p)
		}
	}
	if len(pi.Policies) == 0 {
		return
	}
	pi.input = ps.env.NewPodInput(pi.Pod)
	for _, p := range pi.Policies {
		var t *memoTable
		if key, ok := p.Program.PodKey(pi.input); ok {
			t = p.table(key)
		}
		if p.Program.HasFilter() {
			pi.filters = append(pi.filters, policyMemo{p, t})
		}
		if p.Program.HasScore() {
			pi.scores = append(pi.scores, policyMemo{p, t})
		}
	}
}

// PolicyFilter applies the filters of the policies prepared on the pod: a node where one is
// false is excluded with "node(s) didn't match policy NAME"; where one fails to evaluate, with
// a reason saying the cost limit was exceeded or evaluation failed. As a Scorer it adds each
// policy's weight times its score. The node's CEL input is cached on the NodeInfo.
type PolicyFilter struct{ Env *policy.SchedulingEnv }

// Name implements Filter and Scorer.
func (PolicyFilter) Name() string { return "SchedulingPolicy" }

// Filter implements Filter.
func (f PolicyFilter) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	for i := range p.filters {
		pm := &p.filters[i]
		if e := pm.t.current(p, n); e != nil && e.state&memoFiltered != 0 {
			if e.state&memoPass == 0 {
				return false, pm.p.reason(e.state)
			}
			continue
		}
		if ok, reason := pm.p.filter(f.Env, p, pm.t, n); !ok {
			return false, reason
		}
	}
	return true, ""
}

func (PolicyFilter) skipFor(p *PodInfo) bool {
	return len(p.filters) == 0
}

func (PolicyFilter) constFor(p *PodInfo) (float64, bool) {
	return 0, len(p.scores) == 0
}

// Score implements Scorer: the sum of weight * score of the policies with a score. A score
// that fails to evaluate counts as 0. It is not bounded by MaxScore: a policy's weight and
// expression set its scale.
func (f PolicyFilter) Score(p *PodInfo, n *NodeInfo) float64 {
	var sum float64
	for i := range p.scores {
		pm := &p.scores[i]
		if e := pm.t.current(p, n); e != nil && e.state&memoScored != 0 {
			if e.state&memoScoreFailed == 0 {
				sum += pm.p.Weight * e.score
			}
			continue
		}
		if v, ok := pm.p.score(f.Env, p, pm.t, n); ok {
			sum += pm.p.Weight * v
		}
	}
	return sum
}

// policyMemo is a policy applied to a pod, with the memo table of its results for the pod.
type policyMemo struct {
	p *Policy
	t *memoTable
}
