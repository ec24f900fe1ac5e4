// Package scheduler owns pod placement: it keeps a snapshot of nodes and of the pods placed on
// them, picks a node for each pending pod with filter and score plugins, explains a failure the
// way Kubernetes words it, and binds through the API's binding subresource. Deciding is a pure
// function of the snapshot (schedule.go); the loop around it (scheduler.go) watches and writes.
// It does not run pods, and it never touches etcd.
//
// The built-in plugins are Kubernetes' (plugins.go, nodeplugins.go, interpod.go): node ready
// and schedulable, node name, nodeSelector and node affinity, taints and tolerations, resources
// fit, pod (anti-)affinity and topology spread; scores for least or most allocated, preferred
// node and pod affinity, spread, untolerated PreferNoSchedule taints and module locality.
// SchedulingPolicy objects (policies.go) add CEL filters and scores. Pending pods wait in a
// priority queue (queue.go); a decision examines a bounded sample of nodes (ScheduleSample).
// A pod that fits nowhere may preempt pods of lower priority (preempt.go, as kube-scheduler's
// DefaultPreemption): the scheduler deletes the victims through the API and nominates the
// node, whose room it keeps for the pod until it lands.
package scheduler

import (
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/policy"
)

// Resources is an amount of the resources the scheduler accounts for.
type Resources struct {
	MilliCPU int64
	Memory   int64
	Pods     int64
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.MilliCPU + o.MilliCPU, r.Memory + o.Memory, r.Pods + o.Pods}
}

// Sub returns r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{r.MilliCPU - o.MilliCPU, r.Memory - o.Memory, r.Pods - o.Pods}
}

// PodInfo is a pod prepared for scheduling: its requests are summed once, not per node, and
// Snapshot.Prepare works out, once per decision, what its pod (anti-)affinity and topology
// spread rules mean for the cluster as it is, so the per-node filters are map lookups.
type PodInfo struct {
	Pod      *api.Pod
	Key      string // namespace/name
	Requests Resources
	Priority int32

	// Set by Snapshot.Prepare (nil or empty when the pod has no such rules).
	affinity     []domainTerm  // required pod affinity: the node's domain must hold a match
	antiAffinity []domainTerm  // required anti-affinity, the pod's own and existing pods'
	preferred    []domainTerm  // preferred (anti-)affinity, weight negative for anti
	spread       []spreadState // topology spread constraints
	// Policies are the scheduling policies whose podSelector matches the pod, and its CEL
	// input; set by Policies.Prepare.
	Policies []*Policy
	input    *policy.PodInput
	// filters and scores are the policies with a filter and with a score, each with the memo
	// table of its results for pods that read as this one does (nil: not reusable).
	filters, scores []policyMemo
	// snap is the snapshot that prepared the pod: policy results are memoized only for its
	// nodes.
	snap *Snapshot
}

// NewPodInfo prepares pod for scheduling.
func NewPodInfo(pod *api.Pod) *PodInfo {
	cpu, mem := api.PodRequests(&pod.Spec)
	return &PodInfo{Pod: pod, Key: pod.Namespace + "/" + pod.Name,
		Requests: Resources{MilliCPU: cpu, Memory: mem, Pods: 1}, Priority: api.PodPriority(&pod.Spec)}
}

// ModulesAnnotation lists, comma-separated, the module references (name:tag or
// name@sha256:...) a runner holds compiled; the ImageLocality scorer prefers nodes that hold a
// pod's modules. Runners write it; wasmkube does not use node.status.images, which is sized for
// container images.
const ModulesAnnotation = "wasmkube.io/modules"

