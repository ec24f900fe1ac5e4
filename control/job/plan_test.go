package job

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type jobOpt func(*api.Job)

func newJob(opts ...jobOpt) *api.Job {
	j := &api.Job{ObjectMeta: api.ObjectMeta{Name: "wc", Namespace: "default", UID: "uid-1"}}
	j.Spec.Template.Spec.RestartPolicy = api.RestartNever
	j.Spec.Template.Spec.Containers = []api.Container{{Name: "wc", Image: "wc:v1"}}
	for _, o := range opts {
		o(j)
	}
	api.Default(j)
	return j
}

func completions(n int32) jobOpt { return func(j *api.Job) { j.Spec.Completions = api.Ptr(n) } }
func parallelism(n int32) jobOpt { return func(j *api.Job) { j.Spec.Parallelism = api.Ptr(n) } }
func backoff(n int32) jobOpt     { return func(j *api.Job) { j.Spec.BackoffLimit = api.Ptr(n) } }
func started(ago time.Duration) jobOpt {
	return func(j *api.Job) { j.Status.StartTime = &api.Time{Time: t0.Add(-ago)} }
}
func deadline(s int64) jobOpt { return func(j *api.Job) { j.Spec.ActiveDeadlineSeconds = api.Ptr(s) } }
func ttl(s int32) jobOpt      { return func(j *api.Job) { j.Spec.TTLSecondsAfterFinished = api.Ptr(s) } }
func onFailure() jobOpt {
	return func(j *api.Job) { j.Spec.Template.Spec.RestartPolicy = api.RestartOnFailure }
}
func finished(typ string, ago time.Duration) jobOpt {
	return func(j *api.Job) {
		t := api.Time{Time: t0.Add(-ago)}
		j.Status.Conditions = []api.JobCondition{{Type: typ, Status: api.ConditionTrue, LastTransitionTime: t}}
		if typ == api.JobComplete {
			j.Status.CompletionTime = &t
		}
	}
}

func pods(phase string, n int) []*api.Pod {
	var out []*api.Pod
	for i := range n {
		p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: fmt.Sprintf("wc-%s-%d", phase, i), Namespace: "default"}}
		p.Status.Phase = phase
		p.Spec.NodeName = "n1"
		out = append(out, p)
	}
	return out
}

// failedAgo is n failed pods, the last of which failed ago before t0.
func failedAgo(ago time.Duration, n int) []*api.Pod {
	ps := pods(api.PodFailed, n)
	for i, p := range ps {
		end := api.Time{Time: t0.Add(-ago - time.Duration(n-1-i)*time.Minute)}
		p.Status.ContainerStatuses = []api.ContainerStatus{{Name: "wc", State: api.ContainerState{
			Terminated: &api.ContainerStateTerminated{ExitCode: 1, FinishedAt: end}}}}
	}
	return ps
}

func restarted(n int32) []*api.Pod {
	p := pods(api.PodRunning, 1)
	p[0].Status.ContainerStatuses = []api.ContainerStatus{{Name: "wc", RestartCount: n}}
	return p
}

