package hollow

import (
	"context"
	"fmt"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Identity of what a hollow node "runs", as it shows in node info and container statuses.
const (
	KubeletVersion = "v1.31.0-wk-hollow"
	OSImage        = "wasmkube hollow"
	RuntimeVersion = "hollow://"
	idPrefix       = "hollow://"
)

// podAction is what a hollow node does about one of its pods.
type podAction int

const (
	podNothing   podAction = iota // running, finished, or not ours
	podStart                      // report it Running
	podTerminate                  // deletion requested: delete it for good
)

// actionFor decides what a hollow node does about p, a pod bound to it. Pods that finished
// (set so by someone else; hollow pods never finish) and pods already Running are left alone.
func actionFor(p *api.Pod) podAction {
	switch {
	case p.DeletionTimestamp != nil:
		return podTerminate
	case p.Status.Phase == api.PodRunning, p.Status.Phase == api.PodSucceeded, p.Status.Phase == api.PodFailed:
		return podNothing
	default:
		return podStart
	}
}

// runningStatus is the status of p once every container "started" at now on a node whose
// address is hostIP, with the pod at podIP. Fields the node does not own (qosClass,
// nominatedNodeName, conditions of other types) are kept; an earlier startTime too. Restart
// policies Never and OnFailure change nothing: hollow containers never exit.
func runningStatus(p *api.Pod, hostIP, podIP string, now time.Time) api.PodStatus {
	t := api.NewTime(now)
	st := api.PodStatus{
		Phase:             api.PodRunning,
		HostIP:            hostIP,
		PodIP:             podIP,
		PodIPs:            []api.PodIP{{IP: podIP}},
		StartTime:         p.Status.StartTime,
		QOSClass:          p.Status.QOSClass,
		NominatedNodeName: p.Status.NominatedNodeName,
	}
	if st.StartTime == nil || st.StartTime.IsZero() {
		st.StartTime = &t
	}
	ours := []string{api.PodScheduled, api.PodInitialized, api.ContainersReady, api.PodReady}
	for _, c := range p.Status.Conditions {
		if !contains(ours, c.Type) {
			st.Conditions = append(st.Conditions, c)
		}
	}
	for _, typ := range ours {
		st.Conditions = append(st.Conditions, api.PodCondition{Type: typ, Status: api.ConditionTrue,
			LastTransitionTime: transitionTime(p.Status.Conditions, typ, t)})
	}
	st.ContainerStatuses = make([]api.ContainerStatus, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, api.ContainerStatus{
			Name:         c.Name,
			State:        api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: t}},
			Ready:        true,
			RestartCount: 0,
			Image:        c.Image,
			ImageID:      idPrefix + c.Image,
			ContainerID:  idPrefix + p.UID + "/" + c.Name,
			Started:      api.Ptr(true),
		})
	}
	return st
}

// transitionTime keeps the transition time of a condition that already was True.
func transitionTime(conds []api.PodCondition, typ string, now api.Time) api.Time {
	for _, c := range conds {
		if c.Type == typ && c.Status == api.ConditionTrue && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime
		}
	}
	return now
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// onPod is the pod informer's add and update handler: it learns the addresses pods hold and
// queues the pods of this runner's nodes that need something done.
func (r *Runner) onPod(p *api.Pod) {
	key := informer.KeyOf(p)
	r.addrs.observe(key, p.Status.PodIP)
	if _, ours := r.index[p.Spec.NodeName]; !ours {
		return
	}
	if actionFor(p) == podNothing {
		r.forgetPod(key)
		return
	}
	r.podQ.Add(key)
}

// onPodDeleted frees what a deleted pod held.
func (r *Runner) onPodDeleted(p *api.Pod) {
	key := informer.KeyOf(p)
	r.addrs.release(key)
	r.forgetPod(key)
}

func (r *Runner) forgetPod(key string) {
	r.mu.Lock()
	delete(r.noticed, key)
	r.mu.Unlock()
}

// notice returns how long ago (on the monotonic clock) this runner first saw pod key needing
// action a; the delays (StartupDelay, TerminationDelay) are measured from there.
func (r *Runner) notice(key string, a podAction) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.noticed[key]
	if !ok || n.action != a {
		n = noticed{action: a, at: time.Now()}
		r.noticed[key] = n
	}
	return time.Since(n.at)
}

// noticed is when a pod was first seen needing an action.
type noticed struct {
	action podAction
	at     time.Time
}

// podWorker takes pod keys off the queue until it shuts down.
func (r *Runner) podWorker(ctx context.Context) {
	for {
		key, shutdown := r.podQ.Get()
		if shutdown {
			return
		}
		if ctx.Err() != nil { // draining after Run's end: nothing more is written
			r.podQ.Done(key)
			continue
		}
		err := r.syncPod(ctx, key)
		switch {
		case err == nil:
			r.podQ.Forget(key)
		case ctx.Err() != nil:
		default:
			if !api.IsConflict(err) {
				r.cfg.Logger.Warn("hollow pod", "pod", key, "err", err)
			}
			r.podQ.AddRateLimited(key)
		}
		r.podQ.Done(key)
	}
}

// syncPod brings one pod to where its hollow node wants it: Running, or deleted.
func (r *Runner) syncPod(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	p, ok := r.pods.Get(ns, name)
	if !ok {
		return nil
	}
	i, ours := r.index[p.Spec.NodeName]
	if !ours {
		return nil
	}
	a := actionFor(p)
	delay := r.cfg.StartupDelay
	if a == podTerminate {
		delay = r.cfg.TerminationDelay
	}
	if a != podNothing && delay > 0 {
		if waited := r.notice(key, a); waited < delay {
			r.podQ.AddAfter(key, delay-waited)
			return nil
		}
	}
	switch a {
	case podStart:
		return r.startPod(ctx, key, p, NodeAddress(i).String())
	case podTerminate:
		return r.terminatePod(ctx, p)
	}
	return nil
}

func (r *Runner) startPod(ctx context.Context, key string, p *api.Pod, hostIP string) error {
	ip, err := r.addrs.assign(key)
	if err != nil {
		return fmt.Errorf("start pod %s: %w", key, err)
	}
	upd := *p // the cached pod is shared: only the status is replaced, nothing is mutated
	upd.Status = runningStatus(p, hostIP, ip.String(), r.cfg.Now())
	if _, err := r.podRes.Namespace(p.Namespace).UpdateStatus(ctx, &upd); err != nil {
		if api.IsNotFound(err) {
			r.addrs.release(key) // deleted meanwhile, perhaps before the address was taken
			return nil
		}
		return fmt.Errorf("start pod %s: %w", key, err)
	}
	return nil
}

// terminatePod is the kubelet's final delete: grace period 0, and only this very pod (a pod
// of the same name created since is left alone).
func (r *Runner) terminatePod(ctx context.Context, p *api.Pod) error {
	uid := p.UID
	err := r.podRes.Namespace(p.Namespace).Delete(ctx, p.Name, &api.DeleteOptions{
		GracePeriodSeconds: api.Ptr(int64(0)),
		Preconditions:      &api.Preconditions{UID: &uid},
	})
	if err == nil || api.IsNotFound(err) || api.IsConflict(err) {
		return nil // gone, or replaced by another pod of the same name (UID precondition)
	}
	return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
}
