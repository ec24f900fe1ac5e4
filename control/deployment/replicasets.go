package deployment

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// MaxRevisionHistoryChars bounds the revision-history annotation, as in Kubernetes.
const MaxRevisionHistoryChars = 2000

// AnnotationLastApplied is kubectl's last-applied-configuration, which is not copied from a
// Deployment to its ReplicaSets.
const AnnotationLastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// skipCopy are the Deployment annotations that are not copied onto its new ReplicaSet.
var skipCopy = map[string]bool{
	AnnotationLastApplied:               true,
	api.AnnotationRevision:              true,
	api.AnnotationRevisionHistory:       true,
	api.AnnotationDesiredReplicas:       true,
	api.AnnotationMaxReplicas:           true,
	"deprecated.deployment.rollback.to": true,
}

const hashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// TemplateHash is the pod-template-hash of a template, as Kubernetes' ComputeHash: an FNV-32a
// of the template (here its JSON without the pod-template-hash label) and the collision
// count, printed in decimal and mapped onto consonants and digits so it never spells a word.
func TemplateHash(t *api.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	h.Write(templateJSON(t))
	if collisionCount != nil {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(*collisionCount))
		h.Write(b[:])
	}
	s := strconv.FormatUint(uint64(h.Sum32()), 10)
	out := make([]byte, len(s))
	for i := range len(s) {
		out[i] = hashAlphabet[int(s[i])%len(hashAlphabet)]
	}
	return string(out)
}

// templateJSON is t's JSON with the pod-template-hash label left out.
func templateJSON(t *api.PodTemplateSpec) []byte {
	c := *t
	if _, ok := c.Labels[api.LabelPodTemplateHash]; ok {
		c.Labels = make(map[string]string, len(t.Labels))
		for k, v := range t.Labels {
			if k != api.LabelPodTemplateHash {
				c.Labels[k] = v
			}
		}
	}
	b, err := json.Marshal(&c)
	if err != nil {
		panic(fmt.Sprintf("encode pod template: %v", err))
	}
	return b
}

// EqualIgnoreHash reports whether two templates are the same apart from the pod-template-hash
// label: how a Deployment finds the ReplicaSet of its current template, including after an
// undo copied an old template back.
func EqualIgnoreHash(a, b *api.PodTemplateSpec) bool {
	return string(templateJSON(a)) == string(templateJSON(b))
}

func replicas(rs *api.ReplicaSet) int32 { return api.Deref(rs.Spec.Replicas, 0) }

func desired(d *api.Deployment) int32 { return api.Deref(d.Spec.Replicas, 1) }

// Revision is the revision annotation of rs, 0 when absent or malformed.
func Revision(m *api.ObjectMeta) int64 {
	n, err := strconv.ParseInt(m.Annotations[api.AnnotationRevision], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func maxRevision(rss []*api.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		m = max(m, Revision(&rs.ObjectMeta))
	}
	return m
}

func isRolling(d *api.Deployment) bool {
	return d.Spec.Strategy.Type != api.RecreateStrategy
}

// Fenceposts resolves maxSurge (rounded up) and maxUnavailable (rounded down) against the
// desired count; when both come to 0, maxUnavailable is 1 so the rollout can move.
func Fenceposts(surge, unavailable *api.IntOrString, desired int32) (int32, int32) {
	s, u := 0, 0
	if surge != nil {
		s, _ = surge.ScaledValue(int(desired), true)
	}
	if unavailable != nil {
		u, _ = unavailable.ScaledValue(int(desired), false)
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u)
}

func rollingParams(d *api.Deployment) (surge, unavailable *api.IntOrString) {
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		return ru.MaxSurge, ru.MaxUnavailable
	}
	return nil, nil
}

// MaxSurge is how many pods above the desired count a rolling update may run.
func MaxSurge(d *api.Deployment) int32 {
	if !isRolling(d) {
		return 0
	}
	surge, unav := rollingParams(d)
	s, _ := Fenceposts(surge, unav, desired(d))
	return s
}

// MaxUnavailable is how many of the desired pods a rolling update may leave unavailable.
func MaxUnavailable(d *api.Deployment) int32 {
	if !isRolling(d) || desired(d) == 0 {
		return 0
	}
	surge, unav := rollingParams(d)
	_, u := Fenceposts(surge, unav, desired(d))
	return min(u, desired(d))
}

