package api

// PodDisruptionBudget bounds the voluntary disruption (eviction) of the pods its selector
// matches (policy/v1). Exactly the fields of Kubernetes' type; the disruption controller
// writes the status and the pods/eviction subresource spends it.
type PodDisruptionBudget struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodDisruptionBudgetSpec   `json:"spec,omitempty"`
	Status     PodDisruptionBudgetStatus `json:"status,omitempty"`
}

// PodDisruptionBudgetSpec is the budget: at most one of MinAvailable and MaxUnavailable.
type PodDisruptionBudgetSpec struct {
	// MinAvailable pods selected must stay available after an eviction ("100%" forbids
	// every eviction).
	MinAvailable *IntOrString `json:"minAvailable,omitempty"`
	// Selector selects the pods; a null selector matches none, an empty one every pod of the
	// namespace.
	Selector *LabelSelector `json:"selector,omitempty"`
	// MaxUnavailable pods selected may be unavailable after an eviction (0 forbids every
	// eviction).
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
	// UnhealthyPodEvictionPolicy is IfHealthyBudget (nil) or AlwaysAllow: whether running but
	// not ready pods may be evicted only while the application is not disrupted, or always.
	UnhealthyPodEvictionPolicy *string `json:"unhealthyPodEvictionPolicy,omitempty"`
}

// Unhealthy pod eviction policies.
const (
	IfHealthyBudget = "IfHealthyBudget"
	AlwaysAllow     = "AlwaysAllow"
)

// PodDisruptionBudgetStatus is what the disruption controller observed; it may trail the
// pods.
type PodDisruptionBudgetStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// DisruptedPods are pods the eviction subresource let go but the controller has not
	// seen deleted yet, with when; an entry expires after two minutes.
	DisruptedPods      map[string]Time `json:"disruptedPods,omitempty"`
	DisruptionsAllowed int32           `json:"disruptionsAllowed"`
	CurrentHealthy     int32           `json:"currentHealthy"`
	DesiredHealthy     int32           `json:"desiredHealthy"`
	ExpectedPods       int32           `json:"expectedPods"`
	Conditions         []Condition     `json:"conditions,omitempty"`
}

// PodDisruptionBudget condition type, reasons and the eviction's status cause.
const (
	DisruptionAllowedCondition = "DisruptionAllowed"
	SyncFailedReason           = "SyncFailed"
	SufficientPodsReason       = "SufficientPods"
	InsufficientPodsReason     = "InsufficientPods"
	DisruptionBudgetCause      = "DisruptionBudget"
)

// Condition is meta.k8s.io/v1 Condition, the standard condition of newer kinds.
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	ObservedGeneration int64           `json:"observedGeneration,omitempty"`
	LastTransitionTime Time            `json:"lastTransitionTime"`
	Reason             string          `json:"reason"`
	Message            string          `json:"message"`
}

// SetCondition sets c in conds as apimachinery's meta.SetStatusCondition: the transition time
// changes only with the status (now when c has none).
func SetCondition(conds *[]Condition, c Condition, now Time) {
	if c.LastTransitionTime.IsZero() {
		c.LastTransitionTime = now
	}
	for i := range *conds {
		old := &(*conds)[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status != c.Status {
			old.Status = c.Status
			old.LastTransitionTime = c.LastTransitionTime
		}
		old.Reason, old.Message, old.ObservedGeneration = c.Reason, c.Message, c.ObservedGeneration
		return
	}
	*conds = append(*conds, c)
}

// FindCondition returns the condition of type t, or nil.
func FindCondition(conds []Condition, t string) *Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// Eviction asks for a pod to be deleted within its disruption budgets (POST of policy/v1
// Eviction to pods/NAME/eviction). Metadata names the pod.
type Eviction struct {
	TypeMeta      `json:",inline"`
	ObjectMeta    `json:"metadata,omitempty"`
	DeleteOptions *DeleteOptions `json:"deleteOptions,omitempty"`
}
