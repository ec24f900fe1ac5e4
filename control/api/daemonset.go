package api

import (
	"reflect"
	"strconv"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

// DaemonSet runs one copy of a pod on every node its template may run on (apps/v1).
type DaemonSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       DaemonSetSpec   `json:"spec,omitempty"`
	Status     DaemonSetStatus `json:"status,omitempty"`
}

// DaemonSetSpec is the desired state of a DaemonSet.
type DaemonSetSpec struct {
	Selector             *LabelSelector          `json:"selector"`
	Template             PodTemplateSpec         `json:"template"`
	UpdateStrategy       DaemonSetUpdateStrategy `json:"updateStrategy,omitempty"`
	MinReadySeconds      int32                   `json:"minReadySeconds,omitempty"`
	RevisionHistoryLimit *int32                  `json:"revisionHistoryLimit,omitempty"`
}

// DaemonSetUpdateStrategy is RollingUpdate (default) or OnDelete.
type DaemonSetUpdateStrategy struct {
	Type          string                  `json:"type,omitempty"`
	RollingUpdate *RollingUpdateDaemonSet `json:"rollingUpdate,omitempty"`
}

// DaemonSet update strategy types. (RollingUpdate is RollingUpdateStrategy.)
const OnDeleteDaemonSetStrategy = "OnDelete"

// RollingUpdateDaemonSet bounds a rolling update: nodes whose pod may be unavailable, or
// nodes that may run a new pod beside the old one until it is available. Exactly one of the
// two is non-zero.
type RollingUpdateDaemonSet struct {
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
	MaxSurge       *IntOrString `json:"maxSurge,omitempty"`
}

// DaemonSetStatus is what the daemonset controller observed.
type DaemonSetStatus struct {
	CurrentNumberScheduled int32                `json:"currentNumberScheduled"`
	NumberMisscheduled     int32                `json:"numberMisscheduled"`
	DesiredNumberScheduled int32                `json:"desiredNumberScheduled"`
	NumberReady            int32                `json:"numberReady"`
	ObservedGeneration     int64                `json:"observedGeneration,omitempty"`
	UpdatedNumberScheduled int32                `json:"updatedNumberScheduled,omitempty"`
	NumberAvailable        int32                `json:"numberAvailable,omitempty"`
	NumberUnavailable      int32                `json:"numberUnavailable,omitempty"`
	CollisionCount         *int32               `json:"collisionCount,omitempty"`
	Conditions             []DaemonSetCondition `json:"conditions,omitempty"`
}

