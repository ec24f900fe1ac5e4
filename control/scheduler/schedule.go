package scheduler

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// Decision is the outcome of scheduling one pod against a snapshot.
type Decision struct {
	// Node is the chosen node, or "" when no node is feasible.
	Node string
	// Score is the chosen node's weighted score.
	Score float64
	// Total is how many nodes were considered; Feasible how many passed every filter.
	Total, Feasible int
	// Reasons counts, per reason phrase, the nodes a filter rejected (each node counted once,
	// under the first filter that rejected it).
	Reasons map[string]int
	// Examined is how many nodes were filtered: Total, unless the search stopped once it had
	// found enough feasible nodes (ScheduleSample); Next is where the next search starts.
	Examined, Next int
}

// Message explains a failed decision in Kubernetes' words:
// "0/5 nodes are available: 3 Insufficient memory, 2 node(s) were unschedulable."
// Reasons are listed by count, most common first.
func (d Decision) Message() string { return availability(d.Total, d.Reasons) + "." }

// availability is "0/total nodes are available: n reason, ...", reasons by count, most
// common first, ties by reason.
func availability(total int, reasons map[string]int) string {
	type rc struct {
		reason string
		n      int
	}
	list := make([]rc, 0, len(reasons))
	for r, n := range reasons {
		list = append(list, rc{r, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].reason < list[j].reason
	})
	parts := make([]string, len(list))
	for i, r := range list {
		parts[i] = fmt.Sprintf("%d %s", r.n, r.reason)
	}
	msg := fmt.Sprintf("0/%d nodes are available", total)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	return msg
}

// Schedule picks the best feasible node for pod: every filter must pass; among feasible nodes
// the highest weighted score wins, ties broken uniformly at random with rng so equal nodes share
// load. It is a pure function of its arguments and does not modify them.
func Schedule(pod *PodInfo, nodes []*NodeInfo, filters []Filter, scorers []WeightedScorer, rng *rand.Rand) Decision {
	return ScheduleSample(pod, nodes, filters, scorers, rng, 0, 0)
}

// ScheduleSample is Schedule that stops filtering once it has found want feasible nodes
// (want <= 0: all), visiting nodes from index start and wrapping around, as kube-scheduler's
// percentageOfNodesToScore does: the best of a bounded sample of feasible nodes wins, and the
// next search starts where this one stopped (Decision.Next) so every node gets its turn. When
// fewer than want nodes are feasible every node is examined, so a failure's explanation
// always counts them all.
func ScheduleSample(pod *PodInfo, nodes []*NodeInfo, filters []Filter, scorers []WeightedScorer, rng *rand.Rand, start, want int) Decision {
	d := Decision{Total: len(nodes)}
	if len(nodes) == 0 {
		return d
	}
	start %= len(nodes)
	if start < 0 {
		start = 0
	}
	// Filters that pass every node for this pod are left out, and scorers that give every
	// node the same score are added as that constant, in their place so that the sum is the
	// same to the last bit. The built-in plugins are called directly, not through their
	// interface: a search makes thousands of calls.
	var fbuf [16]filterStep
	steps := fbuf[:0]
	for _, f := range filters {
		if sk, ok := f.(skipFilter); ok && sk.skipFor(pod) {
			continue
		}
		steps = append(steps, stepOf(f))
	}
	var sbuf [16]plannedScorer
	plan := sbuf[:0]
	for _, s := range scorers {
		plan = append(plan, planScorer(pod, s))
	}
	var reasons reasonCounts
	ties := 0
	for i, at := 0, start; i < len(nodes); i, at = i+1, at+1 {
		if want > 0 && d.Feasible >= want {
			break
		}
		if at == len(nodes) {
			at = 0
		}
		d.Examined++
		n := nodes[at]
		ok, reason := true, ""
		for j := range steps {
			// The common cases inline; the rest are calls.
			st := &steps[j]
			switch {
			case st.kind == stepReady && n.Ready && n.facts&factUnschedulable == 0:
			case st.kind == stepTaints && n.facts&factHardTaints == 0:
			case st.kind == stepFit && n.facts&factNominated == 0 && fitsFree(pod, n):
			case st.kind == stepPolicy:
				ok, reason = st.pf.Filter(pod, n)
			default:
				ok, reason = st.filter(pod, n)
			}
			if !ok {
				break
			}
		}
		if !ok {
			reasons.add(reason)
			continue
		}
		d.Feasible++
		var score float64
		for j := range plan {
			ps := &plan[j]
			switch {
			case ps.kind == stepConstant:
				score += ps.value
			case ps.kind == stepTaints && n.facts&factSoftTaints == 0:
				score += ps.weight * MaxScore
			case ps.kind == stepLeastAllocated:
				score += ps.weight * LeastAllocated{}.Score(pod, n)
			case ps.kind == stepPolicy:
				score += ps.weight * ps.pf.Score(pod, n)
			case ps.kind == stepImageLocality && n.facts&factModules == 0:
				score += ps.weight * 0 // what ImageLocality gives a node listing no modules
			default:
				score += ps.score(pod, n)
			}
		}
		switch {
		case d.Node == "" || score > d.Score:
			d.Node, d.Score, ties = n.Name, score, 1
		case score == d.Score:
			// Reservoir sampling: each of the k tied nodes ends up chosen with chance 1/k.
			ties++
			if rng.IntN(ties) == 0 {
				d.Node = n.Name
			}
		}
	}
	d.Reasons = reasons.toMap()
	d.Next = (start + d.Examined) % len(nodes)
	return d
}

