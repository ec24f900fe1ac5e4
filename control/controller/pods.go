package controller

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// PodCondition returns the pod's condition of type t, or nil.
func PodCondition(p *api.Pod, t string) *api.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(p *api.Pod) bool {
	c := PodCondition(p, api.PodReady)
	return c != nil && c.Status == api.ConditionTrue
}

// IsPodActive reports whether the pod counts towards a controller's replicas: it has not
// finished (Succeeded or Failed) and is not being deleted.
func IsPodActive(p *api.Pod) bool {
	return p.Status.Phase != api.PodSucceeded && p.Status.Phase != api.PodFailed && p.DeletionTimestamp == nil
}

// IsPodAvailable reports whether the pod has been ready for at least minReadySeconds at now.
// As in Kubernetes, the Ready condition's lastTransitionTime is when readiness began.
func IsPodAvailable(p *api.Pod, minReadySeconds int32, now time.Time) bool {
	return AvailableIn(p, minReadySeconds, now) == 0
}

// AvailableIn returns how long until the ready pod becomes available: 0 when it is available
// now, a negative duration when it is not ready (and so may never be).
func AvailableIn(p *api.Pod, minReadySeconds int32, now time.Time) time.Duration {
	c := PodCondition(p, api.PodReady)
	if c == nil || c.Status != api.ConditionTrue {
		return -1
	}
	if minReadySeconds == 0 {
		return 0
	}
	if c.LastTransitionTime.IsZero() {
		return -1
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if now.After(at) {
		return 0
	}
	// Kubernetes requires now to be strictly after the deadline; ask to be woken just past it.
	return at.Sub(now) + time.Millisecond
}

// MaxContainerRestarts is the highest restart count among the pod's modules.
func MaxContainerRestarts(p *api.Pod) int32 {
	var m int32
	for _, c := range p.Status.ContainerStatuses {
		m = max(m, c.RestartCount)
	}
	return m
}
