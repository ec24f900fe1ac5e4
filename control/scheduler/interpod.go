package scheduler

import (
	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
)

// Reasons of the pod-relation filters, as Kubernetes words them.
const (
	ReasonPodAffinity          = "node(s) didn't match pod affinity rules"
	ReasonPodAntiAffinity      = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
	ReasonTopologySpread       = "node(s) didn't match pod topology spread constraints"
	ReasonSpreadMissingLabel   = "node(s) didn't match pod topology spread constraints (missing required label)"
)

// domainTerm is a pod-relation term resolved against the snapshot: how many matching pods
// each topology domain (value of TopologyKey on the nodes) holds.
type domainTerm struct {
	key     string
	domains map[string]int
	weight  int32 // preferred terms: positive for affinity, negative for anti-affinity
	// self: no pod matches anywhere but the incoming pod matches its own required affinity
	// term, which Kubernetes lets through so the first pod of a group can land.
	self   bool
	reason string
}

// spreadState is a topology spread constraint resolved against the snapshot.
type spreadState struct {
	key      string
	maxSkew  int
	hard     bool
	counts   map[string]int // matching pods per domain, every domain present
	min, max int
	self     int // 1 when the constraint's selector matches the incoming pod
}

func termNamespaces(t *api.PodAffinityTerm, own string) map[string]bool {
	if len(t.Namespaces) == 0 {
		return map[string]bool{own: true}
	}
	m := make(map[string]bool, len(t.Namespaces))
	for _, ns := range t.Namespaces {
		m[ns] = true
	}
	return m
}

// resolve counts, per domain of t.TopologyKey, the placed pods t selects.
func (s *Snapshot) resolve(t *api.PodAffinityTerm, ns string, reason string, weight int32) (domainTerm, labels.Selector) {
	dt := domainTerm{key: t.TopologyKey, domains: map[string]int{}, weight: weight, reason: reason}
	sel, err := api.SelectorOf(t.LabelSelector)
	if err != nil || t.LabelSelector == nil {
		return dt, labels.Nothing()
	}
	s.matching(sel, termNamespaces(t, ns), func(_ *api.Pod, node string) {
		if ni := s.nodes[node]; ni != nil {
			if v, ok := ni.Node.Labels[t.TopologyKey]; ok {
				dt.domains[v]++
			}
		}
	})
	return dt, sel
}

// Prepare resolves pi's pod (anti-)affinity and topology spread rules against the snapshot,
// once per decision: it reads the label index, never every placed pod (except for selectors
// without a matchLabels pair or an In expression, and for the placed pods that themselves have
// required anti-affinity, which are kept in a list of their own).
func (s *Snapshot) Prepare(pi *PodInfo) {
	pod := pi.Pod
	pi.snap = s
	pi.affinity, pi.antiAffinity, pi.preferred, pi.spread = nil, nil, nil, nil
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
				t := &pa.RequiredDuringSchedulingIgnoredDuringExecution[i]
				dt, sel := s.resolve(t, pod.Namespace, ReasonPodAffinity, 0)
				if len(dt.domains) == 0 && termNamespaces(t, pod.Namespace)[pod.Namespace] && sel.Matches(labels.Set(pod.Labels)) {
					dt.self = true
				}
				pi.affinity = append(pi.affinity, dt)
			}
			for _, w := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
				dt, _ := s.resolve(&w.PodAffinityTerm, pod.Namespace, "", w.Weight)
				pi.preferred = append(pi.preferred, dt)
			}
		}
		if pa := a.PodAntiAffinity; pa != nil {
			for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
				dt, _ := s.resolve(&pa.RequiredDuringSchedulingIgnoredDuringExecution[i], pod.Namespace, ReasonPodAntiAffinity, 0)
				pi.antiAffinity = append(pi.antiAffinity, dt)
			}
			for _, w := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
				dt, _ := s.resolve(&w.PodAffinityTerm, pod.Namespace, "", -w.Weight)
				pi.preferred = append(pi.preferred, dt)
			}
		}
	}
	// Existing pods whose required anti-affinity selects this pod keep it out of their domain.
	existing := map[string]*domainTerm{}
	for key := range s.withAnti {
		p := s.placed[key]
		ni := s.nodes[p.node]
		if p.pod == nil || ni == nil || key == pi.Key {
			continue
		}
		for i := range p.pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			t := &p.pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[i]
			sel, err := api.SelectorOf(t.LabelSelector)
			if err != nil || !termNamespaces(t, p.pod.Namespace)[pod.Namespace] || !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			v, ok := ni.Node.Labels[t.TopologyKey]
			if !ok {
				continue
			}
			dt := existing[t.TopologyKey]
			if dt == nil {
				dt = &domainTerm{key: t.TopologyKey, domains: map[string]int{}, reason: ReasonExistingAntiAffinity}
				existing[t.TopologyKey] = dt
			}
			dt.domains[v]++
		}
	}
	for _, dt := range existing {
		pi.antiAffinity = append(pi.antiAffinity, *dt)
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		st := spreadState{key: c.TopologyKey, maxSkew: int(c.MaxSkew), hard: c.WhenUnsatisfiable != api.ScheduleAnyway,
			counts: map[string]int{}}
		for v := range s.domains[c.TopologyKey] {
			st.counts[v] = 0
		}
		if sel, err := api.SelectorOf(c.LabelSelector); err == nil && c.LabelSelector != nil {
			s.matching(sel, map[string]bool{pod.Namespace: true}, func(_ *api.Pod, node string) {
				if ni := s.nodes[node]; ni != nil {
					if v, ok := ni.Node.Labels[c.TopologyKey]; ok {
						st.counts[v]++
					}
				}
			})
			if sel.Matches(labels.Set(pod.Labels)) {
				st.self = 1
			}
		}
		first := true
		for _, n := range st.counts {
			if first || n < st.min {
				st.min = n
			}
			if first || n > st.max {
				st.max = n
			}
			first = false
		}
		pi.spread = append(pi.spread, st)
	}
}

