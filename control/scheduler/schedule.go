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
}

// Message explains a failed decision in Kubernetes' words:
// "0/5 nodes are available: 3 Insufficient memory, 2 node(s) were unschedulable."
// Reasons are listed by count, most common first.
func (d Decision) Message() string {
	type rc struct {
		reason string
		n      int
	}
	list := make([]rc, 0, len(d.Reasons))
	for r, n := range d.Reasons {
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
	msg := fmt.Sprintf("0/%d nodes are available", d.Total)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	return msg + "."
}

// Schedule picks the best feasible node for pod: every filter must pass; among feasible nodes
// the highest weighted score wins, ties broken uniformly at random with rng so equal nodes share
// load. It is a pure function of its arguments and does not modify them.
func Schedule(pod *PodInfo, nodes []*NodeInfo, filters []Filter, scorers []WeightedScorer, rng *rand.Rand) Decision {
	d := Decision{Total: len(nodes)}
	ties := 0
	for _, n := range nodes {
		ok, reason := true, ""
		for _, f := range filters {
			if ok, reason = f.Filter(pod, n); !ok {
				break
			}
		}
		if !ok {
			if d.Reasons == nil {
				d.Reasons = map[string]int{}
			}
			d.Reasons[reason]++
			continue
		}
		d.Feasible++
		var score float64
		for _, s := range scorers {
			score += s.Weight * s.Score(pod, n)
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
	return d
}
