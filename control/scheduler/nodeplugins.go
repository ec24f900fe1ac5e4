package scheduler

import (
	"fmt"
	"strconv"

	"github.com/wasmkube/wasmkube/control/api"
)

// untoleratedReason is Kubernetes' "node(s) had untolerated taint {key: value}".
func untoleratedReason(t *api.Taint) string {
	return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
}

func tolerated(tols []api.Toleration, t *api.Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(t) {
			return true
		}
	}
	return false
}

// TaintToleration keeps a pod off nodes with a NoSchedule or NoExecute taint it does not
// tolerate, and as a Scorer prefers nodes with fewer untolerated PreferNoSchedule taints.
type TaintToleration struct{}

// Name implements Filter and Scorer.
func (TaintToleration) Name() string { return "TaintToleration" }

// Filter implements Filter.
func (TaintToleration) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	if n.facts&factHardTaints == 0 {
		return true, ""
	}
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect == api.TaintPreferNoSchedule || tolerated(p.Pod.Spec.Tolerations, t) {
			continue
		}
		return false, untoleratedReason(t)
	}
	return true, ""
}

// Score implements Scorer: MaxScore without untolerated PreferNoSchedule taints, halving
// with each.
func (TaintToleration) Score(p *PodInfo, n *NodeInfo) float64 {
	if n.facts&factSoftTaints == 0 {
		return MaxScore
	}
	bad := 0
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect == api.TaintPreferNoSchedule && !tolerated(p.Pod.Spec.Tolerations, t) {
			bad++
		}
	}
	return MaxScore / float64(int(1)<<min(bad, 30))
}

// NodeAffinity enforces required node affinity (any term matches) and as a Scorer adds the
// weights of the preferred terms the node matches, mapped onto 0..MaxScore.
type NodeAffinity struct{}

// Name implements Filter and Scorer.
func (NodeAffinity) Name() string { return "NodeAffinity" }

// Filter implements Filter.
func (NodeAffinity) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	a := p.Pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true, ""
	}
	for i := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if MatchNodeSelectorTerm(&a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[i], n.Node) {
			return true, ""
		}
	}
	return false, ReasonNodeSelector
}

func (NodeAffinity) skipFor(p *PodInfo) bool {
	a := p.Pod.Spec.Affinity
	return a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil
}

func (NodeAffinity) constFor(p *PodInfo) (float64, bool) {
	a := p.Pod.Spec.Affinity
	return 0, a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0
}

// Score implements Scorer.
func (NodeAffinity) Score(p *PodInfo, n *NodeInfo) float64 {
	a := p.Pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return 0
	}
	var got, total float64
	for i := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		t := &a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[i]
		total += float64(t.Weight)
		if MatchNodeSelectorTerm(&t.Preference, n.Node) {
			got += float64(t.Weight)
		}
	}
	if total <= 0 {
		return 0
	}
	return got / total * MaxScore
}

// MatchNodeSelectorTerm reports whether node satisfies every expression and field of t. A
// term with neither matches nothing, as in Kubernetes.
func MatchNodeSelectorTerm(t *api.NodeSelectorTerm, node *api.Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for _, r := range t.MatchExpressions {
		v, has := node.Labels[r.Key]
		if !matchRequirement(r, v, has) {
			return false
		}
	}
	for _, r := range t.MatchFields {
		if r.Key != "metadata.name" || !matchRequirement(r, node.Name, true) {
			return false
		}
	}
	return true
}

func matchRequirement(r api.NodeSelectorRequirement, v string, has bool) bool {
	switch r.Operator {
	case api.NodeSelectorOpIn:
		return has && contains(r.Values, v)
	case api.NodeSelectorOpNotIn:
		return !has || !contains(r.Values, v)
	case api.NodeSelectorOpExists:
		return has
	case api.NodeSelectorOpDoesNotExist:
		return !has
	case api.NodeSelectorOpGt, api.NodeSelectorOpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		a, err1 := strconv.ParseInt(v, 10, 64)
		b, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == api.NodeSelectorOpGt {
			return a > b
		}
		return a < b
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MostAllocated prefers nodes with the least unrequested cpu and memory, packing pods onto
// few nodes (Kubernetes' MostAllocated scoring strategy); select it with Config.Scoring.
type MostAllocated struct{}

// Name implements Scorer.
func (MostAllocated) Name() string { return "MostAllocated" }

// Score implements Scorer.
func (MostAllocated) Score(p *PodInfo, n *NodeInfo) float64 {
	return MaxScore - LeastAllocated{}.Score(p, n)
}

// ImageLocality prefers nodes that already hold the pod's modules compiled, as listed in the
// node's ModulesAnnotation: the share of the pod's module references the node holds.
type ImageLocality struct{}

// Name implements Scorer.
func (ImageLocality) Name() string { return "ImageLocality" }

func (ImageLocality) constFor(p *PodInfo) (float64, bool) { return 0, len(p.Pod.Spec.Containers) == 0 }

// Score implements Scorer.
func (ImageLocality) Score(p *PodInfo, n *NodeInfo) float64 {
	cs := p.Pod.Spec.Containers
	if len(cs) == 0 || len(n.Modules) == 0 {
		return 0
	}
	have := 0
	for _, c := range cs {
		if n.Modules[c.Image] {
			have++
		}
	}
	return float64(have) / float64(len(cs)) * MaxScore
}
