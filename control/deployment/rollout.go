package deployment

import "github.com/wasmkube/wasmkube/control/api"

// rolling takes one RollingUpdate step, as Kubernetes' rolloutRolling: scale the new
// ReplicaSet up within maxSurge; if it did not grow, scale old ones down as far as
// maxUnavailable allows (unhealthy pods first); clean up history once complete; status.
func (p *planner) rolling() {
	newRS, olds := p.replicaSets(true)
	all := append(append([]*api.ReplicaSet(nil), olds...), newRS)
	if p.reconcileNew(all, newRS) || p.reconcileOld(all, active(olds), newRS) {
		p.d.Status = rolloutStatus(all, newRS, p.d, p.now)
		return
	}
	if complete(p.d, &p.d.Status) {
		p.cleanup(olds)
	}
	p.d.Status = rolloutStatus(all, newRS, p.d, p.now)
}

func (p *planner) reconcileNew(all []*api.ReplicaSet, newRS *api.ReplicaSet) bool {
	d := p.d
	switch {
	case replicas(newRS) == desired(d):
		return false
	case replicas(newRS) > desired(d):
		return p.scaleIfChanged(newRS, desired(d))
	}
	return p.scaleIfChanged(newRS, newRSReplicas(d, all, newRS))
}

// reconcileOld scales old ReplicaSets down by at most what keeps desired-maxUnavailable pods
// available, counting the new ReplicaSet's unavailable pods against it.
func (p *planner) reconcileOld(all, olds []*api.ReplicaSet, newRS *api.ReplicaSet) bool {
	d := p.d
	if sumSpec(olds) == 0 {
		return false
	}
	minAvailable := desired(d) - MaxUnavailable(d)
	newUnavailable := replicas(newRS) - newRS.Status.AvailableReplicas
	maxDown := sumSpec(all) - minAvailable - newUnavailable
	if maxDown <= 0 {
		return false
	}
	sortOlderFirst(olds)
	// Pods that are not available go first: removing them does not lower availability.
	cleaned := int32(0)
	for _, rs := range olds {
		if cleaned >= maxDown {
			break
		}
		if replicas(rs) == 0 || replicas(rs) == rs.Status.AvailableReplicas {
			continue
		}
		n := min(maxDown-cleaned, replicas(rs)-rs.Status.AvailableReplicas)
		if n <= 0 {
			continue
		}
		p.scaleIfChanged(rs, replicas(rs)-n)
		cleaned += n
	}
	// Then available ones, as far as maxUnavailable allows.
	scaled := int32(0)
	// As in Kubernetes, only active old ReplicaSets and the new one count here.
	availableNow := sumStatus(append(append([]*api.ReplicaSet(nil), olds...), newRS), statusAvailable)
	if availableNow > minAvailable {
		want := availableNow - minAvailable
		for _, rs := range olds {
			if scaled >= want {
				break
			}
			if replicas(rs) == 0 {
				continue
			}
			n := min(replicas(rs), want-scaled)
			p.scaleIfChanged(rs, replicas(rs)-n)
			scaled += n
		}
	}
	return cleaned+scaled > 0
}

// recreate takes one Recreate step, as Kubernetes' rolloutRecreate: scale every old
// ReplicaSet to 0, wait until none of their pods is left, then create or scale up the new one.
func (p *planner) recreate() {
	newRS, olds := p.replicaSets(false)
	all := append(append([]*api.ReplicaSet(nil), olds...), newRS)
	scaledDown := false
	for _, rs := range active(olds) {
		if p.scaleIfChanged(rs, 0) {
			scaledDown = true
		}
	}
	if scaledDown || p.oldPodsRunning(newRS, olds) {
		p.d.Status = rolloutStatus(all, newRS, p.d, p.now)
		return
	}
	if newRS == nil {
		newRS, olds = p.replicaSets(true)
		all = append(append([]*api.ReplicaSet(nil), olds...), newRS)
	}
	p.scaleIfChanged(newRS, desired(p.d))
	if complete(p.d, &p.d.Status) {
		p.cleanup(olds)
	}
	p.d.Status = rolloutStatus(all, newRS, p.d, p.now)
}

// oldPodsRunning reports whether any pod of an old ReplicaSet still exists and has not
// finished; terminating pods count, so the new pods never overlap the old ones.
func (p *planner) oldPodsRunning(newRS *api.ReplicaSet, olds []*api.ReplicaSet) bool {
	if sumStatus(olds, statusReplicas) > 0 {
		return true
	}
	for uid, pods := range p.pods {
		if newRS != nil && newRS.UID == uid {
			continue
		}
		for _, pod := range pods {
			if pod.Status.Phase != api.PodFailed && pod.Status.Phase != api.PodSucceeded {
				return true
			}
		}
	}
	return false
}
