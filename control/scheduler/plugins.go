package scheduler

import "github.com/wasmkube/wasmkube/control/api"

// Filter decides whether a pod may go on a node. When it may not, Reason is the phrase that
// Kubernetes prints in "0/5 nodes are available: <count> <reason>", e.g. "Insufficient memory".
// Filters must not mutate their arguments; they run for many nodes per pod.
type Filter interface {
	Name() string
	Filter(pod *PodInfo, node *NodeInfo) (ok bool, reason string)
}

// Scorer ranks feasible nodes for a pod: 0 (worst) to MaxScore (best). The scheduler multiplies
// by Weight and adds up the scorers.
type Scorer interface {
	Name() string
	Score(pod *PodInfo, node *NodeInfo) float64
}

// MaxScore is the best score a Scorer gives.
const MaxScore = 100

// skipFilter is implemented by filters that can tell, once per decision, that they pass every
// node for the pod (kube-scheduler's PreFilter returning Skip): the search does not call them.
type skipFilter interface {
	skipFor(pod *PodInfo) bool
}

// constScorer is implemented by scorers that can tell, once per decision, that they give every
// node the same score for the pod (kube-scheduler's PreScore returning Skip): the search adds
// that score without calling them.
type constScorer interface {
	constFor(pod *PodInfo) (score float64, ok bool)
}

var (
	_ skipFilter  = NodeName{}
	_ skipFilter  = NodeSelector{}
	_ skipFilter  = NodeAffinity{}
	_ skipFilter  = InterPodAffinity{}
	_ skipFilter  = TopologySpread{}
	_ skipFilter  = PolicyFilter{}
	_ constScorer = NodeAffinity{}
	_ constScorer = InterPodAffinity{}
	_ constScorer = TopologySpread{}
	_ constScorer = ImageLocality{}
	_ constScorer = PolicyFilter{}
)

// WeightedScorer is a Scorer with its weight.
type WeightedScorer struct {
	Scorer
	Weight float64
}

// Reasons Kubernetes prints, kept word for word so operators recognise them.
const (
	ReasonNotReady      = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
	ReasonUnschedulable = "node(s) were unschedulable"
	ReasonNodeSelector  = "node(s) didn't match Pod's node affinity/selector"
	ReasonNodeName      = "node(s) didn't match the requested node name"
	ReasonTooManyPods   = "Too many pods"
)

// NodeReady keeps pods off nodes that are not Ready, and off cordoned nodes unless they
// tolerate the node.kubernetes.io/unschedulable:NoSchedule taint (Kubernetes'
// NodeUnschedulable: DaemonSet pods do).
type NodeReady struct{}

// Name implements Filter.
func (NodeReady) Name() string { return "NodeReady" }

// unschedulableTaint is the taint Kubernetes' NodeUnschedulable tests tolerations against.
var unschedulableTaint = api.Taint{Key: "node.kubernetes.io/unschedulable", Effect: api.TaintNoSchedule}

// Filter implements Filter.
func (NodeReady) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	if !n.Ready {
		return false, ReasonNotReady
	}
	if n.facts&factUnschedulable != 0 && !tolerated(p.Pod.Spec.Tolerations, &unschedulableTaint) {
		return false, ReasonUnschedulable
	}
	return true, ""
}

// NodeName keeps a pod that names its node in spec.nodeName on that node.
type NodeName struct{}

// Name implements Filter.
func (NodeName) Name() string { return "NodeName" }

// Filter implements Filter.
func (NodeName) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	if p.Pod.Spec.NodeName != "" && p.Pod.Spec.NodeName != n.Name {
		return false, ReasonNodeName
	}
	return true, ""
}

func (NodeName) skipFor(p *PodInfo) bool { return p.Pod.Spec.NodeName == "" }

// NodeSelector requires every nodeSelector label of the pod on the node.
type NodeSelector struct{}

// Name implements Filter.
func (NodeSelector) Name() string { return "NodeSelector" }