func cat(lists ...[]*api.Pod) []*api.Pod {
	var out []*api.Pod
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		name      string
		job       *api.Job
		pods      []*api.Pod
		manage    bool
		create    int
		delete    int
		active    int32
		succeeded int32
		failed    int32
		cond      string // condition type set after the plan, "" for none
		reason    string
		deleteJob bool
		requeue   time.Duration
		backoff   time.Duration
	}{
		{name: "new job starts one pod", job: newJob(), manage: true, create: 1, active: 1},
		{name: "not managed while creations pending", job: newJob(), manage: false, create: 0, active: 0},
		{name: "parallelism bounded by remaining", job: newJob(completions(5), parallelism(3)), pods: pods(api.PodSucceeded, 3),
			manage: true, create: 2, active: 2, succeeded: 3},
		{name: "parallel full", job: newJob(completions(5), parallelism(3)), pods: pods(api.PodRunning, 3), manage: true, active: 3},
		{name: "excess deleted", job: newJob(completions(2), parallelism(2)), pods: cat(pods(api.PodSucceeded, 1), pods(api.PodRunning, 2)),
			manage: true, delete: 1, active: 1, succeeded: 1},
		{name: "complete", job: newJob(completions(2), parallelism(2)), pods: pods(api.PodSucceeded, 2), manage: true,
			succeeded: 2, cond: api.JobComplete},
		{name: "failed pod replaced", job: newJob(), pods: pods(api.PodFailed, 1), manage: true, create: 1, active: 1, failed: 1},
		{name: "failed pod replaced after back-off", job: newJob(), pods: failedAgo(3*time.Second, 1), backoff: 10 * time.Second,
			manage: true, failed: 1, requeue: 7 * time.Second},
		{name: "back-off doubles", job: newJob(), pods: failedAgo(15*time.Second, 2), backoff: 10 * time.Second,
			manage: true, failed: 2, requeue: 5 * time.Second},
		{name: "back-off over", job: newJob(), pods: failedAgo(25*time.Second, 2), backoff: 10 * time.Second,
			manage: true, create: 1, active: 1, failed: 2},
		{name: "backoff limit exceeded", job: newJob(backoff(1)), pods: cat(pods(api.PodFailed, 2), pods(api.PodRunning, 1)),
			manage: true, delete: 1, failed: 2, cond: api.JobFailed, reason: api.JobReasonBackoffLimitExceeded},
		{name: "backoff limit zero", job: newJob(backoff(0)), pods: pods(api.PodFailed, 1), manage: true, failed: 1,
			cond: api.JobFailed, reason: api.JobReasonBackoffLimitExceeded},
		{name: "on failure restarts count", job: newJob(backoff(2), onFailure()), pods: restarted(3), manage: true, delete: 1,
			cond: api.JobFailed, reason: api.JobReasonBackoffLimitExceeded},
		{name: "on failure restarts under limit", job: newJob(backoff(3), onFailure()), pods: restarted(3), manage: true, active: 1},
		{name: "deadline exceeded", job: newJob(deadline(10), started(11*time.Second)), pods: pods(api.PodRunning, 1), manage: true,
			delete: 1, cond: api.JobFailed, reason: api.JobReasonDeadlineExceeded},
		{name: "deadline pending", job: newJob(deadline(10), started(4*time.Second)), pods: pods(api.PodRunning, 1), manage: true,
			active: 1, requeue: 6 * time.Second},
		{name: "work queue done", job: newJob(parallelism(2), func(j *api.Job) { j.Spec.Completions = nil }), pods: pods(api.PodSucceeded, 1),
			manage: true, succeeded: 1, cond: api.JobComplete},
		{name: "work queue draining", job: newJob(parallelism(2), func(j *api.Job) { j.Spec.Completions = nil }),
			pods: cat(pods(api.PodSucceeded, 1), pods(api.PodRunning, 1)), manage: true, succeeded: 1, active: 1},
		{name: "suspended", job: newJob(func(j *api.Job) { j.Spec.Suspend = api.Ptr(true) }), pods: pods(api.PodRunning, 1), manage: true, delete: 1},
		{name: "finished keeps counts", job: newJob(finished(api.JobComplete, time.Second), func(j *api.Job) { j.Status.Succeeded = 4 }),
			manage: true, succeeded: 4, cond: api.JobComplete},
		{name: "ttl pending", job: newJob(ttl(60), finished(api.JobComplete, 20*time.Second)), manage: true, cond: api.JobComplete,
			requeue: 40 * time.Second},
		{name: "ttl due", job: newJob(ttl(60), finished(api.JobFailed, 60*time.Second)), manage: true, cond: api.JobFailed, deleteJob: true},
		{name: "complete with ttl requeues", job: newJob(ttl(30)), pods: pods(api.PodSucceeded, 1), manage: true, succeeded: 1,
			cond: api.JobComplete, requeue: 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Compute(Snapshot{Job: tc.job, Pods: tc.pods, Manage: tc.manage, Now: t0, Backoff: tc.backoff, BackoffMax: time.Minute})
			st := p.Status
			if p.Create != tc.create || len(p.Delete) != tc.delete || p.DeleteJob != tc.deleteJob {
				t.Errorf("create %d delete %d deleteJob %v; want %d %d %v", p.Create, len(p.Delete), p.DeleteJob, tc.create, tc.delete, tc.deleteJob)
			}
			if st.Active != tc.active || st.Succeeded != tc.succeeded || st.Failed != tc.failed {
				t.Errorf("active/succeeded/failed %d/%d/%d; want %d/%d/%d", st.Active, st.Succeeded, st.Failed, tc.active, tc.succeeded, tc.failed)
			}
			j := &api.Job{Status: st}
			typ, done := api.JobFinished(j)
			if typ != tc.cond || done != (tc.cond != "") {
				t.Errorf("finished %q; want %q", typ, tc.cond)
			}
			if tc.reason != "" && st.Conditions[len(st.Conditions)-1].Reason != tc.reason {
				t.Errorf("reason %q; want %q", st.Conditions[len(st.Conditions)-1].Reason, tc.reason)
			}
			if typ == api.JobComplete && st.CompletionTime == nil {
				t.Error("complete without completionTime")
			}
			if tc.cond == "" && !(tc.job.Spec.Suspend != nil && *tc.job.Spec.Suspend) && st.StartTime == nil {
				t.Error("no startTime")
			}
			if p.RequeueAfter != tc.requeue {
				t.Errorf("requeue %v; want %v", p.RequeueAfter, tc.requeue)
			}
			// Idempotence: once a plan without pod changes is written, planning again
			// changes nothing.
			if p.Create == 0 && len(p.Delete) == 0 {
				again := controllerClone(tc.job)
				again.Status = st
				p2 := Compute(Snapshot{Job: again, Pods: tc.pods, Manage: tc.manage, Now: t0, Backoff: tc.backoff, BackoffMax: time.Minute})
				if !reflect.DeepEqual(p2.Status, st) || p2.Create != 0 || len(p2.Delete) != 0 {
					t.Errorf("second plan changed status:\n%+v\n%+v", p2.Status, st)
				}
			}
		})
	}
}

