package cronjob

import (
	"fmt"
	"sort"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

// MaxMissedSchedules is Kubernetes' bound: past it the controller warns and starts only the
// most recent missed run.
const MaxMissedSchedules = 100

// nextScheduleDelta is added to requeue delays, as in Kubernetes, so the next sync falls
// after the scheduled time rather than just before it.
const nextScheduleDelta = 100 * time.Millisecond

// Snapshot is what the cronjob controller sees of one CronJob.
type Snapshot struct {
	CronJob *api.CronJob
	// Jobs are the Jobs the CronJob controls, plus any Job its status lists as active.
	Jobs []*api.Job
	Now  time.Time
}

// Event is an event the controller records on the CronJob.
type Event struct {
	Type, Reason, Message string
}

// Plan is what the controller must write for one CronJob, in order: delete Delete
// (background propagation), create Create, then write Status.
type Plan struct {
	// Delete are active Jobs replaced under concurrencyPolicy Replace and finished Jobs past
	// the history limits.
	Delete []*api.Job
	// Create is the Job of the scheduled run due now, or nil.
	Create *api.Job
	// Status is the CronJob's status after this plan.
	Status api.CronJobStatus
	// Events are recorded on the CronJob (SuccessfulDelete and SuccessfulCreate are recorded
	// by the controller once the write succeeded).
	Events []Event
	// RequeueAfter, when positive, is when the next scheduled time falls due.
	RequeueAfter time.Duration
}

// Compute decides what should change for s.CronJob, as Kubernetes' syncCronJob: drop finished
// and vanished Jobs from status.active, note the last successful completion, delete finished
// Jobs past the history limits, and, unless suspended, start the most recent scheduled run
// that is due (at most one, skipping missed ones and runs past startingDeadlineSeconds)
// subject to concurrencyPolicy.
func Compute(s Snapshot) Plan {
	cj, now := s.CronJob, s.Now
	var p Plan
	st := *controller.Clone(&cj.Status)
	byUID := map[string]*api.Job{}
	for _, j := range s.Jobs {
		byUID[j.UID] = j
	}
	var active []api.ObjectReference
	for _, ref := range st.Active {
		j, ok := byUID[ref.UID]
		if !ok {
			p.Events = append(p.Events, Event{api.EventNormal, "MissingJob", fmt.Sprintf("Active job went missing: %v", ref.Name)})
			continue
		}
		if cond, done := api.JobFinished(j); done {
			p.Events = append(p.Events, Event{api.EventNormal, "SawCompletedJob",
				fmt.Sprintf("Saw completed job: %s, condition: %v", j.Name, cond)})
			continue
		}
		active = append(active, ref)
	}
	st.Active = active
	var succeeded, failed []*api.Job
	for _, j := range s.Jobs {
		cond, done := api.JobFinished(j)
		switch {
		case !done || !api.IsControlledBy(&j.ObjectMeta, cj.UID):
		case cond == api.JobComplete:
			succeeded = append(succeeded, j)
			if ct := j.Status.CompletionTime; ct != nil && (st.LastSuccessfulTime == nil || ct.After(st.LastSuccessfulTime.Time)) {
				st.LastSuccessfulTime = &api.Time{Time: ct.Time}
			}
		default:
			failed = append(failed, j)
		}
	}
	p.Delete = append(p.Delete, oldest(succeeded, cj.Spec.SuccessfulJobsHistoryLimit)...)
	p.Delete = append(p.Delete, oldest(failed, cj.Spec.FailedJobsHistoryLimit)...)
	p.Status = st
	if cj.DeletionTimestamp != nil || (cj.Spec.Suspend != nil && *cj.Spec.Suspend) {
		return p
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			p.Events = append(p.Events, Event{api.EventWarning, "UnknownTimeZone", fmt.Sprintf("invalid timeZone: %q: %s", *tz, err)})
			return p
		}
	}
	sched, err := api.ParseCronSchedule(cj.Spec.Schedule, cj.Spec.TimeZone)
	if err != nil {
		p.Events = append(p.Events, Event{api.EventWarning, "UnparseableSchedule",
			fmt.Sprintf("unparseable schedule: %q : %s", cj.Spec.Schedule, err)})
		return p
	}
	_, scheduled, missed := mostRecentScheduleTime(cj, now, sched, true)
	if scheduled == nil {
		p.RequeueAfter = nextScheduleDuration(cj, now, sched)
		return p
	}
	if missed > MaxMissedSchedules {
		p.Events = append(p.Events, Event{api.EventWarning, "TooManyMissedTimes",
			fmt.Sprintf("too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)})
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		p.Events = append(p.Events, Event{api.EventWarning, "MissSchedule",
			fmt.Sprintf("Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))})
		p.RequeueAfter = nextScheduleDuration(cj, now, sched)
		return p
	}
	name := JobName(cj, *scheduled)
	for _, j := range s.Jobs {
		if j.Name == name {
			// Already created (a status write was lost): record it rather than create it again.
			if _, done := api.JobFinished(j); !done && !hasActive(st.Active, j.UID) {
				st.Active = append(st.Active, Ref(j))
			}
			st.LastScheduleTime = &api.Time{Time: *scheduled}
			p.Status = st
			p.RequeueAfter = nextScheduleDuration(&api.CronJob{ObjectMeta: cj.ObjectMeta, Spec: cj.Spec, Status: st}, now, sched)
			return p
		}
	}
	if cj.Spec.ConcurrencyPolicy == api.ForbidConcurrent && len(st.Active) > 0 {
		p.Events = append(p.Events, Event{api.EventNormal, "JobAlreadyActive",
			"Not starting job because prior execution is running and concurrency policy is Forbid"})
		p.RequeueAfter = nextScheduleDuration(cj, now, sched)
		return p
	}
	if cj.Spec.ConcurrencyPolicy == api.ReplaceConcurrent {
		for _, ref := range st.Active {
			p.Delete = append(p.Delete, byUID[ref.UID])
		}
		st.Active = nil
	}
	p.Create = NewJob(cj, *scheduled)
	st.LastScheduleTime = &api.Time{Time: *scheduled}
	p.Status = st
	p.RequeueAfter = nextScheduleDuration(&api.CronJob{ObjectMeta: cj.ObjectMeta, Spec: cj.Spec, Status: st}, now, sched)
	return p
}

func hasActive(refs []api.ObjectReference, uid string) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

// oldest returns the Jobs beyond limit, oldest start first (Jobs that never started last), as
// Kubernetes' removeOldestJobs. A nil limit keeps every Job.
func oldest(jobs []*api.Job, limit *int32) []*api.Job {
	if limit == nil || len(jobs) <= int(*limit) {
		return nil
	}
	sort.SliceStable(jobs, func(a, b int) bool {
		sa, sb := jobs[a].Status.StartTime, jobs[b].Status.StartTime
		switch {
		case sa == nil && sb == nil:
			return jobs[a].Name < jobs[b].Name
		case sa == nil:
			return false
		case sb == nil:
			return true
		case sa.Equal(sb.Time):
			return jobs[a].Name < jobs[b].Name
		}
		return sa.Before(sb.Time)
	})
	return jobs[:len(jobs)-int(*limit)]
}

// mostRecentScheduleTime is Kubernetes' function of the same name: the earliest time a run
// may have been missed from (last schedule or creation, moved up to now minus
// startingDeadlineSeconds), the most recent scheduled time not after now (nil if none), and
// how many scheduled times were missed since earliest.
func mostRecentScheduleTime(cj *api.CronJob, now time.Time, sched cron.Schedule, withDeadline bool) (time.Time, *time.Time, int64) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; withDeadline && d != nil {
		if dl := now.Add(-time.Duration(*d) * time.Second); dl.After(earliest) {
			earliest = dl
		}
	}
	t1 := sched.Next(earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return earliest, nil, 0
	}
	if now.Before(t2) {
		return earliest, &t1, 1
	}
	// Walk the schedule up to the bound; past it, estimate from the period as Kubernetes does.
	last, n := t1, int64(1)
	for t := t2; !t.After(now); t = sched.Next(t) {
		last, n = t, n+1
		if n > MaxMissedSchedules {
			period := int64(t2.Sub(t1).Round(time.Second).Seconds())
			if period < 1 {
				period = 1
			}
			n = int64(now.Sub(t1).Seconds())/period + 1
			last = time.Unix(t1.Unix()+(n-1)*period, 0).In(t1.Location())
			break
		}
	}
	return earliest, &last, n
}

// nextScheduleDuration is how long until the scheduled time after the most recent one (plus
// nextScheduleDelta), as Kubernetes' nextScheduleTimeDuration.
func nextScheduleDuration(cj *api.CronJob, now time.Time, sched cron.Schedule) time.Duration {
	earliest, recent, _ := mostRecentScheduleTime(cj, now, sched, false)
	if recent == nil {
		recent = &earliest
	}
	d := sched.Next(*recent).Add(nextScheduleDelta).Sub(now)
	if d <= 0 {
		d = nextScheduleDelta
	}
	return d
}

// JobName is the name of the Job of cj's run scheduled at t: the CronJob's name and the
// scheduled time in Unix minutes, as Kubernetes names them.
func JobName(cj *api.CronJob, t time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, t.Unix()/60)
}

// Ref is the status.active reference of j.
func Ref(j *api.Job) api.ObjectReference {
	return api.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID,
		APIVersion: "batch/v1", ResourceVersion: j.ResourceVersion}
}

// NewJob is the Job of cj's run scheduled at t: the jobTemplate's labels, annotations and spec,
// the scheduled-timestamp annotation (in the CronJob's time zone) and a controller reference.
func NewJob(cj *api.CronJob, t time.Time) *api.Job {
	tmpl := controller.Clone(&cj.Spec.JobTemplate)
	labels, annotations := map[string]string{}, map[string]string{}
	for k, v := range tmpl.Labels {
		labels[k] = v
	}
	for k, v := range tmpl.Annotations {
		annotations[k] = v
	}
	loc := time.UTC
	if tz := cj.Spec.TimeZone; tz != nil {
		if l, err := time.LoadLocation(*tz); err == nil {
			loc = l
		}
	}
	annotations[api.CronJobScheduledTimestampAnnotation] = t.In(loc).Format(time.RFC3339)
	return &api.Job{
		TypeMeta: api.TypeMeta{Kind: "Job", APIVersion: "batch/v1"},
		ObjectMeta: api.ObjectMeta{
			Name: JobName(cj, t), Namespace: cj.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []api.OwnerReference{controller.ControllerRef(&cj.ObjectMeta, "batch/v1", "CronJob")},
		},
		Spec: tmpl.Spec,
	}
}
