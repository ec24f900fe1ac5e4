package cronjob

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// created is the CronJob's creation time: 10:00:30 UTC, so */1 first falls due at 10:01.
var created = time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)

type cjOpt func(*api.CronJob)

func newCronJob(opts ...cjOpt) *api.CronJob {
	cj := &api.CronJob{ObjectMeta: api.ObjectMeta{Name: "tick", Namespace: "default", UID: "cj-uid",
		CreationTimestamp: api.Time{Time: created}}}
	cj.Spec.Schedule = "*/1 * * * *"
	cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = api.RestartNever
	cj.Spec.JobTemplate.Spec.Template.Spec.Containers = []api.Container{{Name: "wc", Image: "wc:v1"}}
	for _, o := range opts {
		o(cj)
	}
	api.Default(cj)
	return cj
}

func schedule(s string) cjOpt { return func(cj *api.CronJob) { cj.Spec.Schedule = s } }
func policy(p string) cjOpt   { return func(cj *api.CronJob) { cj.Spec.ConcurrencyPolicy = p } }
func deadline(s int64) cjOpt {
	return func(cj *api.CronJob) { cj.Spec.StartingDeadlineSeconds = api.Ptr(s) }
}
func timeZone(tz string) cjOpt { return func(cj *api.CronJob) { cj.Spec.TimeZone = api.Ptr(tz) } }
func suspended() cjOpt         { return func(cj *api.CronJob) { cj.Spec.Suspend = api.Ptr(true) } }
func lastScheduled(t time.Time) cjOpt {
	return func(cj *api.CronJob) { cj.Status.LastScheduleTime = &api.Time{Time: t} }
}
func active(jobs ...*api.Job) cjOpt {
	return func(cj *api.CronJob) {
		for _, j := range jobs {
			cj.Status.Active = append(cj.Status.Active, Ref(j))
		}
	}
}

// runJob is a Job of the CronJob scheduled at t, finished with cond ("" while running).
func runJob(t time.Time, cond string) *api.Job {
	cj := newCronJob()
	j := NewJob(cj, t)
	j.UID = "job-" + fmt.Sprint(t.Unix())
	j.Status.StartTime = &api.Time{Time: t}
	if cond != "" {
		end := api.Time{Time: t.Add(10 * time.Second)}
		j.Status.Conditions = []api.JobCondition{{Type: cond, Status: api.ConditionTrue}}
		if cond == api.JobComplete {
			j.Status.CompletionTime = &end
		}
	}
	return j
}

func at(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }

func names(jobs []*api.Job) string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return strings.Join(out, ",")
}

func reasons(evs []Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return strings.Join(out, ",")
}

