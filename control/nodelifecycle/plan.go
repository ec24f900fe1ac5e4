// Package nodelifecycle owns the node lifecycle controller: runners renew a Lease per node in
// kube-node-lease; a node whose lease stops being renewed for the grace period has its Ready
// condition set to Unknown and its pods marked not ready (so Services drop them at once), and
// after a further eviction timeout its pods are deleted so their controllers replace them on
// nodes that are alive. A node whose lease is renewed again turns Ready. Pods bound to a node
// that no longer exists are deleted after the grace period. It does not schedule pods or run
// them.
package nodelifecycle

import (
	"errors"
	"fmt"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

// Condition reasons and messages, as Kubernetes' node lifecycle controller writes them (and,
// for a node that turns Ready again, as a kubelet would).
const (
	ReasonNodeStatusUnknown      = "NodeStatusUnknown"
	MessageNodeStatusUnknown     = "Kubelet stopped posting node status."
	ReasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	MessageNodeNeverUpdated      = "Kubelet never posted node status."
	ReasonKubeletReady           = "KubeletReady"
	MessageKubeletReady          = "runner is renewing its node lease"
)

// Config is how quickly a silent node is declared lost and its pods moved.
type Config struct {
	// GracePeriod is how long a node's lease may go unrenewed before the node turns Unknown
	// and its pods are marked not ready. Kubernetes' default is 40s; with runners renewing
	// every second, 3s detects a dead runner quickly without flapping.
	GracePeriod time.Duration
	// EvictionTimeout is how long a node stays Unknown before its pods are deleted (force,
	// grace 0) so their ReplicaSets replace them elsewhere. 0 evicts as soon as the node
	// turns Unknown.
	EvictionTimeout time.Duration
}

// Default is the Kubernetes-like setting: 40s grace, then 5s before eviction. For
// "pods serve again elsewhere within 5s" run runners with a 1s lease renewal and set
// GracePeriod 3s, EvictionTimeout 0.
func Default() Config {
	return Config{GracePeriod: 40 * time.Second, EvictionTimeout: 5 * time.Second}
}

// FastFailover detects a dead runner in 3s and evicts its pods at once: with runners renewing
// their lease every second, pods serve again on other nodes within about 5s of a runner's
// death (marked not ready, and so out of Services, at 3s; replaced right after).
func FastFailover() Config {
	return Config{GracePeriod: 3 * time.Second, EvictionTimeout: 0}
}

// ErrInvalidConfig is returned by Validate.
var ErrInvalidConfig = errors.New("invalid node lifecycle configuration")

// Validate checks that the durations make sense.
func (c Config) Validate() error {
	if c.GracePeriod <= 0 {
		return fmt.Errorf("%w: grace period %v must be positive", ErrInvalidConfig, c.GracePeriod)
	}
	if c.EvictionTimeout < 0 {
		return fmt.Errorf("%w: eviction timeout %v must not be negative", ErrInvalidConfig, c.EvictionTimeout)
	}
	return nil
}

// Health is what the controller remembers of a node between reconciles. As in Kubernetes, the
// grace period runs on the controller's clock from when it last saw the lease (or the Ready
// heartbeat) change, so runners' clocks need not agree with it.
type Health struct {
	// ProbeTime is the controller's time when it last saw the node renew.
	ProbeTime time.Time
	// RenewTime and Heartbeat are the lease renewTime and Ready heartbeat last seen.
	RenewTime, Heartbeat time.Time
}

// Observe folds what the node and its lease (nil when none) say now into the node's health;
// prev is nil for a node seen for the first time, which gets a full grace period from now.
func Observe(prev *Health, node *api.Node, lease *api.Lease, now time.Time) Health {
	var renew, beat time.Time
	if lease != nil && lease.Spec.RenewTime != nil {
		renew = lease.Spec.RenewTime.Time
	}
	if c := readyCondition(&node.Status); c != nil {
		beat = c.LastHeartbeatTime.Time
	}
	if prev == nil {
		return Health{ProbeTime: now, RenewTime: renew, Heartbeat: beat}
	}
	h := *prev
	if renew.After(h.RenewTime) {
		h.RenewTime, h.ProbeTime = renew, now
	}
	if beat.After(h.Heartbeat) {
		h.Heartbeat, h.ProbeTime = beat, now
	}
	return h
}

func readyCondition(st *api.NodeStatus) *api.NodeCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == api.NodeReady {
			return &st.Conditions[i]
		}
	}
	return nil
}