// NodeInfo is a node and what is already placed on it.
//
// The fields a decision reads for every node it examines (gen, the resources, readiness and
// the node facts worked out by SetNode) come first, within one 64-byte cache line, so that a
// search over thousands of nodes touches one line per node it rejects.
type NodeInfo struct {
	// gen changes whenever the node or what is placed on it does, so memoized policy
	// results (policies.go) know they are stale. In a snapshot it is drawn from the
	// snapshot's counter, so no two nodes, or states of a node, share one.
	gen         uint64
	Allocatable Resources
	Requested   Resources
	// pos is the node's index in its snapshot's Nodes(), by which policy results are
	// memoized; -1 when the node is in no snapshot.
	pos   int32
	Ready bool
	// facts are what SetNode works out of the node object for the filters (nodeFact bits).
	facts nodeFact
	// objGen is gen as of the last change of the node object, not of what is placed on it:
	// results of policies that do not read node.requested hold while it is unchanged.
	objGen uint64

	Node *api.Node
	Name string
	// Pods placed on the node, by namespace/name, with the requests counted for each.
	Pods map[string]Resources
	// Modules are the module references of ModulesAnnotation.
	Modules map[string]bool
	// nominated are pending pods that preempted pods here and wait for the room: ResourcesFit
	// keeps their requests free from pods of no higher priority.
	nominated []nominee

	// input is the node prepared for CEL, made on first use and dropped when the node
	// changes; inputReq is the Requested it was made with.
	input    *policy.NodeInput
	inputReq Resources
	// snap is the snapshot holding the node, nil for a node on its own.
	snap *Snapshot
}

// objectChanged gives the node a new gen and objGen.
func (ni *NodeInfo) objectChanged() {
	ni.changed()
	ni.objGen = ni.gen
}

// changed gives the node a new gen.
func (ni *NodeInfo) changed() {
	if ni.snap != nil {
		ni.snap.gens++
		ni.gen = ni.snap.gens
	} else {
		ni.gen++
	}
}

// nodeFact is a fact of a node the filters read, kept in NodeInfo.facts.
type nodeFact uint8

const (
	factUnschedulable nodeFact = 1 << iota // spec.unschedulable
	factHardTaints                         // a NoSchedule or NoExecute taint
	factSoftTaints                         // a PreferNoSchedule taint
	factNominated                          // pods are nominated to the node
	factModules                            // the node lists modules it holds (ModulesAnnotation)
)

func (ni *NodeInfo) setFact(f nodeFact, on bool) {
	if on {
		ni.facts |= f
	} else {
		ni.facts &^= f
	}
}

// NewNodeInfo prepares node for scheduling, with nothing placed on it yet.
func NewNodeInfo(node *api.Node) *NodeInfo {
	ni := &NodeInfo{Name: node.Name, Pods: map[string]Resources{}, pos: -1}
	ni.SetNode(node)
	return ni
}

// SetNode replaces the node object, keeping what is placed on it.
func (ni *NodeInfo) SetNode(node *api.Node) {
	ni.Node = node
	ni.objectChanged()
	a := node.Status.Allocatable
	if len(a) == 0 {
		a = node.Status.Capacity
	}
	ni.Allocatable = Resources{}
	if q, ok := a[api.ResourceCPU]; ok {
		ni.Allocatable.MilliCPU = q.MilliValue()
	}
	if q, ok := a[api.ResourceMemory]; ok {
		ni.Allocatable.Memory = q.Value()
	}
	if q, ok := a[api.ResourcePods]; ok {
		ni.Allocatable.Pods = q.Value()
	}
	ni.input = nil
	ni.Modules = nil
	if m := node.Annotations[ModulesAnnotation]; m != "" {
		ni.Modules = map[string]bool{}
		for _, ref := range strings.Split(m, ",") {
			if ref = strings.TrimSpace(ref); ref != "" {
				ni.Modules[ref] = true
			}
		}
	}
	ni.Ready = false
	for _, c := range node.Status.Conditions {
		if c.Type == api.NodeReady {
			ni.Ready = c.Status == api.ConditionTrue
		}
	}
	hard, soft := false, false
	for i := range node.Spec.Taints {
		if node.Spec.Taints[i].Effect == api.TaintPreferNoSchedule {
			soft = true
		} else {
			hard = true
		}
	}
	ni.setFact(factModules, len(ni.Modules) > 0)
	ni.setFact(factUnschedulable, node.Spec.Unschedulable)
	ni.setFact(factHardTaints, hard)
	ni.setFact(factSoftTaints, soft)
}

// AddPod counts a pod against the node; adding the same pod twice counts it once (and
// changes nothing: the updates a pod goes through after it is bound leave the node's memoized
// policy results in place).
func (ni *NodeInfo) AddPod(key string, req Resources) {
	old, ok := ni.Pods[key]
	if ok && old == req {
		return
	}
	if ok {
		ni.Requested = ni.Requested.Sub(old)
	}
	ni.Pods[key] = req
	ni.Requested = ni.Requested.Add(req)
	ni.changed()
}