func controllerClone(j *api.Job) *api.Job { c := *j; return &c }

func TestNewPod(t *testing.T) {
	j := newJob()
	p := NewPod(j)
	for k, v := range map[string]string{"job-name": "wc", "batch.kubernetes.io/job-name": "wc", "controller-uid": "uid-1",
		"batch.kubernetes.io/controller-uid": "uid-1"} {
		if p.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, p.Labels[k], v)
		}
	}
	ref := api.ControllerOf(&p.ObjectMeta)
	if ref == nil || ref.Kind != "Job" || ref.APIVersion != "batch/v1" || ref.UID != "uid-1" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("owner %+v", ref)
	}
	if p.GenerateName != "wc-" || p.Spec.RestartPolicy != api.RestartNever {
		t.Errorf("pod %+v", p)
	}
}

// BenchmarkCompute plans a Job of 1,000 completions with 500 pods in every phase.
func BenchmarkCompute(b *testing.B) {
	j := newJob(completions(1000), parallelism(200), backoff(1000))
	ps := cat(pods(api.PodSucceeded, 200), pods(api.PodFailed, 100), pods(api.PodRunning, 150), pods(api.PodPending, 50))
	for b.Loop() {
		Compute(Snapshot{Job: j, Pods: ps, Manage: true, Now: t0, Backoff: time.Second, BackoffMax: time.Minute})
	}
}