// Filter implements Filter.
func (NodeSelector) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	for k, v := range p.Pod.Spec.NodeSelector {
		if n.Node.Labels[k] != v {
			return false, ReasonNodeSelector
		}
	}
	return true, ""
}

func (NodeSelector) skipFor(p *PodInfo) bool { return len(p.Pod.Spec.NodeSelector) == 0 }

// ResourcesFit requires the node's unrequested cpu, memory and pod slots to cover the pod.
type ResourcesFit struct{}

// Name implements Filter.
func (ResourcesFit) Name() string { return "NodeResourcesFit" }

// Filter implements Filter.
func (ResourcesFit) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	free := n.Allocatable.Sub(n.Requested)
	if n.facts&factNominated != 0 {
		free = free.Sub(n.reservedFor(p))
	}
	switch {
	case n.Allocatable.Pods > 0 && free.Pods < 1:
		return false, ReasonTooManyPods
	case p.Requests.MilliCPU > 0 && p.Requests.MilliCPU > free.MilliCPU:
		return false, "Insufficient cpu"
	case p.Requests.Memory > 0 && p.Requests.Memory > free.Memory:
		return false, "Insufficient memory"
	}
	return true, ""
}

// fitsFree reports whether the pod fits in what the node has unrequested, nominated pods
// aside: ResourcesFit's verdict when none are nominated, small enough to inline.
func fitsFree(p *PodInfo, n *NodeInfo) bool {
	return (n.Allocatable.Pods <= 0 || n.Allocatable.Pods-n.Requested.Pods >= 1) &&
		p.Requests.MilliCPU <= max(n.Allocatable.MilliCPU-n.Requested.MilliCPU, 0) &&
		p.Requests.Memory <= max(n.Allocatable.Memory-n.Requested.Memory, 0)
}

// LeastAllocated prefers nodes with the most unrequested cpu and memory, spreading load
// (Kubernetes' default NodeResourcesFit scoring strategy).
type LeastAllocated struct{}

// Name implements Scorer.
func (LeastAllocated) Name() string { return "LeastAllocated" }

// Score implements Scorer.
func (LeastAllocated) Score(p *PodInfo, n *NodeInfo) float64 {
	return (freeFraction(n.Requested.MilliCPU+p.Requests.MilliCPU, n.Allocatable.MilliCPU) +
		freeFraction(n.Requested.Memory+p.Requests.Memory, n.Allocatable.Memory)) / 2 * MaxScore
}

func freeFraction(used, capacity int64) float64 {
	if capacity <= 0 || used >= capacity {
		return 0
	}
	return float64(capacity-used) / float64(capacity)
}

// DefaultFilters are the built-in filters, cheapest and most selective first so most nodes are
// rejected early. The SchedulingPolicy filter (PolicyFilter), the costliest, goes after them.
func DefaultFilters() []Filter {
	return []Filter{NodeReady{}, NodeName{}, NodeSelector{}, NodeAffinity{}, TaintToleration{},
		ResourcesFit{}, InterPodAffinity{}, TopologySpread{}}
}

// Resource scoring strategies (Config.Scoring).
const (
	ScoringLeastAllocated = "LeastAllocated"
	ScoringMostAllocated  = "MostAllocated"
)

// DefaultScorers are the built-in scorers with least-allocated resource scoring.
func DefaultScorers() []WeightedScorer { return ScorersFor(ScoringLeastAllocated) }

// ScorersFor returns the built-in scorers with the given resource scoring strategy, weighted
// as kube-scheduler weighs them (taints 3, node and pod affinity 2, spread 2, the rest 1).
func ScorersFor(scoring string) []WeightedScorer {
	var res Scorer = LeastAllocated{}
	if scoring == ScoringMostAllocated {
		res = MostAllocated{}
	}
	return []WeightedScorer{{Scorer: res, Weight: 1}, {Scorer: NodeAffinity{}, Weight: 2},
		{Scorer: TaintToleration{}, Weight: 3}, {Scorer: InterPodAffinity{}, Weight: 2},
		{Scorer: TopologySpread{}, Weight: 2}, {Scorer: ImageLocality{}, Weight: 1}}
}
