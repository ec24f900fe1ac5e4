package replicaset

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

// AnnotationDeletionCost ranks pods for scale-down: lower cost goes first, as in Kubernetes.
const AnnotationDeletionCost = "controller.kubernetes.io/pod-deletion-cost"

var phaseOrdinal = map[string]int{api.PodPending: 0, api.PodUnknown: 1, api.PodRunning: 2}

// podRank is a pod's deletion sort key, computed once per pod. Pods are ordered so that the
// best ones to delete come first, as Kubernetes' ActivePodsWithRanks (with
// LogarithmicScaleDown): unscheduled < scheduled; Pending < Unknown < Running; not ready <
// ready; lower deletion cost; more related pods on the same node; ready for less time (in log2
// buckets); more restarts; newer. Ties fall back to the UID and name so the order is
// deterministic.
type podRank struct {
	pod       *api.Pod
	scheduled bool
	phase     int
	ready     bool
	cost      int64
	related   int
	readyAt   time.Time
	bucket    int64
	restarts  int32
}

func rankOf(p *api.Pod, related int, now time.Time) podRank {
	r := podRank{pod: p, scheduled: p.Spec.NodeName != "", phase: phaseOrdinal[p.Status.Phase],
		ready: controller.IsPodReady(p), cost: deletionCost(p), related: related,
		restarts: controller.MaxContainerRestarts(p)}
	if r.ready {
		r.readyAt = readyTime(p)
		if !r.readyAt.IsZero() && !now.IsZero() {
			r.bucket = log2Bucket(now.Sub(r.readyAt))
		}
	}
	return r
}

func (a *podRank) less(b *podRank, logScale bool) bool {
	if a.scheduled != b.scheduled && a.pod.Spec.NodeName != b.pod.Spec.NodeName {
		return !a.scheduled
	}
	if a.phase != b.phase {
		return a.phase < b.phase
	}
	if a.ready != b.ready {
		return !a.ready
	}
	if a.cost != b.cost {
		return a.cost < b.cost
	}
	if a.related != b.related {
		return a.related > b.related
	}
	if a.ready && b.ready && !a.readyAt.Equal(b.readyAt) {
		if !logScale || a.readyAt.IsZero() || b.readyAt.IsZero() {
			return afterOrZero(a.readyAt, b.readyAt)
		}
		if a.bucket != b.bucket {
			return a.bucket < b.bucket
		}
	}
	if a.restarts != b.restarts {
		return a.restarts > b.restarts
	}
	if ta, tb := a.pod.CreationTimestamp.Time, b.pod.CreationTimestamp.Time; !ta.Equal(tb) {
		return afterOrZero(ta, tb)
	}
	if a.pod.UID != b.pod.UID {
		return a.pod.UID < b.pod.UID
	}
	return a.pod.Name < b.pod.Name
}

// afterOrZero orders a zero time first, then the later time first.
func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

func log2Bucket(d time.Duration) int64 {
	if d <= 0 {
		return -1
	}
	return int64(math.Log2(float64(d)))
}

func readyTime(p *api.Pod) time.Time {
	if c := controller.PodCondition(p, api.PodReady); c != nil && c.Status == api.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

func deletionCost(p *api.Pod) int64 {
	v, ok := p.Annotations[AnnotationDeletionCost]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return n
}

// PodsToDelete returns the diff pods of owned that are best to delete, best first. related are
// the active pods of the owner and its siblings (ReplicaSets of the same Deployment): a pod
// that shares its node with more of them is deleted first, spreading what remains.
func PodsToDelete(owned, related []*api.Pod, diff int, now time.Time) []*api.Pod {
	if diff <= 0 {
		return nil
	}
	pods := append([]*api.Pod(nil), owned...)
	if diff >= len(pods) {
		return pods
	}
	onNode := map[string]int{}
	for _, p := range related {
		if controller.IsPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	ranks := make([]podRank, len(pods))
	for i, p := range pods {
		ranks[i] = rankOf(p, onNode[p.Spec.NodeName], now)
	}
	logScale := !now.IsZero()
	sort.Slice(ranks, func(i, j int) bool { return ranks[i].less(&ranks[j], logScale) })
	out := make([]*api.Pod, diff)
	for i := range out {
		out[i] = ranks[i].pod
	}
	return out
}
