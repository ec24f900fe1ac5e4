package api

import (
	"reflect"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

// Job (batch/v1) runs pods of command modules to completion: spec.completions pods must
// succeed, at most spec.parallelism run at once, and the Job fails after spec.backoffLimit
// failed pods or spec.activeDeadlineSeconds.
type Job struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       JobSpec   `json:"spec,omitempty"`
	Status     JobStatus `json:"status,omitempty"`
}

// JobSpec is the desired state of a Job. Completions, Parallelism and BackoffLimit are
// defaulted (1, 1, 6) as in Kubernetes. Selector is optional: the Job's pods are the ones it
// controls (ownerReferences), labelled job-name and controller-uid.
type JobSpec struct {
	Parallelism             *int32          `json:"parallelism,omitempty"`
	Completions             *int32          `json:"completions,omitempty"`
	ActiveDeadlineSeconds   *int64          `json:"activeDeadlineSeconds,omitempty"`
	BackoffLimit            *int32          `json:"backoffLimit,omitempty"`
	TTLSecondsAfterFinished *int32          `json:"ttlSecondsAfterFinished,omitempty"`
	Selector                *LabelSelector  `json:"selector,omitempty"`
	ManualSelector          *bool           `json:"manualSelector,omitempty"`
	Suspend                 *bool           `json:"suspend,omitempty"`
	Template                PodTemplateSpec `json:"template"`
}

// JobStatus is what the Job controller observed.
type JobStatus struct {
	Conditions     []JobCondition `json:"conditions,omitempty"`
	StartTime      *Time          `json:"startTime,omitzero"`
	CompletionTime *Time          `json:"completionTime,omitzero"`
	Active         int32          `json:"active,omitempty"`
	Succeeded      int32          `json:"succeeded,omitempty"`
	Failed         int32          `json:"failed,omitempty"`
	Ready          *int32         `json:"ready,omitempty"`
}

// JobCondition is a condition of a Job: Complete or Failed (or Suspended).
type JobCondition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	LastProbeTime      Time            `json:"lastProbeTime,omitzero"`
	LastTransitionTime Time            `json:"lastTransitionTime,omitzero"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
}

// Job condition types and the reasons of a failed Job, as Kubernetes names them.
const (
	JobComplete  = "Complete"
	JobFailed    = "Failed"
	JobSuspended = "Suspended"

	JobReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	JobReasonDeadlineExceeded     = "DeadlineExceeded"
)

// Labels the Job controller puts on its pods (both spellings Kubernetes uses).
const (
	LabelJobName           = "job-name"
	LabelJobNameNew        = "batch.kubernetes.io/job-name"
	LabelControllerUID     = "controller-uid"
	LabelControllerUIDNew  = "batch.kubernetes.io/controller-uid"
	DefaultJobBackoffLimit = 6
)

// JobFinished reports whether j has a true Complete or Failed condition, and which.
func JobFinished(j *Job) (string, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == JobComplete || c.Type == JobFailed) && c.Status == ConditionTrue {
			return c.Type, true
		}
	}
	return "", false
}

func defaultJob(o *Job) {
	switch {
	case o.Spec.Completions == nil && o.Spec.Parallelism == nil:
		o.Spec.Completions, o.Spec.Parallelism = Ptr[int32](1), Ptr[int32](1)
	case o.Spec.Parallelism == nil:
		o.Spec.Parallelism = Ptr[int32](1)
	}
	if o.Spec.BackoffLimit == nil {
		o.Spec.BackoffLimit = Ptr[int32](DefaultJobBackoffLimit)
	}
	if o.Spec.Suspend == nil {
		o.Spec.Suspend = Ptr(false)
	}
	if o.Name != "" && o.Spec.Template.Labels[LabelJobName] == "" {
		if o.Spec.Template.Labels == nil {
			o.Spec.Template.Labels = map[string]string{}
		}
		o.Spec.Template.Labels[LabelJobName] = o.Name
		o.Spec.Template.Labels[LabelJobNameNew] = o.Name
	}
	DefaultPodSpec(&o.Spec.Template.Spec)
}

// defaultMore defaults the kinds defined outside defaults.go (Job, Module).
func defaultMore(obj Object) {
	switch o := obj.(type) {
	case *Job:
		defaultJob(o)
	case *Module:
		defaultModule(o)
	case *CronJob:
		defaultCronJob(o)
	}
}

// validateMore validates the kinds defined outside validate.go (Job, Module).
func validateMore(obj, old Object) FieldErrors {
	switch o := obj.(type) {
	case *Job:
		oo, _ := old.(*Job)
		return validateJob(o, oo)
	case *Module:
		return validateModule(o)
	case *CronJob:
		return validateCronJob(o)
	}
	return nil
}

func validateJob(j, old *Job) FieldErrors {
	errs := validateMeta(&j.ObjectMeta, true, labels.IsDNS1123Subdomain)
	errs = append(errs, validateJobSpec(&j.Spec, "spec")...)
	if old != nil {
		s, tp := &j.Spec, Path("spec").Child("template")
		if !reflect.DeepEqual(old.Spec.Template, s.Template) {
			errs = append(errs, Forbidden(tp, "field is immutable"))
		}
		if !reflect.DeepEqual(old.Spec.Completions, s.Completions) {
			errs = append(errs, Forbidden("spec.completions", "field is immutable"))
		}
		if !reflect.DeepEqual(old.Spec.Selector, s.Selector) {
			errs = append(errs, Forbidden("spec.selector", "field is immutable"))
		}
	}
	return errs
}

// validateJobSpec validates a Job's spec at sp (a Job's or a CronJob's jobTemplate.spec).
func validateJobSpec(s *JobSpec, sp Path) FieldErrors {
	var errs FieldErrors
	nonNeg := func(p Path, v *int32) {
		if v != nil && *v < 0 {
			errs = append(errs, InvalidValue(p, *v, "must be greater than or equal to 0"))
		}
	}
	nonNeg(sp.Child("parallelism"), s.Parallelism)
	nonNeg(sp.Child("completions"), s.Completions)
	nonNeg(sp.Child("backoffLimit"), s.BackoffLimit)
	nonNeg(sp.Child("ttlSecondsAfterFinished"), s.TTLSecondsAfterFinished)
	if d := s.ActiveDeadlineSeconds; d != nil && *d <= 0 {
		errs = append(errs, InvalidValue(sp.Child("activeDeadlineSeconds"), *d, "must be greater than 0"))
	}
	if s.ManualSelector != nil && *s.ManualSelector {
		errs = append(errs, NotSupported(sp.Child("manualSelector"), true, []string{"false"}))
	}
	tp := sp.Child("template")
	if s.Selector != nil {
		sel, err := SelectorOf(s.Selector)
		if err != nil {
			errs = append(errs, InvalidValue(sp.Child("selector"), "", err.Error()))
		} else if !sel.Matches(labels.Set(s.Template.Labels)) {
			errs = append(errs, InvalidValue(tp.childs("metadata", "labels"), labels.Set(s.Template.Labels).String(),
				"`selector` does not match template `labels`"))
		}
	}
	errs = append(errs, ValidateLabels(s.Template.Labels, tp.childs("metadata", "labels"))...)
	errs = append(errs, validatePodSpec(&s.Template.Spec, tp.Child("spec"))...)
	if rp := s.Template.Spec.RestartPolicy; rp != RestartNever && rp != RestartOnFailure {
		errs = append(errs, NotSupported(tp.childs("spec", "restartPolicy"), rp, []string{RestartOnFailure, RestartNever}))
	}
	return errs
}
