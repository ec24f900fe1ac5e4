package printer

import (
	"fmt"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// priorityClassColumns follow kubectl's PriorityClass columns.
func priorityClassColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Value", typeInteger, "Value is the priority pods of this class receive.", 0),
		col("Global-Default", typeString, "GlobalDefault makes this the class of pods that name none.", 0),
		ageCol(),
		col("PreemptionPolicy", typeString, "PreemptionPolicy is whether pods of this class may preempt pods of lower priority.", 0)}
}

func priorityClassRow(pc *api.PriorityClass, now time.Time) []any {
	policy := ""
	if pc.PreemptionPolicy != nil {
		policy = *pc.PreemptionPolicy
	}
	return []any{pc.Name, int64(pc.Value), fmt.Sprint(pc.GlobalDefault), age(pc.CreationTimestamp, now), policy}
}

// schedulingPolicyColumns show what a SchedulingPolicy does at a glance; the expressions
// themselves are in the wide output.
func schedulingPolicyColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Selector", typeString, "PodSelector chooses the pods the policy applies to.", 0),
		col("Filter", typeString, "Filter is whether the policy has a CEL filter.", 0),
		col("Score", typeString, "Score is whether the policy has a CEL score.", 0),
		col("Weight", typeInteger, "Weight multiplies the score.", 0),
		ageCol(),
		col("Filter-Expression", typeString, "The CEL filter.", 1),
		col("Score-Expression", typeString, "The CEL score.", 1)}
}

func schedulingPolicyRow(sp *api.SchedulingPolicy, now time.Time) []any {
	yes := func(s string) string {
		if s == "" {
			return "<none>"
		}
		return "yes"
	}
	sel := "<all>"
	if s := sp.Spec.PodSelector; s != nil && (len(s.MatchLabels) > 0 || len(s.MatchExpressions) > 0) {
		if ls, err := api.SelectorOf(s); err == nil {
			sel = ls.String()
		}
	}
	return []any{sp.Name, sel, yes(sp.Spec.Filter), yes(sp.Spec.Score), int64(sp.Spec.Weight),
		age(sp.CreationTimestamp, now), orNone(strings.TrimSpace(sp.Spec.Filter)), orNone(strings.TrimSpace(sp.Spec.Score))}
}