// InterPodAffinity enforces required pod affinity and anti-affinity (the pod's own and that
// of pods already placed) by topology domain. It reads what Snapshot.Prepare resolved.
type InterPodAffinity struct{}

// Name implements Filter.
func (InterPodAffinity) Name() string { return "InterPodAffinity" }

// Filter implements Filter.
func (InterPodAffinity) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	for i := range p.antiAffinity {
		t := &p.antiAffinity[i]
		if v, ok := n.Node.Labels[t.key]; ok && t.domains[v] > 0 {
			return false, t.reason
		}
	}
	for i := range p.affinity {
		t := &p.affinity[i]
		v, ok := n.Node.Labels[t.key]
		if !ok || (t.domains[v] == 0 && !t.self) {
			return false, ReasonPodAffinity
		}
	}
	return true, ""
}

func (InterPodAffinity) skipFor(p *PodInfo) bool {
	return len(p.antiAffinity) == 0 && len(p.affinity) == 0
}

func (InterPodAffinity) constFor(p *PodInfo) (float64, bool) { return 0, len(p.preferred) == 0 }

// Score implements Scorer for preferred pod affinity and anti-affinity: the weights of the
// terms whose domain on this node holds a matching pod (anti-affinity weights count against),
// mapped onto 0..MaxScore.
func (InterPodAffinity) Score(p *PodInfo, n *NodeInfo) float64 {
	if len(p.preferred) == 0 {
		return 0
	}
	var raw, pos, neg float64
	for i := range p.preferred {
		t := &p.preferred[i]
		w := float64(t.weight)
		if w > 0 {
			pos += w
		} else {
			neg -= w
		}
		if v, ok := n.Node.Labels[t.key]; ok && t.domains[v] > 0 {
			raw += w
		}
	}
	return (raw + neg) / (pos + neg) * MaxScore
}

// TopologySpread enforces DoNotSchedule topology spread constraints: placing the pod must not
// leave its domain more than maxSkew above the least loaded domain. Domains are the values of
// the key on every node that carries it (Kubernetes narrows them to nodes the pod's node
// affinity admits; wasmkube does not).
type TopologySpread struct{}

// Name implements Filter.
func (TopologySpread) Name() string { return "PodTopologySpread" }

// Filter implements Filter.
func (TopologySpread) Filter(p *PodInfo, n *NodeInfo) (bool, string) {
	for i := range p.spread {
		c := &p.spread[i]
		if !c.hard {
			continue
		}
		v, ok := n.Node.Labels[c.key]
		if !ok {
			return false, ReasonSpreadMissingLabel
		}
		if c.counts[v]+c.self-c.min > c.maxSkew {
			return false, ReasonTopologySpread
		}
	}
	return true, ""
}

func (TopologySpread) skipFor(p *PodInfo) bool {
	for i := range p.spread {
		if p.spread[i].hard {
			return false
		}
	}
	return true
}

func (TopologySpread) constFor(p *PodInfo) (float64, bool) {
	for i := range p.spread {
		if !p.spread[i].hard {
			return 0, false
		}
	}
	return 0, true
}

// Score implements Scorer for ScheduleAnyway constraints: the emptier the node's domain, the
// higher, MaxScore when domains are even.
func (TopologySpread) Score(p *PodInfo, n *NodeInfo) float64 {
	var sum float64
	soft := 0
	for i := range p.spread {
		c := &p.spread[i]
		if c.hard {
			continue
		}
		soft++
		v, ok := n.Node.Labels[c.key]
		if !ok {
			continue
		}
		sum += float64(c.max-c.counts[v]+1) / float64(c.max-c.min+1)
	}
	if soft == 0 {
		return 0
	}
	return sum / float64(soft) * MaxScore
}