func TestCompute(t *testing.T) {
	running := runJob(at(10, 1), "")
	tests := []struct {
		name    string
		cj      *api.CronJob
		jobs    []*api.Job
		now     time.Time
		create  string // name of the Job created, "" for none
		del     string
		events  string
		requeue time.Duration
		last    time.Time
	}{
		{name: "not yet due", cj: newCronJob(), now: created.Add(10 * time.Second),
			requeue: 20*time.Second + nextScheduleDelta},
		{name: "due", cj: newCronJob(), now: at(10, 1).Add(2 * time.Second),
			create: fmt.Sprintf("tick-%d", at(10, 1).Unix()/60), requeue: 58*time.Second + nextScheduleDelta, last: at(10, 1)},
		{name: "missed runs start only the latest", cj: newCronJob(lastScheduled(at(10, 1))), now: at(10, 5).Add(time.Second),
			create: fmt.Sprintf("tick-%d", at(10, 5).Unix()/60), requeue: 59*time.Second + nextScheduleDelta, last: at(10, 5)},
		{name: "too many missed", cj: newCronJob(), now: at(12, 0).Add(time.Second),
			create: fmt.Sprintf("tick-%d", at(12, 0).Unix()/60), events: "TooManyMissedTimes",
			requeue: 59*time.Second + nextScheduleDelta, last: at(12, 0)},
		{name: "deadline bounds the missed count", cj: newCronJob(deadline(200)), now: at(12, 0).Add(time.Second),
			create: fmt.Sprintf("tick-%d", at(12, 0).Unix()/60), requeue: 59*time.Second + nextScheduleDelta, last: at(12, 0)},
		{name: "past starting deadline skips the run", cj: newCronJob(schedule("0 * * * *"), deadline(30), lastScheduled(at(9, 0))),
			now: at(10, 0).Add(45 * time.Second), requeue: 59*time.Minute + 15*time.Second + nextScheduleDelta,
			last: at(9, 0)},
		{name: "within starting deadline", cj: newCronJob(schedule("0 * * * *"), deadline(60), lastScheduled(at(9, 0))),
			now: at(10, 0).Add(45 * time.Second), create: fmt.Sprintf("tick-%d", at(10, 0).Unix()/60),
			requeue: 59*time.Minute + 15*time.Second + nextScheduleDelta, last: at(10, 0)},
		{name: "allow runs concurrently", cj: newCronJob(lastScheduled(at(10, 1)), active(running)), jobs: []*api.Job{running},
			now: at(10, 2), create: fmt.Sprintf("tick-%d", at(10, 2).Unix()/60), requeue: time.Minute + nextScheduleDelta, last: at(10, 2)},
		{name: "forbid skips while active", cj: newCronJob(policy(api.ForbidConcurrent), lastScheduled(at(10, 1)), active(running)),
			jobs: []*api.Job{running}, now: at(10, 2), events: "JobAlreadyActive", requeue: time.Minute + nextScheduleDelta, last: at(10, 1)},
		{name: "replace deletes the active job", cj: newCronJob(policy(api.ReplaceConcurrent), lastScheduled(at(10, 1)), active(running)),
			jobs: []*api.Job{running}, now: at(10, 2), create: fmt.Sprintf("tick-%d", at(10, 2).Unix()/60), del: running.Name,
			requeue: time.Minute + nextScheduleDelta, last: at(10, 2)},
		{name: "suspend", cj: newCronJob(suspended()), now: at(10, 3)},
		{name: "completed job leaves active", cj: newCronJob(lastScheduled(at(10, 1)), active(runJob(at(10, 1), api.JobComplete))),
			jobs: []*api.Job{runJob(at(10, 1), api.JobComplete)}, now: at(10, 1).Add(30 * time.Second),
			events: "SawCompletedJob", requeue: 30*time.Second + nextScheduleDelta, last: at(10, 1)},
		{name: "history limits", cj: newCronJob(lastScheduled(at(10, 6))),
			jobs: []*api.Job{runJob(at(10, 1), api.JobComplete), runJob(at(10, 2), api.JobFailed), runJob(at(10, 3), api.JobComplete),
				runJob(at(10, 4), api.JobComplete), runJob(at(10, 5), api.JobFailed), runJob(at(10, 6), api.JobComplete)},
			now: at(10, 6).Add(30 * time.Second), requeue: 30*time.Second + nextScheduleDelta, last: at(10, 6),
			del: fmt.Sprintf("tick-%d,tick-%d", at(10, 1).Unix()/60, at(10, 2).Unix()/60)},
		{name: "time zone", cj: newCronJob(schedule("0 9 * * *"), timeZone("Europe/Paris")),
			now: at(8, 0).AddDate(0, 0, 1).Add(time.Second), create: fmt.Sprintf("tick-%d", at(8, 0).AddDate(0, 0, 1).Unix()/60),
			requeue: 24*time.Hour - time.Second + nextScheduleDelta, last: at(8, 0).AddDate(0, 0, 1)},
		{name: "descriptor", cj: newCronJob(schedule("@hourly")), now: at(11, 0).Add(time.Second),
			create: fmt.Sprintf("tick-%d", at(11, 0).Unix()/60), requeue: time.Hour - time.Second + nextScheduleDelta, last: at(11, 0)},
		{name: "unknown time zone", cj: newCronJob(timeZone("Mars/Olympus")), now: at(10, 5), events: "UnknownTimeZone"},
		{name: "already created", cj: newCronJob(lastScheduled(at(10, 1))), jobs: []*api.Job{runJob(at(10, 2), "")},
			now: at(10, 2).Add(time.Second), requeue: 59*time.Second + nextScheduleDelta, last: at(10, 2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, j := range tc.jobs {
				j.OwnerReferences[0].UID = tc.cj.UID
			}
			p := Compute(Snapshot{CronJob: tc.cj, Jobs: tc.jobs, Now: tc.now})
			got := ""
			if p.Create != nil {
				got = p.Create.Name
				if ref := api.ControllerOf(&p.Create.ObjectMeta); ref == nil || ref.Kind != "CronJob" || ref.UID != tc.cj.UID {
					t.Errorf("created job's controller = %+v", ref)
				}
				if p.Create.Annotations[api.CronJobScheduledTimestampAnnotation] == "" {
					t.Error("created job has no scheduled-timestamp annotation")
				}
			}
			if got != tc.create {
				t.Errorf("create %q, want %q", got, tc.create)
			}
			if d := names(p.Delete); d != tc.del {
				t.Errorf("delete %q, want %q", d, tc.del)
			}
			if e := reasons(p.Events); e != tc.events {
				t.Errorf("events %q, want %q", e, tc.events)
			}
			if p.RequeueAfter != tc.requeue {
				t.Errorf("requeue after %v, want %v", p.RequeueAfter, tc.requeue)
			}
			var last time.Time
			if p.Status.LastScheduleTime != nil {
				last = p.Status.LastScheduleTime.Time
			}
			if !last.Equal(tc.last) {
				t.Errorf("lastScheduleTime %v, want %v", last, tc.last)
			}
		})
	}
}

