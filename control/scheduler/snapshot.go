// Package scheduler owns pod placement: it keeps a snapshot of nodes and of the pods placed on
// them, picks a node for each pending pod with filter and score plugins, explains a failure the
// way Kubernetes words it, and binds through the API's binding subresource. Deciding is a pure
// function of the snapshot (schedule.go); the loop around it (scheduler.go) watches and writes.
// It does not run pods, and it never touches etcd.
package scheduler

import (
	"sort"

	"github.com/wasmkube/wasmkube/control/api"
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

// PodInfo is a pod prepared for scheduling: its requests are summed once, not per node.
type PodInfo struct {
	Pod      *api.Pod
	Key      string // namespace/name
	Requests Resources
}

// NewPodInfo prepares pod for scheduling.
func NewPodInfo(pod *api.Pod) *PodInfo {
	cpu, mem := api.PodRequests(&pod.Spec)
	return &PodInfo{Pod: pod, Key: pod.Namespace + "/" + pod.Name,
		Requests: Resources{MilliCPU: cpu, Memory: mem, Pods: 1}}
}

// NodeInfo is a node and what is already placed on it.
type NodeInfo struct {
	Node        *api.Node
	Name        string
	Allocatable Resources
	Requested   Resources
	Ready       bool
	// Pods placed on the node, by namespace/name, with the requests counted for each.
	Pods map[string]Resources
}

// NewNodeInfo prepares node for scheduling, with nothing placed on it yet.
func NewNodeInfo(node *api.Node) *NodeInfo {
	ni := &NodeInfo{Name: node.Name, Pods: map[string]Resources{}}
	ni.SetNode(node)
	return ni
}

// SetNode replaces the node object, keeping what is placed on it.
func (ni *NodeInfo) SetNode(node *api.Node) {
	ni.Node = node
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
	ni.Ready = false
	for _, c := range node.Status.Conditions {
		if c.Type == api.NodeReady {
			ni.Ready = c.Status == api.ConditionTrue
		}
	}
}

// AddPod counts a pod against the node; adding the same pod twice counts it once.
func (ni *NodeInfo) AddPod(key string, req Resources) {
	if old, ok := ni.Pods[key]; ok {
		ni.Requested = ni.Requested.Sub(old)
	}
	ni.Pods[key] = req
	ni.Requested = ni.Requested.Add(req)
}

// RemovePod stops counting a pod against the node.
func (ni *NodeInfo) RemovePod(key string) {
	if old, ok := ni.Pods[key]; ok {
		ni.Requested = ni.Requested.Sub(old)
		delete(ni.Pods, key)
	}
}

// Snapshot is the scheduler's view of the cluster: every node and the pods placed on each.
// It is not safe for concurrent use; the scheduler loop owns it.
type Snapshot struct {
	nodes map[string]*NodeInfo
	list  []*NodeInfo // stable order for deterministic decisions
	dirty bool
	// placed remembers where each placed pod is, so a pod moving or going is uncounted, and a
	// pod seen before its node is counted when the node arrives.
	placed map[string]placement
}

type placement struct {
	node string
	req  Resources
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{nodes: map[string]*NodeInfo{}, placed: map[string]placement{}}
}

// SetNode adds or updates a node.
func (s *Snapshot) SetNode(node *api.Node) {
	if ni, ok := s.nodes[node.Name]; ok {
		ni.SetNode(node)
		return
	}
	ni := NewNodeInfo(node)
	s.nodes[node.Name] = ni
	for key, p := range s.placed {
		if p.node == node.Name {
			ni.AddPod(key, p.req)
		}
	}
	s.dirty = true
}

// RemoveNode forgets a node. Pods still bound to it stay recorded, so they count again if the
// node comes back.
func (s *Snapshot) RemoveNode(name string) {
	if _, ok := s.nodes[name]; ok {
		delete(s.nodes, name)
		s.dirty = true
	}
}

// SetPod records where a pod is placed (nodeName "" or a terminal pod: not placed).
func (s *Snapshot) SetPod(key, nodeName string, req Resources) {
	if old, ok := s.placed[key]; ok && old.node != nodeName {
		if ni := s.nodes[old.node]; ni != nil {
			ni.RemovePod(key)
		}
		delete(s.placed, key)
	}
	if nodeName == "" {
		return
	}
	s.placed[key] = placement{node: nodeName, req: req}
	if ni := s.nodes[nodeName]; ni != nil {
		ni.AddPod(key, req)
	}
}

// RemovePod forgets a pod.
func (s *Snapshot) RemovePod(key string) { s.SetPod(key, "", Resources{}) }

// Node returns a node's info.
func (s *Snapshot) Node(name string) (*NodeInfo, bool) {
	ni, ok := s.nodes[name]
	return ni, ok
}

// Nodes returns every node in a stable order (by name).
func (s *Snapshot) Nodes() []*NodeInfo {
	if s.dirty {
		s.list = s.list[:0]
		for _, ni := range s.nodes {
			s.list = append(s.list, ni)
		}
		sortNodes(s.list)
		s.dirty = false
	}
	return s.list
}

func sortNodes(list []*NodeInfo) {
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
}
