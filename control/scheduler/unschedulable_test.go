package scheduler

import (
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestNodeReadyUnschedulable: a cordoned node takes only pods that tolerate
// node.kubernetes.io/unschedulable:NoSchedule (DaemonSet pods), as Kubernetes'
// NodeUnschedulable; a node that is not Ready takes none.
func TestNodeReadyUnschedulable(t *testing.T) {
	cordoned := node("n1", "1", "1Gi", 10, true, nil)
	cordoned.Spec.Unschedulable = true
	notReady := node("n2", "1", "1Gi", 10, false, nil)
	plain := pod("p", "", "", nil)
	daemon := withTolerations(pod("d", "", "", nil),
		api.Toleration{Key: "node.kubernetes.io/unschedulable", Operator: "Exists", Effect: api.TaintNoSchedule})
	all := withTolerations(pod("a", "", "", nil), api.Toleration{Operator: "Exists"})
	for _, tc := range []struct {
		name   string
		pod    *api.Pod
		node   *api.Node
		reason string
	}{
		{"cordoned, plain pod", plain, cordoned, ReasonUnschedulable},
		{"cordoned, daemon pod", daemon, cordoned, ""},
		{"cordoned, tolerates everything", all, cordoned, ""},
		{"not ready, daemon pod", daemon, notReady, ReasonNotReady},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := NodeReady{}.Filter(NewPodInfo(tc.pod), NewNodeInfo(tc.node))
			if ok != (tc.reason == "") || reason != tc.reason {
				t.Fatalf("Filter = %v %q, want %q", ok, reason, tc.reason)
			}
		})
	}
	// Through a whole placement: only the cordoned node matches the daemon pod's affinity.
	daemon = withNodeAffinity(daemon, []api.NodeSelectorTerm{{MatchFields: []api.NodeSelectorRequirement{
		{Key: "metadata.name", Operator: "In", Values: []string{"n1"}}}}})
	pi := NewPodInfo(daemon)
	for _, n := range []*api.Node{cordoned, node("n3", "1", "1Gi", 10, true, nil)} {
		ok := true
		for _, f := range DefaultFilters() {
			if ok, _ = f.Filter(pi, NewNodeInfo(n)); !ok {
				break
			}
		}
		if ok != (n.Name == "n1") {
			t.Fatalf("daemon pod fits %s = %v", n.Name, ok)
		}
	}
}