// Kinds of filterStep and plannedScorer: the built-in plugins a search calls directly.
const (
	stepOther = iota
	stepReady
	stepTaints
	stepFit
	stepPolicy
	stepLeastAllocated
	stepImageLocality
	stepConstant
)

// filterStep is a filter as a search calls it.
type filterStep struct {
	kind uint8
	f    Filter
	pf   PolicyFilter
}

func stepOf(f Filter) filterStep {
	switch f := f.(type) {
	case NodeReady:
		return filterStep{kind: stepReady}
	case TaintToleration:
		return filterStep{kind: stepTaints}
	case ResourcesFit:
		return filterStep{kind: stepFit}
	case PolicyFilter:
		return filterStep{kind: stepPolicy, pf: f}
	}
	return filterStep{f: f}
}

func (st *filterStep) filter(pod *PodInfo, n *NodeInfo) (bool, string) {
	switch st.kind {
	case stepReady:
		return NodeReady{}.Filter(pod, n)
	case stepTaints:
		if n.facts&factHardTaints == 0 {
			return true, ""
		}
		return TaintToleration{}.Filter(pod, n)
	case stepFit:
		return ResourcesFit{}.Filter(pod, n)
	case stepPolicy:
		return st.pf.Filter(pod, n)
	}
	return st.f.Filter(pod, n)
}

// plannedScorer is a scorer as a search calls it: value is the weighted score of a scorer
// that gives every node the same.
type plannedScorer struct {
	kind   uint8
	s      Scorer
	pf     PolicyFilter
	weight float64
	value  float64
}

func planScorer(pod *PodInfo, ws WeightedScorer) plannedScorer {
	ps := plannedScorer{s: ws.Scorer, weight: ws.Weight}
	if cs, ok := ws.Scorer.(constScorer); ok {
		if v, ok := cs.constFor(pod); ok {
			ps.kind, ps.value = stepConstant, ws.Weight*v
			return ps
		}
	}
	switch s := ws.Scorer.(type) {
	case LeastAllocated:
		ps.kind = stepLeastAllocated
	case TaintToleration:
		ps.kind = stepTaints
	case PolicyFilter:
		ps.kind, ps.pf = stepPolicy, s
	case ImageLocality:
		ps.kind = stepImageLocality
	}
	return ps
}

// score is the weighted score of n.
func (ps *plannedScorer) score(pod *PodInfo, n *NodeInfo) float64 {
	switch ps.kind {
	case stepConstant:
		return ps.value
	case stepLeastAllocated:
		return ps.weight * LeastAllocated{}.Score(pod, n)
	case stepTaints:
		if n.facts&factSoftTaints == 0 {
			return ps.weight * MaxScore
		}
		return ps.weight * TaintToleration{}.Score(pod, n)
	case stepPolicy:
		return ps.weight * ps.pf.Score(pod, n)
	}
	return ps.weight * ps.s.Score(pod, n)
}

// reasonCounts counts nodes by reason in a short list: a search meets a handful of reasons,
// and the phrases are constants, so comparing them is mostly comparing pointers.
type reasonCounts []reasonCount

type reasonCount struct {
	reason string
	n      int
}

func (rc *reasonCounts) add(reason string) {
	for i := range *rc {
		if (*rc)[i].reason == reason {
			(*rc)[i].n++
			return
		}
	}
	*rc = append(*rc, reasonCount{reason, 1})
}

func (rc reasonCounts) toMap() map[string]int {
	if len(rc) == 0 {
		return nil
	}
	m := make(map[string]int, len(rc))
	for _, r := range rc {
		m[r.reason] += r.n
	}
	return m
}

// NodesToFind is how many feasible nodes a search looks for among total nodes, given a
// percentage (0: Kubernetes' adaptive default, 50% at 0 nodes falling by 1% per 125 nodes to a
// floor of 5%; 100: every node) and a minimum (kube-scheduler uses 100).
func NodesToFind(total, percentage, minimum int) int {
	if total <= minimum || percentage >= 100 {
		return total
	}
	if percentage <= 0 {
		percentage = max(50-total/125, 5)
	}
	return max(total*percentage/100, minimum)
}
