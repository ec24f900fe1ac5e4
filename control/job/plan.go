package job

import (
	"sort"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

// BurstPods bounds the pods created in one reconcile, as Kubernetes' job controller does.
const BurstPods = 500

// Snapshot is what the job controller sees of one Job.
type Snapshot struct {
	Job *api.Job
	// Pods are the pods the Job controls (any phase).
	Pods []*api.Pod
	// Manage is false while earlier creations or deletions have not been observed; the plan
	// then neither creates nor deletes pods.
	Manage bool
	Now    time.Time
	// Backoff is the delay before a pod replaces a failed one; it doubles with each failure up
	// to BackoffMax (Kubernetes: 10s and 6m). Zero replaces failed pods at once.
	Backoff, BackoffMax time.Duration
}

// Plan is what the controller must write for one Job. Applying it and planning again from
// the resulting state yields an empty plan.
type Plan struct {
	// Create is how many pods to create from the template.
	Create int
	// Delete are active pods to delete: excess parallelism, or every active pod of a Job that
	// finished, failed or is suspended.
	Delete []*api.Pod
	// Status is the Job's status after this plan.
	Status api.JobStatus
	// DeleteJob is set when ttlSecondsAfterFinished has passed.
	DeleteJob bool
	// RequeueAfter, when positive, is when the deadline or the TTL falls due.
	RequeueAfter time.Duration
}

// Compute decides what should change for s.Job, as Kubernetes' syncJob: count active,
// succeeded and failed pods (with restartPolicy OnFailure, container restarts count as
// failures), fail the Job past backoffLimit or activeDeadlineSeconds, complete it once
// completions pods succeeded (or, without completions, once one succeeded and none is
// active), and otherwise keep min(parallelism, remaining) pods active. A finished Job is
// deleted ttlSecondsAfterFinished after it finished.
func Compute(s Snapshot) Plan {
	j := s.Job
	now := s.Now
	var p Plan
	st := *controller.Clone(&j.Status)

	var active []*api.Pod
	var succeeded, failed, restarts, ready int32
	var lastFailure time.Time
	for _, pod := range s.Pods {
		switch {
		case pod.Status.Phase == api.PodSucceeded:
			succeeded++
		case pod.Status.Phase == api.PodFailed:
			failed++
			if t := failedAt(pod); t.After(lastFailure) {
				lastFailure = t
			}
		case pod.DeletionTimestamp == nil:
			active = append(active, pod)
			if controller.IsPodReady(pod) {
				ready++
			}
			if j.Spec.Template.Spec.RestartPolicy == api.RestartOnFailure {
				for _, cs := range pod.Status.ContainerStatuses {
					restarts += cs.RestartCount
				}
			}
		}
	}
	// Counts never go down: pods of a finished Job may be deleted (by a TTL or by hand).
	st.Succeeded = max(st.Succeeded, succeeded)
	st.Failed = max(st.Failed, failed)
	st.Active = int32(len(active))
	st.Ready = api.Ptr(ready)

	if _, done := api.JobFinished(j); done {
		if s.Manage {
			p.Delete = active
			st.Active = 0
		}
		p.Status = st
		if ttl := j.Spec.TTLSecondsAfterFinished; ttl != nil {
			finished := finishTime(j)
			due := finished.Add(time.Duration(*ttl) * time.Second)
			if !now.Before(due) {
				p.DeleteJob = true
			} else {
				p.RequeueAfter = due.Sub(now)
			}
		}
		return p
	}

	suspended := j.Spec.Suspend != nil && *j.Spec.Suspend
	if st.StartTime == nil && !suspended {
		st.StartTime = &api.Time{Time: now.Truncate(time.Second)}
	}

	finish := func(typ, reason, msg string) {
		t := api.Time{Time: now.Truncate(time.Second)}
		st.Conditions = append(st.Conditions, api.JobCondition{Type: typ, Status: api.ConditionTrue,
			LastProbeTime: t, LastTransitionTime: t, Reason: reason, Message: msg})
		if typ == api.JobComplete {
			st.CompletionTime = &t
		}
		if s.Manage {
			p.Delete = active
			st.Active = 0
		}
		p.RequeueAfter = 0
		if ttl := j.Spec.TTLSecondsAfterFinished; ttl != nil {
			p.RequeueAfter = max(time.Duration(*ttl)*time.Second, time.Millisecond)
		}
		p.Status = st
	}

	backoff := api.Deref(j.Spec.BackoffLimit, api.DefaultJobBackoffLimit)
	if st.Failed+restarts > backoff {
		finish(api.JobFailed, api.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
		return p
	}
	if d := j.Spec.ActiveDeadlineSeconds; d != nil && st.StartTime != nil {
		due := st.StartTime.Add(time.Duration(*d) * time.Second)
		if !now.Before(due) {
			finish(api.JobFailed, api.JobReasonDeadlineExceeded, "Job was active longer than specified deadline")
			return p
		}
		p.RequeueAfter = due.Sub(now)
	}
	completions := j.Spec.Completions
	switch {
	case completions != nil && st.Succeeded >= *completions:
		finish(api.JobComplete, "", "")
		return p
	case completions == nil && st.Succeeded > 0 && len(active) == 0:
		finish(api.JobComplete, "", "")
		return p
	}

	want := int(api.Deref(j.Spec.Parallelism, 1))
	switch {
	case suspended:
		want = 0
	case completions != nil:
		want = min(want, int(*completions-st.Succeeded))
	case st.Succeeded > 0:
		want = len(active) // a work queue: once one pod succeeded, no new pods start; the rest finish
	}
	if s.Manage {
		switch diff := len(active) - want; {
		case diff < 0 && st.Failed > 0 && s.Backoff > 0 && now.Before(lastFailure.Add(backoffDelay(s, st.Failed))):
			// Replacing failed pods waits out the back-off.
			wait := lastFailure.Add(backoffDelay(s, st.Failed)).Sub(now)
			if p.RequeueAfter == 0 || wait < p.RequeueAfter {
				p.RequeueAfter = wait
			}
		case diff < 0:
			p.Create = min(-diff, BurstPods)
			st.Active += int32(p.Create)
		case diff > 0:
			p.Delete = deletionOrder(active)[:diff]
			st.Active -= int32(diff)
		}
	}
	p.Status = st
	return p
}

// backoffDelay is the wait after the failed-th failure: Backoff doubled failed-1 times, at
// most BackoffMax.
func backoffDelay(s Snapshot, failed int32) time.Duration {
	d := s.Backoff
	for i := int32(1); i < failed && (s.BackoffMax <= 0 || d < s.BackoffMax); i++ {
		d *= 2
	}
	if s.BackoffMax > 0 && d > s.BackoffMax {
		d = s.BackoffMax
	}
	return d
}

// failedAt is when a failed pod's last container ended, else when it was created.
func failedAt(p *api.Pod) time.Time {
	var t time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if term := cs.State.Terminated; term != nil && term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if t.IsZero() {
		t = p.CreationTimestamp.Time
	}
	return t
}

// finishTime is when j finished: its completion time, else its finishing condition's
// transition time.
func finishTime(j *api.Job) time.Time {
	if j.Status.CompletionTime != nil {
		return j.Status.CompletionTime.Time
	}
	for _, c := range j.Status.Conditions {
		if (c.Type == api.JobComplete || c.Type == api.JobFailed) && c.Status == api.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// deletionOrder puts the pods to delete first: unscheduled, then pending, then not ready, then
// the newest.
func deletionOrder(pods []*api.Pod) []*api.Pod {
	out := append([]*api.Pod(nil), pods...)
	rank := func(p *api.Pod) int {
		switch {
		case p.Spec.NodeName == "":
			return 0
		case p.Status.Phase == api.PodPending:
			return 1
		case !controller.IsPodReady(p):
			return 2
		}
		return 3
	}
	sort.SliceStable(out, func(a, b int) bool {
		ra, rb := rank(out[a]), rank(out[b])
		if ra != rb {
			return ra < rb
		}
		return out[a].CreationTimestamp.After(out[b].CreationTimestamp.Time)
	})
	return out
}

// NewPod is a pod of j, made from its template, labelled and owned as Kubernetes does.
func NewPod(j *api.Job) *api.Pod {
	t := controller.Clone(&j.Spec.Template)
	labels := map[string]string{}
	for k, v := range t.Labels {
		labels[k] = v
	}
	labels[api.LabelJobName] = j.Name
	labels[api.LabelJobNameNew] = j.Name
	labels[api.LabelControllerUID] = j.UID
	labels[api.LabelControllerUIDNew] = j.UID
	return &api.Pod{
		TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{
			GenerateName:    j.Name + "-",
			Namespace:       j.Namespace,
			Labels:          labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []api.OwnerReference{controller.ControllerRef(&j.ObjectMeta, "batch/v1", "Job")},
		},
		Spec: t.Spec,
	}
}
