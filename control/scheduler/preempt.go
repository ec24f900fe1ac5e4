package scheduler

import (
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// Reasons of a preemption search, per node, in Kubernetes' words.
const (
	ReasonPreemptionNotHelpful = "Preemption is not helpful for scheduling"
	ReasonNoVictims            = "No preemption victims found for incoming pod"
)

// Messages of a pod that may not preempt, as Kubernetes words them.
const (
	NotEligibleNever       = "not eligible due to preemptionPolicy=Never."
	NotEligibleTerminating = "not eligible due to a terminating pod on the nominated node."
)

// Preemption is the outcome of a preemption search for a pod that fits nowhere.
type Preemption struct {
	// Node is where evicting Victims makes the pod fit, or "" when no node does.
	Node string
	// Victims are the pods to evict, most important first.
	Victims []*api.Pod
	// Total is how many nodes were considered; Reasons counts them by why preemption does
	// not help there (ReasonPreemptionNotHelpful, ReasonNoVictims).
	Total   int
	Reasons map[string]int
	// NotEligible, when set, is why the pod may not preempt at all; nothing was searched.
	NotEligible string
}

// Message explains a failed preemption the way kube-scheduler appends it to the scheduling
// failure: "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming
// pod." It is "" when preemption found a node.
func (p Preemption) Message() string {
	switch {
	case p.NotEligible != "":
		return "preemption: " + p.NotEligible
	case p.Node != "":
		return ""
	}
	return "preemption: " + availability(p.Total, p.Reasons) + "."
}

// Explain is the full explanation of a pod that fits nowhere: the decision's message, then
// the preemption's when it did not make room, as kube-scheduler's FitError words them:
// "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No
// preemption victims found for incoming pod."
func Explain(d Decision, p Preemption) string {
	if m := p.Message(); m != "" {
		return d.Message() + " " + m
	}
	return d.Message()
}

// unresolvable reports whether a filter's reason is one that evicting pods cannot change
// (kube-scheduler's UnschedulableAndUnresolvable): the node's state, labels and taints, and
// required pod affinity.
func unresolvable(reason string) bool {
	switch reason {
	case ReasonNotReady, ReasonUnschedulable, ReasonNodeSelector, ReasonNodeName,
		ReasonPodAffinity, ReasonSpreadMissingLabel:
		return true
	}
	return strings.HasPrefix(reason, "node(s) had untolerated taint")
}

// moreImportant orders pods as kube-scheduler's MoreImportantPod: higher priority first, then
// the one that started (or was created) earlier, then by key for a stable order.
func moreImportant(a, b *api.Pod) bool {
	pa, pb := api.PodPriority(&a.Spec), api.PodPriority(&b.Spec)
	if pa != pb {
		return pa > pb
	}
	ta, tb := startTime(a), startTime(b)
	if !ta.Equal(tb.Time) {
		return ta.Before(tb.Time)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

func startTime(p *api.Pod) api.Time {
	if p.Status.StartTime != nil && !p.Status.StartTime.IsZero() {
		return *p.Status.StartTime
	}
	return p.CreationTimestamp
}

// Eligible reports whether pod may preempt others, and if not why (kube-scheduler's
// PodEligibleToPreemptOthers): its preemptionPolicy is not Never, and the node it is already
// nominated to holds no lower-priority pod still terminating, since that pod's room is on its
// way.
func (s *Snapshot) Eligible(pod *PodInfo) (bool, string) {
	if api.PodPreemptionPolicy(&pod.Pod.Spec) == api.PreemptNever {
		return false, NotEligibleNever
	}
	ni := s.nodes[s.nominatedTo[pod.Key]]
	if ni == nil {
		return true, ""
	}
	for key := range ni.Pods {
		if p := s.placed[key].pod; p != nil && p.DeletionTimestamp != nil && api.PodPriority(&p.Spec) < pod.Priority {
			return false, NotEligibleTerminating
		}
	}
	return true, ""
}

// Preempt finds the node where evicting pods of lower priority than pod makes it pass every
// filter, and the fewest such pods to evict there, as kube-scheduler's DefaultPreemption
// does: on each node where the failure is one eviction can fix, remove every lower-priority
// pod, check the pod fits, then give back the most important of them one by one while it
// still fits. Among the nodes that work, the one whose most important victim has the lowest
// priority wins, then the one with fewest victims, then the lowest sum of victim priorities,
// then the first found; before all of these, as kube-scheduler, the node whose victims violate
// the fewest PodDisruptionBudgets (SetBudgets) wins, and on each node the pods whose eviction
// would violate one are the first given back. Like kube-scheduler, the search stops once it
// has found NumCandidates(len(nodes)) nodes that work, visiting nodes from index start and wrapping
// around; when it finds fewer, it has examined every node, so a failure's explanation counts
// them all. Pods already terminating are not victims. Rules about other
// pods (affinity, spread) are judged as prepared for the cluster as it is, victims included,
// so a node blocked by a victim's anti-affinity is not a candidate (kube-scheduler would
// consider it). Preempt reads the snapshot and changes nothing; pod must be prepared
// (Snapshot.Prepare) and not eligible pods (Eligible) are the caller's to turn away.
func (s *Snapshot) Preempt(pod *PodInfo, filters []Filter, start int) Preemption {
	nodes := s.Nodes()
	res := Preemption{Total: len(nodes), Reasons: map[string]int{}}
	if len(nodes) == 0 {
		return res
	}
	start %= len(nodes)
	if start < 0 {
		start = 0
	}
	want, found := NumCandidates(len(nodes)), 0
	lower := false
	for pr := range s.priorities {
		if pr < pod.Priority {
			lower = true
			break
		}
	}
	var best *candidate
	for i := 0; i < len(nodes) && found < want; i++ {
		ni := nodes[(start+i)%len(nodes)]
		ok, reason := runFilters(pod, ni, filters)
		switch {
		case ok:
			// It fits as things are (a nomination's room, or a change since the decision):
			// a candidate with nothing to evict.
			c := &candidate{node: ni.Name}
			if best == nil || c.better(best) {
				best = c
			}
			found++
			continue
		case unresolvable(reason):
			res.Reasons[ReasonPreemptionNotHelpful]++
			continue
		case !lower:
			res.Reasons[ReasonNoVictims]++
			continue
		}
		c := s.victimsOn(pod, ni, filters)
		if c == nil {
			res.Reasons[ReasonNoVictims]++
			continue
		}
		if best == nil || c.better(best) {
			best = c
		}
		found++
	}
	if best != nil {
		res.Node, res.Victims, res.Reasons = best.node, best.victims, nil
	}
	return res
}

// NumCandidates is how many nodes where preemption works a search looks for among total
// nodes before choosing, as kube-scheduler's DefaultPreemption: 10% of them, at least 100.
func NumCandidates(total int) int { return min(total, max(total/10, 100)) }

func runFilters(pod *PodInfo, n *NodeInfo, filters []Filter) (bool, string) {
	for _, f := range filters {
		if ok, reason := f.Filter(pod, n); !ok {
			return false, reason
		}
	}
	return true, ""
}

// candidate is a node and the pods to evict there.
type candidate struct {
	node       string
	victims    []*api.Pod
	violations int   // victims whose eviction violates a PodDisruptionBudget
	highest    int32 // priority of the most important victim
	sum        int64
}

func (c *candidate) better(o *candidate) bool {
	switch {
	case len(c.victims) == 0 || len(o.victims) == 0:
		return len(c.victims) == 0 && len(o.victims) > 0
	case c.violations != o.violations:
		return c.violations < o.violations
	case c.highest != o.highest:
		return c.highest < o.highest
	case len(c.victims) != len(o.victims):
		return len(c.victims) < len(o.victims)
	}
	return c.sum < o.sum
}

// victimsOn returns the fewest lower-priority pods of ni whose eviction lets pod pass every
// filter, or nil when evicting all of them does not.
func (s *Snapshot) victimsOn(pod *PodInfo, ni *NodeInfo, filters []Filter) *candidate {
	var potential []*api.Pod
	var freed Resources
	for key, req := range ni.Pods {
		p := s.placed[key].pod
		if p == nil || p.DeletionTimestamp != nil || api.PodPriority(&p.Spec) >= pod.Priority {
			continue
		}
		potential = append(potential, p)
		freed = freed.Add(req)
	}
	if len(potential) == 0 {
		return nil
	}
	// A copy of the node without the potential victims: the same node object, its own
	// accounting and caches, so the snapshot is untouched.
	h := *ni
	h.Pods, h.input, h.pos = nil, nil, -1
	h.Requested = ni.Requested.Sub(freed)
	h.changed()
	if ok, _ := runFilters(pod, &h, filters); !ok {
		return nil
	}
	sort.Slice(potential, func(i, j int) bool { return moreImportant(potential[i], potential[j]) })
	c := &candidate{node: ni.Name}
	// As kube-scheduler, try to keep the pods whose eviction would violate a disruption
	// budget first, then the others, each group most important first.
	violating, nonViolating := s.splitByBudget(potential)
	reprieve := func(p *api.Pod) bool {
		req := ni.Pods[podKey(p)]
		h.Requested = h.Requested.Add(req)
		h.changed()
		if ok, _ := runFilters(pod, &h, filters); ok {
			return true
		}
		h.Requested = h.Requested.Sub(req)
		h.changed()
		c.victims = append(c.victims, p)
		c.sum += int64(api.PodPriority(&p.Spec))
		return false
	}
	for _, p := range violating {
		if !reprieve(p) {
			c.violations++
		}
	}
	for _, p := range nonViolating {
		reprieve(p)
	}
	if len(violating) > 0 {
		// Victims in importance order again (without budgets they already are).
		sort.Slice(c.victims, func(i, j int) bool { return moreImportant(c.victims[i], c.victims[j]) })
	}
	if len(c.victims) > 0 {
		c.highest = api.PodPriority(&c.victims[0].Spec)
	}
	return c
}
