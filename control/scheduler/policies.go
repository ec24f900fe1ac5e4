package scheduler

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/policy"
)

// Policy is a SchedulingPolicy compiled once: the pods it applies to, its program and weight.
//
// Results are cached on each node when they cannot depend on more than the pod's labels: an
// expression that never names `pod` gives one result per node, one that reads only
// pod.metadata.labels one per node and label set. A cached result is used while the node and
// what is placed on it are unchanged (NodeInfo.gen). Caches belong to the scheduler loop; they
// are not safe for concurrent use.
type Policy struct {
	Name     string
	Selector labels.Selector
	Program  *policy.Program
	Weight   float64
	// reasons are the phrases the policy's filter prints, built once.
	reasonNoMatch, reasonCost, reasonError string

	cacheMode int // cacheNone, cachePodFree, cacheLabels
}

// Cache modes of a Policy.
const (
	cacheNone = iota
	cachePodFree
	cacheLabels
)

// maxNodeResults bounds the cached results a node keeps; past it the node starts over.
const maxNodeResults = 32

// maxPodClasses bounds the label sets a Policies set numbers; past it the numbering starts
// over (with new numbers, so old results are never mistaken for new ones).
const maxPodClasses = 4096

// resultKey names a cached result on a node: the policy and the pod's label-set number (0
// for policies that do not read the pod).
type resultKey struct {
	p     *Policy
	class uint64
}

type nodeResult struct {
	key resultKey
	cachedResult
}

type cachedResult struct {
	gen         uint64
	filterDone  bool
	ok          bool
	reason      string
	scoreDone   bool
	score       float64
	scoreFailed bool
}

var (
	podIdent     = regexp.MustCompile(`\bpod\b`)
	podLabelsUse = regexp.MustCompile(`\bpod\s*\.\s*metadata\s*\.\s*labels\b`)
)

// cacheModeOf classifies expressions by what they may read of the pod. It is conservative: an
// identifier `pod` inside a string literal only costs caching.
func cacheModeOf(exprs ...string) int {
	mode := cachePodFree
	for _, e := range exprs {
		if !podIdent.MatchString(e) {
			continue
		}
		if len(podIdent.FindAllStringIndex(e, -1)) != len(podLabelsUse.FindAllStringIndex(e, -1)) {
			return cacheNone
		}
		mode = cacheLabels
	}
	return mode
}

func (p *Policy) key(pi *PodInfo) resultKey {
	if p.cacheMode == cacheLabels {
		return resultKey{p, pi.class}
	}
	return resultKey{p, 0}
}

// cached returns the cached result of (pod, node), empty if the node changed since. A node
// holds a few results (policies times label sets of the pods that looked at it), so a short
// slice searched in order beats a map.
func (p *Policy) cached(pi *PodInfo, n *NodeInfo) cachedResult {
	k := p.key(pi)
	for i := range n.results {
		if e := &n.results[i]; e.key == k {
			if e.gen == n.gen {
				return e.cachedResult
			}
			break
		}
	}
	return cachedResult{gen: n.gen}
}

func (p *Policy) store(pi *PodInfo, n *NodeInfo, r cachedResult) {
	k := p.key(pi)
	for i := range n.results {
		if n.results[i].key == k {
			n.results[i].cachedResult = r
			return
		}
	}
	if len(n.results) >= maxNodeResults {
		n.results = n.results[:0]
	}
	n.results = append(n.results, nodeResult{key: k, cachedResult: r})
}

// filter evaluates the policy's filter for pod on node, from the cache when it can.
func (p *Policy) filter(env *policy.SchedulingEnv, pi *PodInfo, n *NodeInfo) (bool, string) {
	var r cachedResult
	if p.cacheMode != cacheNone {
		if r = p.cached(pi, n); r.filterDone {
			return r.ok, r.reason
		}
	}
	ok, err := p.Program.Filter(pi.input, n.PolicyInput(env))
	reason := ""
	switch {
	case errors.Is(err, policy.ErrCostLimit):
		ok, reason = false, p.reasonCost
	case err != nil:
		ok, reason = false, p.reasonError
	case !ok:
		reason = p.reasonNoMatch
	}
	if p.cacheMode != cacheNone {
		r.filterDone, r.ok, r.reason = true, ok, reason
		p.store(pi, n, r)
	}
	return ok, reason
}

// score evaluates the policy's score for pod on node, from the cache when it can; ok is false
// when the evaluation failed.
func (p *Policy) score(env *policy.SchedulingEnv, pi *PodInfo, n *NodeInfo) (float64, bool) {
	var r cachedResult
	if p.cacheMode != cacheNone {
		if r = p.cached(pi, n); r.scoreDone {
			return r.score, !r.scoreFailed
		}
	}
	v, err := p.Program.Score(pi.input, n.PolicyInput(env))
	if p.cacheMode != cacheNone {
		r.scoreDone, r.score, r.scoreFailed = true, v, err != nil
		p.store(pi, n, r)
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
	return &Policy{Name: sp.Name, Selector: sel, Program: prg, Weight: w, cacheMode: cacheModeOf(sp.Spec.Filter, sp.Spec.Score),
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

	classMu   sync.Mutex
	classes   map[string]uint64 // label set -> number, for result caching
	nextClass uint64
}

// NewPolicies returns an empty set whose policies compile in env.
func NewPolicies(env *policy.SchedulingEnv) *Policies {
	return &Policies{env: env, byID: map[string]*Policy{}, classes: map[string]uint64{}}
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

// Prepare sets pi.Policies to the policies whose podSelector matches the pod, and prepares
// the pod's CEL input once for all nodes.
func (ps *Policies) Prepare(pi *PodInfo) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	pi.Policies = pi.Policies[:0]
	set := labels.Set(pi.Pod.Labels)
	for _, p := range ps.list {
		if p.Selector.Matches(set) {
			pi.Policies = append(pi.Policies, p)
		}
	}
	pi.input = nil
	if len(pi.Policies) > 0 {
		pi.input = ps.env.NewPodInput(pi.Pod)
	}
	for _, p := range pi.Policies {
		if p.cacheMode == cacheLabels {
			pi.class = ps.classOf(set.String())
			break
		}
	}
}

// classOf numbers a label set, from 1.
func (ps *Policies) classOf(key string) uint64 {
	ps.classMu.Lock()
	defer ps.classMu.Unlock()
	if c, ok := ps.classes[key]; ok {
		return c
	}
	if len(ps.classes) >= maxPodClasses {
		clear(ps.classes)
	}
	ps.nextClass++
	ps.classes[key] = ps.nextClass
	return ps.nextClass
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
	if len(p.Policies) == 0 {
		return true, ""
	}
	for _, pol := range p.Policies {
		if !pol.Program.HasFilter() {
			continue
		}
		if ok, reason := pol.filter(f.Env, p, n); !ok {
			return false, reason
		}
	}
	return true, ""
}

// Score implements Scorer: the sum of weight * score of the policies with a score. A score
// that fails to evaluate counts as 0. It is not bounded by MaxScore: a policy's weight and
// expression set its scale.
func (f PolicyFilter) Score(p *PodInfo, n *NodeInfo) float64 {
	var sum float64
	for _, pol := range p.Policies {
		if !pol.Program.HasScore() {
			continue
		}
		if v, ok := pol.score(f.Env, p, n); ok {
			sum += pol.Weight * v
		}
	}
	return sum
}
