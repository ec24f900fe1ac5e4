package deployment

import (
	"fmt"
	"math"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// Reasons of the Deployment conditions, as in Kubernetes.
const (
	ReasonNewReplicaSetCreated       = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet         = "FoundNewReplicaSet"
	ReasonNewReplicaSetAvailable     = "NewReplicaSetAvailable"
	ReasonReplicaSetUpdated          = "ReplicaSetUpdated"
	ReasonProgressDeadlineExceeded   = "ProgressDeadlineExceeded"
	ReasonDeploymentPaused           = "DeploymentPaused"
	ReasonDeploymentResumed          = "DeploymentResumed"
	ReasonReplicaSetCreateError      = "ReplicaSetCreateError"
	ReasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

func condition(st *api.DeploymentStatus, t string) *api.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func newCondition(t string, status api.ConditionStatus, reason, msg string, now time.Time) api.DeploymentCondition {
	at := api.NewTime(now)
	return api.DeploymentCondition{Type: t, Status: status, LastUpdateTime: at, LastTransitionTime: at, Reason: reason, Message: msg}
}

// setCondition replaces the condition of c's type unless it has the same status and reason;
// the transition time is kept when the status does not change.
func setCondition(st *api.DeploymentStatus, c api.DeploymentCondition) {
	cur := condition(st, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, c.Type)
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *api.DeploymentStatus, t string) {
	var out []api.DeploymentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
}

func hasProgressDeadline(d *api.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// calculateStatus is the status the ReplicaSets' statuses add up to, with the Available
// condition, as Kubernetes' calculateStatus. It keeps d's other conditions.
func calculateStatus(all []*api.ReplicaSet, newRS *api.ReplicaSet, d *api.Deployment, now time.Time) api.DeploymentStatus {
	available := sumStatus(all, statusAvailable)
	unavailable := max(sumSpec(all)-available, 0)
	st := api.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            sumStatus(all, statusReplicas),
		UpdatedReplicas:     sumStatus([]*api.ReplicaSet{newRS}, statusReplicas),
		ReadyReplicas:       sumStatus(all, statusReady),
		AvailableReplicas:   available,
		UnavailableReplicas: unavailable,
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]api.DeploymentCondition(nil), d.Status.Conditions...),
	}
	if available >= desired(d)-MaxUnavailable(d) {
		setCondition(&st, newCondition(api.DeploymentAvailable, api.ConditionTrue, ReasonMinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(&st, newCondition(api.DeploymentAvailable, api.ConditionFalse, ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", now))
	}
	return st
}

// complete reports whether every desired pod runs the new template and is available.
func complete(d *api.Deployment, st *api.DeploymentStatus) bool {
	n := desired(d)
	return st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n && st.ObservedGeneration >= d.Generation
}

// progressing reports whether st shows progress over d's current status.
func progressing(d *api.Deployment, st *api.DeploymentStatus) bool {
	old := d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas
}

func timedOut(d *api.Deployment, st *api.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := condition(st, api.DeploymentProgressing)
	if c == nil || c.Reason == ReasonNewReplicaSetAvailable {
		return false
	}
	if c.Reason == ReasonProgressDeadlineExceeded {
		return true
	}
	return c.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Before(now)
}

// rolloutStatus is the status after a rollout step, with the Progressing condition
// (NewReplicaSetAvailable, ReplicaSetUpdated or ProgressDeadlineExceeded) and ReplicaFailure
// copied from the ReplicaSets, as Kubernetes' syncRolloutStatus.
func rolloutStatus(all []*api.ReplicaSet, newRS *api.ReplicaSet, d *api.Deployment, now time.Time) api.DeploymentStatus {
	st := calculateStatus(all, newRS, d, now)
	if !hasProgressDeadline(d) {
		removeCondition(&st, api.DeploymentProgressing)
	}
	cur := condition(&d.Status, api.DeploymentProgressing)
	done := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewReplicaSetAvailable
	if hasProgressDeadline(d) && !done {
		subject := fmt.Sprintf("Deployment %q", d.Name)
		if newRS != nil {
			subject = fmt.Sprintf("ReplicaSet %q", newRS.Name)
		}
		switch {
		case complete(d, &st):
			setCondition(&st, newCondition(api.DeploymentProgressing, api.ConditionTrue, ReasonNewReplicaSetAvailable, subject+" has successfully progressed.", now))
		case progressing(d, &st):
			c := newCondition(api.DeploymentProgressing, api.ConditionTrue, ReasonReplicaSetUpdated, subject+" is progressing.", now)
			if cur != nil {
				if cur.Status == api.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeCondition(&st, api.DeploymentProgressing)
			}
			setCondition(&st, c)
		case timedOut(d, &st, now):
			setCondition(&st, newCondition(api.DeploymentProgressing, api.ConditionFalse, ReasonProgressDeadlineExceeded, subject+" has timed out progressing.", now))
		}
	}
	if f := replicaFailure(all, newRS); f != nil {
		setCondition(&st, *f)
	} else {
		removeCondition(&st, api.DeploymentReplicaFailure)
	}
	return st
}

// replicaFailure is the ReplicaFailure condition of the new ReplicaSet, else of any other.
func replicaFailure(all []*api.ReplicaSet, newRS *api.ReplicaSet) *api.DeploymentCondition {
	for _, rss := range [][]*api.ReplicaSet{{newRS}, all} {
		for _, rs := range rss {
			if rs == nil {
				continue
			}
			for _, c := range rs.Status.Conditions {
				if c.Type == api.DeploymentReplicaFailure {
					return &api.DeploymentCondition{Type: c.Type, Status: c.Status, LastUpdateTime: c.LastTransitionTime,
						LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message}
				}
			}
		}
	}
	return nil
}

// progressCheckAfter is when a rollout that has not finished must be looked at again to see
// whether it missed its progress deadline; 0 when no check is due.
func progressCheckAfter(d *api.Deployment, st *api.DeploymentStatus, now time.Time) time.Duration {
	c := condition(st, api.DeploymentProgressing)
	if !hasProgressDeadline(d) || d.Spec.Paused || c == nil || complete(d, st) ||
		c.Reason == ReasonProgressDeadlineExceeded || c.Reason == ReasonNewReplicaSetAvailable {
		return 0
	}
	after := c.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now)
	if after < time.Second {
		return time.Second
	}
	return after + time.Second
}
