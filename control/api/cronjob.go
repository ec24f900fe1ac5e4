package api

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

// CronJob (batch/v1) creates a Job from spec.jobTemplate at each time spec.schedule names.
type CronJob struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       CronJobSpec   `json:"spec,omitempty"`
	Status     CronJobStatus `json:"status,omitempty"`
}

// CronJobSpec is the desired state of a CronJob. ConcurrencyPolicy (Allow), Suspend (false)
// and the history limits (3 successful, 1 failed) are defaulted as in Kubernetes.
type CronJobSpec struct {
	Schedule                   string          `json:"schedule"`
	TimeZone                   *string         `json:"timeZone,omitempty"`
	StartingDeadlineSeconds    *int64          `json:"startingDeadlineSeconds,omitempty"`
	ConcurrencyPolicy          string          `json:"concurrencyPolicy,omitempty"`
	Suspend                    *bool           `json:"suspend,omitempty"`
	JobTemplate                JobTemplateSpec `json:"jobTemplate"`
	SuccessfulJobsHistoryLimit *int32          `json:"successfulJobsHistoryLimit,omitempty"`
	FailedJobsHistoryLimit     *int32          `json:"failedJobsHistoryLimit,omitempty"`
}

// JobTemplateSpec is the Job a CronJob creates: its labels and annotations, and its spec.
type JobTemplateSpec struct {
	ObjectMeta `json:"metadata,omitempty"`
	Spec       JobSpec `json:"spec,omitempty"`
}

// CronJobStatus is what the CronJob controller observed.
type CronJobStatus struct {
	Active             []ObjectReference `json:"active,omitempty"`
	LastScheduleTime   *Time             `json:"lastScheduleTime,omitzero"`
	LastSuccessfulTime *Time             `json:"lastSuccessfulTime,omitzero"`
}

// Concurrency policies of a CronJob, and the annotation on the Jobs it creates.
const (
	AllowConcurrent   = "Allow"
	ForbidConcurrent  = "Forbid"
	ReplaceConcurrent = "Replace"

	CronJobScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"
)

func defaultCronJob(o *CronJob) {
	if o.Spec.ConcurrencyPolicy == "" {
		o.Spec.ConcurrencyPolicy = AllowConcurrent
	}
	if o.Spec.Suspend == nil {
		o.Spec.Suspend = Ptr(false)
	}
	if o.Spec.SuccessfulJobsHistoryLimit == nil {
		o.Spec.SuccessfulJobsHistoryLimit = Ptr[int32](3)
	}
	if o.Spec.FailedJobsHistoryLimit == nil {
		o.Spec.FailedJobsHistoryLimit = Ptr[int32](1)
	}
	DefaultPodSpec(&o.Spec.JobTemplate.Spec.Template.Spec)
}

// validTimeZoneCharacters is Kubernetes' rule for each part of an IANA time zone name.
var validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// ParseCronSchedule parses a standard 5-field schedule (or a descriptor such as @hourly) in
// the time zone tz ("" is UTC), as Kubernetes' cronjob controller does.
func ParseCronSchedule(schedule string, tz *string) (cron.Schedule, error) {
	s := schedule
	if tz != nil && *tz != "" {
		s = "TZ=" + *tz + " " + schedule
	}
	return cron.ParseStandard(s)
}

func validateCronJob(cj *CronJob) FieldErrors {
	errs := validateMeta(&cj.ObjectMeta, true, labels.IsDNS1123Subdomain)
	// Kubernetes: the Job name adds 11 characters and must fit a label value.
	if len(cj.Name) > 52 {
		errs = append(errs, InvalidValue("metadata.name", cj.Name, "must be no more than 52 characters"))
	}
	s := &cj.Spec
	if s.Schedule == "" {
		errs = append(errs, Required("spec.schedule", ""))
	} else {
		if _, err := cron.ParseStandard(s.Schedule); err != nil {
			errs = append(errs, InvalidValue("spec.schedule", s.Schedule, err.Error()))
		}
		if strings.Contains(s.Schedule, "TZ") {
			errs = append(errs, InvalidValue("spec.schedule", s.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if tz := s.TimeZone; tz != nil {
		if *tz == "" {
			errs = append(errs, InvalidValue("spec.timeZone", *tz, "timeZone must be nil or non-empty string"))
		} else {
			for _, part := range strings.Split(*tz, "/") {
				if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
					errs = append(errs, InvalidValue("spec.timeZone", *tz, fmt.Sprintf("unknown time zone %s", *tz)))
					break
				}
			}
			if strings.EqualFold(*tz, "Local") {
				errs = append(errs, InvalidValue("spec.timeZone", *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
			} else if _, err := time.LoadLocation(*tz); err != nil {
				errs = append(errs, InvalidValue("spec.timeZone", *tz, err.Error()))
			}
		}
	}
	if d := s.StartingDeadlineSeconds; d != nil && *d < 0 {
		errs = append(errs, InvalidValue("spec.startingDeadlineSeconds", *d, "must be greater than or equal to 0"))
	}
	switch s.ConcurrencyPolicy {
	case AllowConcurrent, ForbidConcurrent, ReplaceConcurrent:
	case "":
		errs = append(errs, Required("spec.concurrencyPolicy", ""))
	default:
		errs = append(errs, NotSupported("spec.concurrencyPolicy", s.ConcurrencyPolicy,
			[]string{AllowConcurrent, ForbidConcurrent, ReplaceConcurrent}))
	}
	if v := s.SuccessfulJobsHistoryLimit; v != nil && *v < 0 {
		errs = append(errs, InvalidValue("spec.successfulJobsHistoryLimit", *v, "must be greater than or equal to 0"))
	}
	if v := s.FailedJobsHistoryLimit; v != nil && *v < 0 {
		errs = append(errs, InvalidValue("spec.failedJobsHistoryLimit", *v, "must be greater than or equal to 0"))
	}
	jt := Path("spec").Child("jobTemplate")
	errs = append(errs, ValidateLabels(s.JobTemplate.Labels, jt.childs("metadata", "labels"))...)
	errs = append(errs, validateJobSpec(&s.JobTemplate.Spec, jt.Child("spec"))...)
	return errs
}
