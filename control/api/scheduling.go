package api

// Taint repels pods from a node unless they tolerate it.
type Taint struct {
	Key       string `json:"key"`
	Value     string `json:"value,omitempty"`
	Effect    string `json:"effect"`
	TimeAdded *Time  `json:"timeAdded,omitempty"`
}

// Taint effects.
const (
	TaintNoSchedule       = "NoSchedule"
	TaintPreferNoSchedule = "PreferNoSchedule"
	TaintNoExecute        = "NoExecute"
)

// Toleration lets a pod onto a node whose taint it matches: same key (or an empty key with
// Exists, matching every taint), the value for Equal, and the effect (empty: every effect).
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
	// TolerationSeconds bounds how long a NoExecute taint is tolerated (nil: forever).
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}

// Toleration operators.
const (
	TolerationOpExists = "Exists"
	TolerationOpEqual  = "Equal"
)

// ToleratesTaint reports whether t tolerates taint, by Kubernetes' rules.
func (t *Toleration) ToleratesTaint(taint *Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case TolerationOpExists:
		return true
	case "", TolerationOpEqual:
		return t.Value == taint.Value
	}
	return false
}

// Affinity groups a pod's placement rules.
type Affinity struct {
	NodeAffinity    *NodeAffinity    `json:"nodeAffinity,omitempty"`
	PodAffinity     *PodAffinity     `json:"podAffinity,omitempty"`
	PodAntiAffinity *PodAntiAffinity `json:"podAntiAffinity,omitempty"`
}

// NodeAffinity is a required node selector and weighted preferences.
type NodeAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution  *NodeSelector             `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	PreferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// NodeSelector matches a node when any of its terms does.
type NodeSelector struct {
	NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms"`
}

// NodeSelectorTerm matches a node when all its expressions and fields do.
type NodeSelectorTerm struct {
	MatchExpressions []NodeSelectorRequirement `json:"matchExpressions,omitempty"`
	MatchFields      []NodeSelectorRequirement `json:"matchFields,omitempty"`
}

// NodeSelectorRequirement tests a node label (or, in matchFields, metadata.name) with In,
// NotIn, Exists, DoesNotExist, Gt or Lt.
type NodeSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Node selector operators.
const (
	NodeSelectorOpIn           = "In"
	NodeSelectorOpNotIn        = "NotIn"
	NodeSelectorOpExists       = "Exists"
	NodeSelectorOpDoesNotExist = "DoesNotExist"
	NodeSelectorOpGt           = "Gt"
	NodeSelectorOpLt           = "Lt"
)

// PreferredSchedulingTerm adds Weight (1-100) to nodes its preference matches.
type PreferredSchedulingTerm struct {
	Weight     int32            `json:"weight"`
	Preference NodeSelectorTerm `json:"preference"`
}

// PodAffinity draws a pod to topology domains running pods that match its terms.
type PodAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution  []PodAffinityTerm         `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PodAntiAffinity keeps a pod away from topology domains running pods that match its terms.
type PodAntiAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution  []PodAffinityTerm         `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PodAffinityTerm selects pods (in Namespaces, or the pod's own namespace when empty) and
// names the node label whose value defines a topology domain.
type PodAffinityTerm struct {
	LabelSelector *LabelSelector `json:"labelSelector,omitempty"`
	Namespaces    []string       `json:"namespaces,omitempty"`
	TopologyKey   string         `json:"topologyKey"`
}

// WeightedPodAffinityTerm is a preferred PodAffinityTerm with its weight (1-100).
type WeightedPodAffinityTerm struct {
	Weight          int32           `json:"weight"`
	PodAffinityTerm PodAffinityTerm `json:"podAffinityTerm"`
}

// TopologySpreadConstraint bounds how unevenly matching pods spread over the domains of
// TopologyKey.
type TopologySpreadConstraint struct {
	MaxSkew           int32          `json:"maxSkew"`
	TopologyKey       string         `json:"topologyKey"`
	WhenUnsatisfiable string         `json:"whenUnsatisfiable"`
	LabelSelector     *LabelSelector `json:"labelSelector,omitempty"`
}

// WhenUnsatisfiable values.
const (
	DoNotSchedule  = "DoNotSchedule"
	ScheduleAnyway = "ScheduleAnyway"
)

// PriorityClass maps a name to a pod priority (scheduling.k8s.io/v1, cluster-scoped).
type PriorityClass struct {
	TypeMeta      `json:",inline"`
	ObjectMeta    `json:"metadata,omitempty"`
	Value         int32  `json:"value"`
	GlobalDefault bool   `json:"globalDefault,omitempty"`
	Description   string `json:"description,omitempty"`
	// PreemptionPolicy is what priority admission copies into the spec of every pod of
	// the class: PreemptLowerPriority (the default) or Never. It cannot change after
	// creation, as in Kubernetes.
	PreemptionPolicy *string `json:"preemptionPolicy,omitempty"`
}

// HighestUserDefinablePriority bounds the value of a user's PriorityClass, as in Kubernetes.
const HighestUserDefinablePriority = 1_000_000_000

// SchedulingPolicy is a CEL placement rule (wasmkube.io/v1alpha1, cluster-scoped): Filter keeps
// the pods PodSelector matches off the nodes where it is false; Score ranks the rest.
type SchedulingPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       SchedulingPolicySpec `json:"spec"`
}

// SchedulingPolicySpec is a policy's selector, expressions and weight.
type SchedulingPolicySpec struct {
	// PodSelector chooses the pods the policy applies to (nil or empty: all).
	PodSelector *LabelSelector `json:"podSelector,omitempty"`
	// Filter is a CEL expression of pod and node yielding bool.
	Filter string `json:"filter,omitempty"`
	// Score is a CEL expression of pod and node yielding a number, added times Weight.
	Score string `json:"score,omitempty"`
	// Weight multiplies Score (default 1).
	Weight int32 `json:"weight,omitempty"`
}

// PodPriority returns the pod's priority (0 when unset).
func PodPriority(s *PodSpec) int32 {
	if s.Priority == nil {
		return 0
	}
	return *s.Priority
}