func sumSpec(rss []*api.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += replicas(rs)
		}
	}
	return n
}

func sumStatus(rss []*api.ReplicaSet, f func(*api.ReplicaSetStatus) int32) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += f(&rs.Status)
		}
	}
	return n
}

func statusReplicas(s *api.ReplicaSetStatus) int32  { return s.Replicas }
func statusReady(s *api.ReplicaSetStatus) int32     { return s.ReadyReplicas }
func statusAvailable(s *api.ReplicaSetStatus) int32 { return s.AvailableReplicas }

func active(rss []*api.ReplicaSet) []*api.ReplicaSet {
	var out []*api.ReplicaSet
	for _, rs := range rss {
		if rs != nil && replicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// olderFirst orders by creation time, then name.
func olderFirst(a, b *api.ReplicaSet) bool {
	if !a.CreationTimestamp.Equal(b.CreationTimestamp.Time) {
		return a.CreationTimestamp.Before(b.CreationTimestamp.Time)
	}
	return a.Name < b.Name
}

func sortOlderFirst(rss []*api.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool { return olderFirst(rss[i], rss[j]) })
}

// sortBySize orders larger first; among equal sizes, newer first when newer, else older.
func sortBySize(rss []*api.ReplicaSet, newer bool) {
	sort.SliceStable(rss, func(i, j int) bool {
		if ri, rj := replicas(rss[i]), replicas(rss[j]); ri != rj {
			return ri > rj
		}
		if newer {
			return olderFirst(rss[j], rss[i])
		}
		return olderFirst(rss[i], rss[j])
	})
}

func sortByRevision(rss []*api.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		ri, rj := Revision(&rss[i].ObjectMeta), Revision(&rss[j].ObjectMeta)
		if ri != rj {
			return ri < rj
		}
		return olderFirst(rss[i], rss[j])
	})
}

func intAnnotation(m *api.ObjectMeta, key string) (int32, bool) {
	v, ok := m.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// setReplicasAnnotations records on rs the deployment size it was scaled for; it reports a
// change.
func setReplicasAnnotations(rs *api.ReplicaSet, want, maxReplicas int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range map[string]string{
		api.AnnotationDesiredReplicas: strconv.Itoa(int(want)),
		api.AnnotationMaxReplicas:     strconv.Itoa(int(maxReplicas)),
	} {
		if rs.Annotations[k] != v {
			rs.Annotations[k] = v
			changed = true
		}
	}
	return changed
}

// setNewRSAnnotations copies the Deployment's annotations onto its new ReplicaSet and raises the
// ReplicaSet's revision to newRevision, keeping the revisions it had (an undo) in
// revision-history, as Kubernetes' SetNewReplicaSetAnnotations. It reports a change.
func setNewRSAnnotations(d *api.Deployment, rs *api.ReplicaSet, newRevision int64, exists bool) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range d.Annotations {
		if skipCopy[k] {
			continue
		}
		if cur, ok := rs.Annotations[k]; ok && cur == v {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	oldRevision, had := rs.Annotations[api.AnnotationRevision]
	oldN := int64(0)
	if had {
		n, err := strconv.ParseInt(oldRevision, 10, 64)
		if err != nil {
			return changed
		}
		oldN = n
	}
	if oldN < newRevision {
		rs.Annotations[api.AnnotationRevision] = strconv.FormatInt(newRevision, 10)
		changed = true
		if had {
			hist := rs.Annotations[api.AnnotationRevisionHistory]
			if hist == "" {
				rs.Annotations[api.AnnotationRevisionHistory] = oldRevision
			} else {
				olds := strings.Split(hist, ",")
				total := len(hist) + len(oldRevision) + 1
				start := 0
				for total > MaxRevisionHistoryChars && start < len(olds) {
					total -= len(olds[start]) + 1
					start++
				}
				if total <= MaxRevisionHistoryChars {
					rs.Annotations[api.AnnotationRevisionHistory] = strings.Join(append(olds[start:], oldRevision), ",")
				}
			}
		}
	}
	if !exists && setReplicasAnnotations(rs, desired(d), desired(d)+MaxSurge(d)) {
		changed = true
	}
	return changed
}