// RemovePod stops counting a pod against the node.
func (ni *NodeInfo) RemovePod(key string) {
	if old, ok := ni.Pods[key]; ok {
		ni.Requested = ni.Requested.Sub(old)
		delete(ni.Pods, key)
		ni.changed()
	}
}

type nominee struct {
	key      string
	priority int32
	req      Resources
}

// reservedFor is what the pods nominated to the node keep free from p: the requests of
// those of p's priority or higher, p itself aside, as Kubernetes counts nominated pods.
func (ni *NodeInfo) reservedFor(p *PodInfo) Resources {
	var r Resources
	for _, n := range ni.nominated {
		if n.priority >= p.Priority && n.key != p.Key {
			r = r.Add(n.req)
		}
	}
	return r
}

// PolicyInput returns the node prepared for CEL in env, made on first use and kept until the
// node or what is placed on it changes. It is a cache: calling it does not change the node.
func (ni *NodeInfo) PolicyInput(env *policy.SchedulingEnv) *policy.NodeInput {
	req := policy.Requested{MilliCPU: ni.Requested.MilliCPU, Memory: ni.Requested.Memory, Pods: ni.Requested.Pods}
	switch {
	case ni.input == nil:
		ni.input = env.NewNodeInput(ni.Node, req)
	case ni.inputReq != ni.Requested:
		ni.input = ni.input.WithRequested(req)
	default:
		return ni.input
	}
	ni.inputReq = ni.Requested
	return ni.input
}

// Snapshot is the scheduler's view of the cluster: every node, the pods placed on each, and
// indexes of placed pods by label and of nodes by label, so rules about other pods (affinity,
// spread) never scan every pod. It is not safe for concurrent use; the scheduler loop owns it.
type Snapshot struct {
	nodes map[string]*NodeInfo
	list  []*NodeInfo // stable order for deterministic decisions
	dirty bool
	// placed remembers where each placed pod is, so a pod moving or going is uncounted, and a
	// pod seen before its node is counted when the node arrives.
	placed map[string]placement
	// byLabel indexes placed pods by "key=value" of each label.
	byLabel map[string]map[string]struct{}
	// withAnti are the placed pods with required anti-affinity terms (checked against every
	// incoming pod, as Kubernetes does for symmetry).
	withAnti map[string]struct{}
	// domains counts nodes by label key and value: the topology domains.
	domains map[string]map[string]int
	// nominations are the pending pods nominated to a node by preemption, by key.
	nominatedTo map[string]string // pod key -> node
	nominees    map[string]nominee
	// priorities counts placed pods (those with their object) by priority, so preemption
	// knows at once when there is nothing of lower priority to evict.
	priorities map[int32]int
	// budgets are the PodDisruptionBudgets preemption prefers not to violate.
	budgets []*api.PodDisruptionBudget
	// gens is the last NodeInfo.gen given out.
	gens uint64
}

type placement struct {
	node string
	req  Resources
	pod  *api.Pod // nil when recorded through SetPod
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{nodes: map[string]*NodeInfo{}, placed: map[string]placement{},
		byLabel: map[string]map[string]struct{}{}, withAnti: map[string]struct{}{},
		domains: map[string]map[string]int{}, nominatedTo: map[string]string{}, nominees: map[string]nominee{},
		priorities: map[int32]int{}}
}

func (s *Snapshot) countDomains(l map[string]string, d int) {
	for k, v := range l {
		m := s.domains[k]
		if m == nil {
			m = map[string]int{}
			s.domains[k] = m
		}
		if m[v] += d; m[v] <= 0 {
			delete(m, v)
		}
	}
}

// SetNode adds or updates a node.
func (s *Snapshot) SetNode(node *api.Node) {
	if ni, ok := s.nodes[node.Name]; ok {
		s.countDomains(ni.Node.Labels, -1)
		s.countDomains(node.Labels, 1)
		ni.SetNode(node)
		return
	}
	s.countDomains(node.Labels, 1)
	ni := NewNodeInfo(node)
	ni.snap = s
	ni.objectChanged()
	s.nodes[node.Name] = ni
	for key, p := range s.placed {
		if p.node == node.Name {
			ni.AddPod(key, p.req)
		}
	}
	for key, p := range s.nominatedTo {
		if p == node.Name {
			ni.nominated = append(ni.nominated, s.nominee(key))
		}
	}
	ni.setFact(factNominated, len(ni.nominated) > 0)
	s.dirty = true
}