// Plan is what the controller must write for one node.
type Plan struct {
	// Status, when not nil, is the node's new status (Ready turned Unknown, or back to True).
	Status *api.NodeStatus
	// NotReady are the node's pods with their Ready condition turned False, for status writes.
	NotReady []*api.Pod
	// Evict are the node's pods to delete with grace period 0.
	Evict []*api.Pod
	// RequeueAfter is when the node must be looked at again if nothing changes before.
	RequeueAfter time.Duration
}

// Compute decides what to write for node given its health, the pods bound to it, and now.
func Compute(node *api.Node, h Health, pods []*api.Pod, now time.Time, cfg Config) Plan {
	var p Plan
	deadline := h.ProbeTime.Add(cfg.GracePeriod)
	silent := now.After(deadline)
	st := controller.Clone(&node.Status)
	ready := readyCondition(st)
	switch {
	case silent && ready == nil:
		st.Conditions = append(st.Conditions, api.NodeCondition{
			Type: api.NodeReady, Status: api.ConditionUnknown, LastHeartbeatTime: node.CreationTimestamp,
			LastTransitionTime: api.NewTime(now), Reason: ReasonNodeStatusNeverUpdated, Message: MessageNodeNeverUpdated,
		})
		p.Status = st
	case silent && ready.Status != api.ConditionUnknown:
		for i := range st.Conditions {
			c := &st.Conditions[i]
			if c.Status == api.ConditionUnknown {
				continue
			}
			c.Status, c.Reason, c.Message = api.ConditionUnknown, ReasonNodeStatusUnknown, MessageNodeStatusUnknown
			c.LastTransitionTime = api.NewTime(now)
		}
		p.Status = st
	case !silent && ready != nil && ready.Status == api.ConditionUnknown &&
		(ready.Reason == ReasonNodeStatusUnknown || ready.Reason == ReasonNodeStatusNeverUpdated):
		// Only a condition this controller set is turned back; the runner owns the others.
		ready.Status, ready.Reason, ready.Message = api.ConditionTrue, ReasonKubeletReady, MessageKubeletReady
		ready.LastTransitionTime = api.NewTime(now)
		ready.LastHeartbeatTime = api.NewTime(latest(h.RenewTime, h.Heartbeat, now))
		p.Status = st
	}
	if !silent {
		p.RequeueAfter = deadline.Sub(now) + 10*time.Millisecond
		return p
	}
	// The node is silent: its runner cannot report on its pods. Mark them not ready now and
	// evict them once the node has been Unknown for the eviction timeout.
	unknownSince := now
	if ready != nil && p.Status == nil {
		unknownSince = ready.LastTransitionTime.Time
	}
	for _, pod := range pods {
		c := controller.PodCondition(pod, api.PodReady)
		if c == nil || c.Status != api.ConditionTrue || pod.DeletionTimestamp != nil {
			continue
		}
		np := controller.Clone(pod)
		c = controller.PodCondition(np, api.PodReady)
		c.Status, c.Reason, c.LastTransitionTime = api.ConditionFalse, "NodeNotReady", api.NewTime(now)
		c.Message = fmt.Sprintf("node %s stopped renewing its lease", node.Name)
		p.NotReady = append(p.NotReady, np)
	}
	evictAt := unknownSince.Add(cfg.EvictionTimeout)
	if !now.Before(evictAt) {
		for _, pod := range pods {
			if pod.Status.Phase == api.PodSucceeded || pod.Status.Phase == api.PodFailed {
				continue
			}
			p.Evict = append(p.Evict, pod)
		}
	} else if len(pods) > 0 {
		p.RequeueAfter = evictAt.Sub(now) + 10*time.Millisecond
	}
	return p
}

// latest is the last of renew and beat, or now when neither is known.
func latest(renew, beat, now time.Time) time.Time {
	t := renew
	if beat.After(t) {
		t = beat
	}
	if t.IsZero() {
		return now
	}
	return t
}

// PodsOfMissingNode are the pods to delete when their node no longer exists: all of them,
// finished or not, since no runner will ever report on them again.
func PodsOfMissingNode(pods []*api.Pod) []*api.Pod {
	return append([]*api.Pod(nil), pods...)
}