// DaemonSetCondition is a condition of a DaemonSet (Kubernetes defines the field but sets none).
type DaemonSetCondition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	LastTransitionTime Time            `json:"lastTransitionTime,omitzero"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
}

// Labels and annotations of DaemonSets and their pods, as Kubernetes names them.
const (
	// LabelControllerRevisionHash is the hash of the template a DaemonSet pod was made from.
	LabelControllerRevisionHash = "controller-revision-hash"
	// LabelPodTemplateGeneration is the DaemonSet's template generation a pod was made from.
	LabelPodTemplateGeneration = "pod-template-generation"
	// AnnotationTemplateGeneration counts a DaemonSet's template changes; the API server keeps it.
	AnnotationTemplateGeneration = "deprecated.daemonset.template.generation"
)

// TemplateGeneration is a DaemonSet's template generation, from its annotation; ok is false
// when the annotation is absent or malformed.
func TemplateGeneration(ds *DaemonSet) (int64, bool) {
	v, has := ds.Annotations[AnnotationTemplateGeneration]
	if !has {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// SetTemplateGeneration keeps a DaemonSet's template generation as Kubernetes' strategy does:
// 1 on create (old == nil); on update the stored one, plus one when the template changed. A
// client cannot set it.
func SetTemplateGeneration(ds, old *DaemonSet) {
	g := int64(1)
	if old != nil {
		g, _ = TemplateGeneration(old)
		if !reflect.DeepEqual(ds.Spec.Template, old.Spec.Template) {
			g++
		}
	}
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[AnnotationTemplateGeneration] = strconv.FormatInt(g, 10)
}

func defaultDaemonSet(o *DaemonSet) {
	s := &o.Spec.UpdateStrategy
	if s.Type == "" {
		s.Type = RollingUpdateStrategy
	}
	if s.Type == RollingUpdateStrategy {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &RollingUpdateDaemonSet{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			s.RollingUpdate.MaxUnavailable = Ptr(FromInt(1))
		}
		if s.RollingUpdate.MaxSurge == nil {
			s.RollingUpdate.MaxSurge = Ptr(FromInt(0))
		}
	}
	if o.Spec.RevisionHistoryLimit == nil {
		o.Spec.RevisionHistoryLimit = Ptr[int32](10)
	}
	DefaultPodSpec(&o.Spec.Template.Spec)
}

// validateDaemonSet is Kubernetes' ValidateDaemonSet and, with old, ValidateDaemonSetUpdate.
func validateDaemonSet(ds, old *DaemonSet) FieldErrors {
	errs := validateMeta(&ds.ObjectMeta, true, labels.IsDNS1123Subdomain)
	p := Path("spec")
	if sel := ds.Spec.Selector; sel != nil && len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		// validateTemplate would word this for a Deployment.
		errs = append(errs, InvalidValue(p.Child("selector"), "{}", "empty selector is invalid for daemonset"))
		tp := p.Child("template")
		errs = append(errs, ValidateLabels(ds.Spec.Template.Labels, tp.childs("metadata", "labels"))...)
		errs = append(errs, validatePodSpec(&ds.Spec.Template.Spec, tp.Child("spec"))...)
		if rp := ds.Spec.Template.Spec.RestartPolicy; rp != "" && rp != RestartAlways {
			errs = append(errs, NotSupported(tp.childs("spec", "restartPolicy"), rp, []string{RestartAlways}))
		}
	} else {
		errs = append(errs, validateTemplate(sel, &ds.Spec.Template, p)...)
	}
	if ds.Spec.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, InvalidValue(p.childs("template", "spec", "activeDeadlineSeconds"), *ds.Spec.Template.Spec.ActiveDeadlineSeconds,
			"activeDeadlineSeconds in DaemonSet is not Supported"))
	}
	if ds.Spec.MinReadySeconds < 0 {
		errs = append(errs, InvalidValue(p.Child("minReadySeconds"), ds.Spec.MinReadySeconds, "must be greater than or equal to 0"))
	}
	if r := ds.Spec.RevisionHistoryLimit; r != nil && *r < 0 {
		errs = append(errs, InvalidValue(p.Child("revisionHistoryLimit"), *r, "must be greater than or equal to 0"))
	}
	errs = append(errs, validateDaemonSetUpdateStrategy(&ds.Spec.UpdateStrategy, p.Child("updateStrategy"))...)
	if old != nil {
		errs = append(errs, validateSelectorImmutable(ds.Spec.Selector, old.Spec.Selector)...)
	}
	return errs
}

func validateDaemonSetUpdateStrategy(s *DaemonSetUpdateStrategy, p Path) FieldErrors {
	switch s.Type {
	case OnDeleteDaemonSetStrategy:
		return nil
	case RollingUpdateStrategy:
	default:
		return FieldErrors{NotSupported(p, s.Type, []string{RollingUpdateStrategy, OnDeleteDaemonSetStrategy})}
	}
	ru := s.RollingUpdate
	rp := p.Child("rollingUpdate")
	if ru == nil {
		return FieldErrors{Required(rp, "")}
	}
	unavail, errs := checkIntOrPercent(rp.Child("maxUnavailable"), ru.MaxUnavailable)
	surge, e2 := checkIntOrPercent(rp.Child("maxSurge"), ru.MaxSurge)
	errs = append(errs, e2...)
	for _, f := range []struct {
		name string
		v    *IntOrString
	}{{"maxUnavailable", ru.MaxUnavailable}, {"maxSurge", ru.MaxSurge}} {
		if f.v != nil && f.v.IsString {
			if n, err := f.v.ScaledValue(100, false); err == nil && n > 100 {
				errs = append(errs, InvalidValue(rp.Child(f.name), f.v.StrVal, "must not be greater than 100%"))
			}
		}
	}
	switch {
	case unavail != 0 && surge != 0:
		errs = append(errs, InvalidValue(rp.Child("maxSurge"), ru.MaxSurge.String(), "may not be set when maxUnavailable is non-zero"))
	case unavail == 0 && surge == 0:
		errs = append(errs, Required(rp.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return errs
}
