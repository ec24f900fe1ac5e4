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
type Policy struct {
	Name     string
	Selector labels.Selector
	Program  *policy.Program
	Weight   float64
	// reasons are the phrases the policy's filter prints, built once.
	reasonNoMatch, reasonCost, reasonError string
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
	var in *policy.NodeInput
	for _, pol := range p.Policies {
		if !pol.Program.HasFilter() {
			continue
		}
		if in == nil {
			in = n.PolicyInput(f.Env)
		}
		ok, err := pol.Program.Filter(p.input, in)
		switch {
		case errors.Is(err, policy.ErrCostLimit):
			return false, pol.reasonCost
		case err != nil:
			return false, pol.reasonError
		case !ok:
			return false, pol.reasonNoMatch
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
		if v, err := pol.Program.Score(p.input, n.PolicyInput(f.Env)); err == nil {
			sum += pol.Weight * v
		}
	}
	return sum
}
