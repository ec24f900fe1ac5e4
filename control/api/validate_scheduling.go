package api

import (
	"fmt"
	"strconv"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

var (
	taintEffects       = []string{TaintNoSchedule, TaintPreferNoSchedule, TaintNoExecute}
	tolerationOps      = []string{TolerationOpEqual, TolerationOpExists}
	nodeSelectorOps    = []string{NodeSelectorOpDoesNotExist, NodeSelectorOpExists, NodeSelectorOpGt, NodeSelectorOpIn, NodeSelectorOpLt, NodeSelectorOpNotIn}
	whenUnsatisfiables = []string{DoNotSchedule, ScheduleAnyway}
)

func validateLabelKey(p Path, key string) FieldErrors {
	var errs FieldErrors
	for _, msg := range labels.IsQualifiedName(key) {
		errs = append(errs, InvalidValue(p, key, msg))
	}
	return errs
}

func validateTaints(taints []Taint, p Path) FieldErrors {
	var errs FieldErrors
	seen := map[[2]string]bool{}
	for i, t := range taints {
		tp := p.Index(i)
		errs = append(errs, validateLabelKey(tp.Child("key"), t.Key)...)
		if t.Value != "" {
			for _, msg := range labels.IsValidLabelValue(t.Value) {
				errs = append(errs, InvalidValue(tp.Child("value"), t.Value, msg))
			}
		}
		if !hasString(taintEffects, t.Effect) {
			errs = append(errs, NotSupported(tp.Child("effect"), t.Effect, taintEffects))
		}
		k := [2]string{t.Key, t.Effect}
		if seen[k] {
			errs = append(errs, Duplicate(tp, fmt.Sprintf("%s:%s", t.Key, t.Effect)))
		}
		seen[k] = true
	}
	return errs
}

func validateTolerations(ts []Toleration, p Path) FieldErrors {
	var errs FieldErrors
	for i, t := range ts {
		tp := p.Index(i)
		if t.Key != "" {
			errs = append(errs, validateLabelKey(tp.Child("key"), t.Key)...)
		}
		switch t.Operator {
		case TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, InvalidValue(tp.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		case "", TolerationOpEqual:
			if t.Key == "" {
				errs = append(errs, InvalidValue(tp.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
			}
			if t.Value != "" {
				for _, msg := range labels.IsValidLabelValue(t.Value) {
					errs = append(errs, InvalidValue(tp.Child("value"), t.Value, msg))
				}
			}
		default:
			errs = append(errs, NotSupported(tp.Child("operator"), t.Operator, tolerationOps))
		}
		if t.Effect != "" && !hasString(taintEffects, t.Effect) {
			errs = append(errs, NotSupported(tp.Child("effect"), t.Effect, taintEffects))
		}
		if t.TolerationSeconds != nil && t.Effect != TaintNoExecute {
			errs = append(errs, InvalidValue(tp.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
	}
	return errs
}

func validateNodeSelectorTerm(t *NodeSelectorTerm, p Path) FieldErrors {
	var errs FieldErrors
	for j, r := range t.MatchExpressions {
		rp := p.Child("matchExpressions").Index(j)
		errs = append(errs, validateLabelKey(rp.Child("key"), r.Key)...)
		errs = append(errs, validateNodeRequirement(r, rp)...)
	}
	for j, r := range t.MatchFields {
		rp := p.Child("matchFields").Index(j)
		if r.Key != "metadata.name" {
			errs = append(errs, NotSupported(rp.Child("key"), r.Key, []string{"metadata.name"}))
		}
		if r.Operator != NodeSelectorOpIn && r.Operator != NodeSelectorOpNotIn {
			errs = append(errs, NotSupported(rp.Child("operator"), r.Operator, []string{NodeSelectorOpIn, NodeSelectorOpNotIn}))
		} else if len(r.Values) != 1 {
			errs = append(errs, Required(rp.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	}
	return errs
}

func validateNodeRequirement(r NodeSelectorRequirement, rp Path) FieldErrors {
	switch r.Operator {
	case NodeSelectorOpIn, NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			return FieldErrors{Required(rp.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'")}
		}
	case NodeSelectorOpExists, NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			return FieldErrors{Forbidden(rp.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")}
		}
	case NodeSelectorOpGt, NodeSelectorOpLt:
		if len(r.Values) != 1 {
			return FieldErrors{Required(rp.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'")}
		}
		if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
			return FieldErrors{InvalidValue(rp.Child("values").Index(0), r.Values[0], "must be an integer")}
		}
	default:
		return FieldErrors{NotSupported(rp.Child("operator"), r.Operator, nodeSelectorOps)}
	}
	return nil
}

func validateWeight(p Path, w int32) FieldErrors {
	if w < 1 || w > 100 {
		return FieldErrors{InvalidValue(p, w, "must be in the range 1-100")}
	}
	return nil
}

func validateLabelSelector(s *LabelSelector, p Path) FieldErrors {
	if s == nil {
		return nil
	}
	errs := ValidateLabels(s.MatchLabels, p.Child("matchLabels"))
	if _, err := SelectorOf(s); err != nil {
		errs = append(errs, InvalidValue(p, s, err.Error()))
	}
	return errs
}

func validatePodAffinityTerms(terms []PodAffinityTerm, weighted []WeightedPodAffinityTerm, p Path) FieldErrors {
	var errs FieldErrors
	term := func(t *PodAffinityTerm, tp Path) {
		errs = append(errs, validateLabelSelector(t.LabelSelector, tp.Child("labelSelector"))...)
		for k, ns := range t.Namespaces {
			for _, msg := range labels.IsDNS1123Label(ns) {
				errs = append(errs, InvalidValue(tp.Child("namespaces").Index(k), ns, msg))
			}
		}
		if t.TopologyKey == "" {
			errs = append(errs, Required(tp.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, validateLabelKey(tp.Child("topologyKey"), t.TopologyKey)...)
		}
	}
	for i := range terms {
		term(&terms[i], p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))
	}
	for i := range weighted {
		wp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		errs = append(errs, validateWeight(wp.Child("weight"), weighted[i].Weight)...)
		term(&weighted[i].PodAffinityTerm, wp.Child("podAffinityTerm"))
	}
	return errs
}

func validateAffinity(a *Affinity, p Path) FieldErrors {
	if a == nil {
		return nil
	}
	var errs FieldErrors
	if na := a.NodeAffinity; na != nil {
		np := p.Child("nodeAffinity")
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			rp := np.Child("requiredDuringSchedulingIgnoredDuringExecution")
			if len(r.NodeSelectorTerms) == 0 {
				errs = append(errs, Required(rp.Child("nodeSelectorTerms"), "must have at least one node selector term"))
			}
			for i := range r.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(&r.NodeSelectorTerms[i], rp.Child("nodeSelectorTerms").Index(i))...)
			}
		}
		for i := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			pp := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			t := &na.PreferredDuringSchedulingIgnoredDuringExecution[i]
			errs = append(errs, validateWeight(pp.Child("weight"), t.Weight)...)
			errs = append(errs, validateNodeSelectorTerm(&t.Preference, pp.Child("preference"))...)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("podAffinity"))...)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("podAntiAffinity"))...)
	}
	return errs
}

func validateTopologySpread(cs []TopologySpreadConstraint, p Path) FieldErrors {
	var errs FieldErrors
	seen := map[[2]string]bool{}
	for i, c := range cs {
		cp := p.Index(i)
		if c.MaxSkew < 1 {
			errs = append(errs, InvalidValue(cp.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, Required(cp.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, validateLabelKey(cp.Child("topologyKey"), c.TopologyKey)...)
		}
		if !hasString(whenUnsatisfiables, c.WhenUnsatisfiable) {
			errs = append(errs, NotSupported(cp.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, whenUnsatisfiables))
		}
		errs = append(errs, validateLabelSelector(c.LabelSelector, cp.Child("labelSelector"))...)
		k := [2]string{c.TopologyKey, c.WhenUnsatisfiable}
		if seen[k] {
			errs = append(errs, Duplicate(cp, fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
		}
		seen[k] = true
	}
	return errs
}

// validatePodScheduling checks the placement fields of a pod spec.
func validatePodScheduling(s *PodSpec, p Path) FieldErrors {
	errs := validateTolerations(s.Tolerations, p.Child("tolerations"))
	errs = append(errs, validateAffinity(s.Affinity, p.Child("affinity"))...)
	errs = append(errs, validateTopologySpread(s.TopologySpreadConstraints, p.Child("topologySpreadConstraints"))...)
	if s.PriorityClassName != "" {
		for _, msg := range labels.IsDNS1123Subdomain(s.PriorityClassName) {
			errs = append(errs, InvalidValue(p.Child("priorityClassName"), s.PriorityClassName, msg))
		}
	}
	return errs
}

func validatePriorityClass(pc *PriorityClass, old *PriorityClass) FieldErrors {
	errs := validateMeta(&pc.ObjectMeta, false, labels.IsDNS1123Subdomain)
	if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, InvalidValue("value", pc.Value, fmt.Sprintf("must be less than or equal to %d", HighestUserDefinablePriority)))
	}
	if old != nil && old.Value != pc.Value {
		errs = append(errs, Forbidden("value", "may not be changed in an update."))
	}
	if pp := pc.PreemptionPolicy; pp != nil && !hasString(preemptionPolicies, *pp) {
		errs = append(errs, NotSupported("preemptionPolicy", *pp, preemptionPolicies))
	}
	if old != nil && old.PreemptionPolicy != nil && (pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != *old.PreemptionPolicy) {
		var now any
		if pc.PreemptionPolicy != nil {
			now = *pc.PreemptionPolicy
		}
		errs = append(errs, InvalidValue("preemptionPolicy", now, "field is immutable"))
	}
	return errs
}

func validateSchedulingPolicy(sp *SchedulingPolicy) FieldErrors {
	errs := validateMeta(&sp.ObjectMeta, false, labels.IsDNS1123Subdomain)
	p := Path("spec")
	errs = append(errs, validateLabelSelector(sp.Spec.PodSelector, p.Child("podSelector"))...)
	if sp.Spec.Filter == "" && sp.Spec.Score == "" {
		errs = append(errs, Required(p.Child("filter"), "a policy needs a filter, a score, or both"))
	}
	if sp.Spec.Weight < 0 || sp.Spec.Weight > 100 {
		errs = append(errs, InvalidValue(p.Child("weight"), sp.Spec.Weight, "must be in the range 0-100"))
	}
	return errs
}
