package scheduler

import (
	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
)

// SetBudgets replaces the PodDisruptionBudgets that preemption prefers not to violate, as
// the disruption controller last computed them. The snapshot keeps the slice and its
// objects and only reads them.
func (s *Snapshot) SetBudgets(pdbs []*api.PodDisruptionBudget) { s.budgets = pdbs }

// splitByBudget divides pods (most important first) into those whose eviction, together
// with the more important ones before them, would take a matching budget below zero, and
// the others, as kube-scheduler's filterPodsWithPDBViolation: a pod already in a budget's
// disruptedPods was counted by the API server and spends nothing again; a budget with a
// null or empty selector matches nothing.
func (s *Snapshot) splitByBudget(pods []*api.Pod) (violating, nonViolating []*api.Pod) {
	if len(s.budgets) == 0 {
		return nil, pods
	}
	allowed := make([]int32, len(s.budgets))
	sels := make([]labels.Selector, len(s.budgets))
	for i, b := range s.budgets {
		allowed[i] = b.Status.DisruptionsAllowed
		if sel, err := api.SelectorOf(b.Spec.Selector); err == nil && !sel.Empty() {
			sels[i] = sel
		}
	}
	for _, p := range pods {
		violated := false
		if len(p.Labels) > 0 {
			for i, b := range s.budgets {
				if sels[i] == nil || b.Namespace != p.Namespace || !sels[i].Matches(labels.Set(p.Labels)) {
					continue
				}
				if _, done := b.Status.DisruptedPods[p.Name]; done {
					continue
				}
				allowed[i]--
				if allowed[i] < 0 {
					violated = true
				}
			}
		}
		if violated {
			violating = append(violating, p)
		} else {
			nonViolating = append(nonViolating, p)
		}
	}
	return violating, nonViolating
}