// RemoveNode forgets a node. Pods still bound to it stay recorded, so they count again if the
// node comes back.
func (s *Snapshot) RemoveNode(name string) {
	if ni, ok := s.nodes[name]; ok {
		s.countDomains(ni.Node.Labels, -1)
		delete(s.nodes, name)
		ni.pos, ni.snap = -1, nil
		s.dirty = true
	}
}

// SetPod records where a pod is placed (nodeName "" or a terminal pod: not placed), counting
// only its requests: rules about other pods do not see it. The scheduler uses PlacePod.
func (s *Snapshot) SetPod(key, nodeName string, req Resources) {
	s.place(key, nodeName, req, nil)
}

// PlacePod records that pi's pod is placed on nodeName ("" : not placed), with its labels, so
// affinity and spread rules of later pods count it.
func (s *Snapshot) PlacePod(pi *PodInfo, nodeName string) {
	s.place(pi.Key, nodeName, pi.Requests, pi.Pod)
}

func (s *Snapshot) place(key, nodeName string, req Resources, pod *api.Pod) {
	s.Nominate(key, "", 0, Resources{})
	if old, ok := s.placed[key]; ok {
		if ni := s.nodes[old.node]; ni != nil && old.node != nodeName {
			ni.RemovePod(key)
		}
		s.unindex(key, old.pod)
		delete(s.placed, key)
	}
	if nodeName == "" {
		return
	}
	s.placed[key] = placement{node: nodeName, req: req, pod: pod}
	s.index(key, pod)
	if ni := s.nodes[nodeName]; ni != nil {
		ni.AddPod(key, req)
	}
}

func labelKey(k, v string) string { return k + "=" + v }

func (s *Snapshot) index(key string, pod *api.Pod) {
	if pod == nil {
		return
	}
	s.priorities[api.PodPriority(&pod.Spec)]++
	for k, v := range pod.Labels {
		set := s.byLabel[labelKey(k, v)]
		if set == nil {
			set = map[string]struct{}{}
			s.byLabel[labelKey(k, v)] = set
		}
		set[key] = struct{}{}
	}
	if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
		s.withAnti[key] = struct{}{}
	}
}

func (s *Snapshot) unindex(key string, pod *api.Pod) {
	if pod == nil {
		return
	}
	pr := api.PodPriority(&pod.Spec)
	if s.priorities[pr]--; s.priorities[pr] <= 0 {
		delete(s.priorities, pr)
	}
	for k, v := range pod.Labels {
		if set := s.byLabel[labelKey(k, v)]; set != nil {
			delete(set, key)
			if len(set) == 0 {
				delete(s.byLabel, labelKey(k, v))
			}
		}
	}
	delete(s.withAnti, key)
}

// matching calls f for every placed pod (with its node) that sel matches in one of
// namespaces. It reads the label index: a selector with a matchLabels pair or an In
// expression visits only the pods carrying one of those labels; any other selector visits
// every placed pod.
func (s *Snapshot) matching(sel labels.Selector, namespaces map[string]bool, f func(pod *api.Pod, node string)) {
	visit := func(key string) {
		p := s.placed[key]
		if p.pod == nil || !namespaces[p.pod.Namespace] || !sel.Matches(labels.Set(p.pod.Labels)) {
			return
		}
		f(p.pod, p.node)
	}
	var best []string
	bestN := -1
	for _, r := range sel.Requirements() {
		var keys []string
		n := 0
		switch r.Operator {
		case labels.Equals, labels.DoubleEquals, labels.In:
			for _, v := range r.Values {
				keys = append(keys, labelKey(r.Key, v))
				n += len(s.byLabel[labelKey(r.Key, v)])
			}
		default:
			continue
		}
		if bestN < 0 || n < bestN {
			best, bestN = keys, n
		}
	}
	if bestN < 0 {
		for key := range s.placed {
			visit(key)
		}
		return
	}
	for _, lk := range best {
		for key := range s.byLabel[lk] {
			visit(key)
		}
	}
}

// RemovePod forgets a pod, and its nomination.
func (s *Snapshot) RemovePod(key string) { s.SetPod(key, "", Resources{}) }

