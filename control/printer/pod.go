package printer

import (
	"strconv"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// podNodeLost is the status reason the node lifecycle controller sets on pods of an unreachable
// node (Kubernetes' NodeUnreachablePodReason).
const podNodeLost = "NodeLost"

// podRow follows Kubernetes' printPod: READY counts ready running containers, STATUS is the
// phase overridden by the most telling container state, RESTARTS adds when the last one was.
// wasmkube pods have no init containers and no readiness gates, so those branches are absent.
func podRow(pod *api.Pod, now time.Time) []any {
	restarts := 0
	ready := 0
	var lastRestart time.Time

	reason := pod.Status.Phase
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == api.PodScheduled && c.Reason == "SchedulingGated" {
			reason = "SchedulingGated"
		}
	}

	hasRunning := false
	cs := pod.Status.ContainerStatuses
	for i := len(cs) - 1; i >= 0; i-- {
		c := &cs[i]
		restarts += int(c.RestartCount)
		if t := c.LastState.Terminated; t != nil && t.FinishedAt.After(lastRestart) {
			lastRestart = t.FinishedAt.Time
		}
		switch {
		case c.State.Waiting != nil && c.State.Waiting.Reason != "":
			reason = c.State.Waiting.Reason
		case c.State.Terminated != nil && c.State.Terminated.Reason != "":
			reason = c.State.Terminated.Reason
		case c.State.Terminated != nil:
			if c.State.Terminated.Signal != 0 {
				reason = "Signal:" + strconv.Itoa(int(c.State.Terminated.Signal))
			} else {
				reason = "ExitCode:" + strconv.Itoa(int(c.State.Terminated.ExitCode))
			}
		case c.Ready && c.State.Running != nil:
			hasRunning = true
			ready++
		}
	}
	// A pod with one container still running is not Completed yet.
	if reason == "Completed" && hasRunning {
		if podReady(pod) {
			reason = api.PodRunning
		} else {
			reason = "NotReady"
		}
	}

	if pod.DeletionTimestamp != nil && pod.Status.Reason == podNodeLost {
		reason = api.PodUnknown
	} else if pod.DeletionTimestamp != nil && pod.Status.Phase != api.PodSucceeded && pod.Status.Phase != api.PodFailed {
		reason = "Terminating"
	}

	restartsCell := strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartsCell += " (" + age(api.Time{Time: lastRestart}, now) + " ago)"
	}

	podIP := pod.Status.PodIP
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	return []any{
		pod.Name,
		strconv.Itoa(ready) + "/" + strconv.Itoa(len(pod.Spec.Containers)),
		reason,
		restartsCell,
		age(pod.CreationTimestamp, now),
		orNone(podIP),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		"<none>", // readiness gates: wasmkube pods declare none
	}
}

func podReady(pod *api.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == api.PodReady && c.Status == api.ConditionTrue {
			return true
		}
	}
	return false
}

// orNone is s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