func TestComputeTimeZoneAnnotation(t *testing.T) {
	cj := newCronJob(schedule("0 9 * * *"), timeZone("Europe/Paris"))
	p := Compute(Snapshot{CronJob: cj, Now: at(8, 0).AddDate(0, 0, 1).Add(time.Second)})
	if p.Create == nil {
		t.Fatal("no job created at 09:00 Paris (08:00 UTC)")
	}
	if got, want := p.Create.Annotations[api.CronJobScheduledTimestampAnnotation], "2026-03-02T09:00:00+01:00"; got != want {
		t.Errorf("scheduled timestamp %q, want %q", got, want)
	}
}

func TestComputeLastSuccessfulTime(t *testing.T) {
	done := runJob(at(10, 1), api.JobComplete)
	cj := newCronJob(lastScheduled(at(10, 1)), active(done))
	done.OwnerReferences[0].UID = cj.UID
	p := Compute(Snapshot{CronJob: cj, Jobs: []*api.Job{done}, Now: at(10, 1).Add(30 * time.Second)})
	if len(p.Status.Active) != 0 {
		t.Errorf("active %v, want none", p.Status.Active)
	}
	if p.Status.LastSuccessfulTime == nil || !p.Status.LastSuccessfulTime.Equal(done.Status.CompletionTime.Time) {
		t.Errorf("lastSuccessfulTime %v, want %v", p.Status.LastSuccessfulTime, done.Status.CompletionTime)
	}
}

// BenchmarkCompute plans a CronJob with a long finished history (100 Jobs) at a due time.
func BenchmarkCompute(b *testing.B) {
	cj := newCronJob(lastScheduled(at(10, 0)))
	var jobs []*api.Job
	for i := range 100 {
		j := runJob(at(8, 0).Add(time.Duration(i)*time.Minute), api.JobComplete)
		j.OwnerReferences[0].UID = cj.UID
		jobs = append(jobs, j)
	}
	for b.Loop() {
		_ = Compute(Snapshot{CronJob: cj, Jobs: jobs, Now: at(10, 1).Add(time.Second)})
	}
}