// Nominate records that the pending pod key, of the given priority and requests, waits for
// room on node that preemption is making ("": no longer nominated). Placing or removing the
// pod drops its nomination.
func (s *Snapshot) Nominate(key, node string, priority int32, req Resources) {
	if old, ok := s.nominatedTo[key]; ok {
		if old == node {
			if ni := s.nodes[node]; ni != nil {
				for i := range ni.nominated {
					if ni.nominated[i].key == key {
						ni.nominated[i].priority, ni.nominated[i].req = priority, req
					}
				}
			}
			return
		}
		if ni := s.nodes[old]; ni != nil {
			for i := range ni.nominated {
				if ni.nominated[i].key == key {
					ni.nominated = append(ni.nominated[:i], ni.nominated[i+1:]...)
					ni.setFact(factNominated, len(ni.nominated) > 0)
					ni.changed()
					break
				}
			}
		}
		delete(s.nominatedTo, key)
		delete(s.nominees, key)
	}
	if node == "" {
		return
	}
	s.nominatedTo[key] = node
	s.nominees[key] = nominee{key: key, priority: priority, req: req}
	if ni := s.nodes[node]; ni != nil {
		ni.nominated = append(ni.nominated, s.nominee(key))
		ni.setFact(factNominated, true)
		ni.changed()
	}
}

// Displace drops the nominations to node of pods with lower priority than priority, whose
// room a preemption by a more important pod takes, and returns their keys.
func (s *Snapshot) Displace(node string, priority int32) []string {
	ni := s.nodes[node]
	if ni == nil {
		return nil
	}
	var keys []string
	for _, n := range ni.nominated {
		if n.priority < priority {
			keys = append(keys, n.key)
		}
	}
	for _, k := range keys {
		s.Nominate(k, "", 0, Resources{})
	}
	return keys
}

func (s *Snapshot) nominee(key string) nominee { return s.nominees[key] }

// NominatedNode returns the node the pod key is nominated to, or "".
func (s *Snapshot) NominatedNode(key string) string { return s.nominatedTo[key] }

// Node returns a node's info. The pointer it and Nodes return is the node's until a node is
// added or removed: the next Nodes call then moves every node (see Nodes).
func (s *Snapshot) Node(name string) (*NodeInfo, bool) {
	ni, ok := s.nodes[name]
	return ni, ok
}

// Well-known topology labels: Nodes interleaves the zones they name.
const (
	LabelTopologyZone   = "topology.kubernetes.io/zone"
	LabelTopologyRegion = "topology.kubernetes.io/region"
)

// Nodes returns every node in a stable order that interleaves zones, as kube-scheduler's
// node tree does: the first node of each zone (zones by region and zone name), then the
// second of each, and so on, nodes within a zone by name. A bounded search (ScheduleSample)
// therefore samples every zone evenly; with nodes merely sorted by name, zones named in
// runs would make a pod bound to one zone wade through the others first.
func (s *Snapshot) Nodes() []*NodeInfo {
	if s.dirty {
		s.list = s.list[:0]
		for _, ni := range s.nodes {
			s.list = append(s.list, ni)
		}
		sortNodes(s.list)
		s.list = interleaveZones(s.list)
		// The nodes move into one block in search order: a search reads the front of each
		// NodeInfo in turn, which the CPU then streams from memory instead of fetching
		// thousands of scattered lines.
		block := make([]NodeInfo, len(s.list))
		for i, ni := range s.list {
			block[i] = *ni
			block[i].pos = int32(i)
			ni.pos, ni.snap = -1, nil // a stale copy no longer counts as the snapshot's
			s.list[i] = &block[i]
			s.nodes[ni.Name] = &block[i]
		}
		s.dirty = false
	}
	return s.list
}

func zoneOf(n *api.Node) string {
	return n.Labels[LabelTopologyRegion] + ":\x00:" + n.Labels[LabelTopologyZone]
}

// interleaveZones reorders list (sorted by name) round-robin over its zones, in place.
func interleaveZones(list []*NodeInfo) []*NodeInfo {
	byZone := map[string][]*NodeInfo{}
	var zones []string
	for _, ni := range list {
		z := zoneOf(ni.Node)
		if _, ok := byZone[z]; !ok {
			zones = append(zones, z)
		}
		byZone[z] = append(byZone[z], ni)
	}
	if len(zones) < 2 {
		return list
	}
	sort.Strings(zones)
	n := len(list)
	out := list[:0]
	for i := 0; len(out) < n; i++ {
		for _, z := range zones {
			if i < len(byZone[z]) {
				out = append(out, byZone[z][i])
			}
		}
	}
	return out
}

func sortNodes(list []*NodeInfo) {
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
}
