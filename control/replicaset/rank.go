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

// rankedPods sorts pods so that the best ones to delete come first, as Kubernetes'
// ActivePodsWithRanks (with LogarithmicScaleDown): unscheduled < scheduled; Pending < Unknown <
// Running; not ready < ready; lower deletion cost; more related pods on the same node; ready
// for less time (in log2 buckets); more restarts; newer. Ties fall back to the UID and name so
// that the order is deterministic.
type rankedPods struct {
	pods []*api.Pod
	rank []int
	now  time.Time
}

func (s rankedPods) Len() int { return len(s.pods) }
func (s rankedPods) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.rank[i], s.rank[j] = s.rank[j], s.rank[i]
}

func (s rankedPods) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrdinal[a.Status.Phase], phaseOrdinal[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	ra, rb := controller.IsPodReady(a), controller.IsPodReady(b)
	if ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if s.rank[i] != s.rank[j] {
		return s.rank[i] > s.rank[j]
	}
	if ra && rb {
		ta, tb := readyTime(a), readyTime(b)
		if !ta.Equal(tb) {
			if ta.IsZero() || tb.IsZero() || s.now.IsZero() {
				return afterOrZero(ta, tb)
			}
			if d := log2Bucket(s.now.Sub(ta)) - log2Bucket(s.now.Sub(tb)); d != 0 {
				return d < 0
			}
		}
	}
	if ma, mb := controller.MaxContainerRestarts(a), controller.MaxContainerRestarts(b); ma != mb {
		return ma > mb
	}
	if ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time; !ta.Equal(tb) {
		return afterOrZero(ta, tb)
	}
	if a.UID != b.UID {
		return a.UID < b.UID
	}
	return a.Name < b.Name
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
	r := rankedPods{pods: pods, rank: make([]int, len(pods)), now: now}
	for i, p := range pods {
		r.rank[i] = onNode[p.Spec.NodeName]
	}
	sort.Sort(r)
	return pods[:diff]
}
