package daemonset

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newNode is a Ready node.
func newNode(name string, labels map[string]string, taints ...api.Taint) *api.Node {
	return &api.Node{ObjectMeta: api.ObjectMeta{Name: name, Labels: labels}, Spec: api.NodeSpec{Taints: taints},
		Status: api.NodeStatus{Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue}}}}
}

// withReady sets n's Ready condition to st, or removes it when st is "".
func withReady(n *api.Node, st api.ConditionStatus) *api.Node {
	n.Status.Conditions = nil
	if st != "" {
		n.Status.Conditions = []api.NodeCondition{{Type: api.NodeReady, Status: st}}
	}
	return n
}

func nodes(n int) []*api.Node {
	var out []*api.Node
	for i := range n {
		out = append(out, newNode(fmt.Sprintf("n%d", i), nil))
	}
	return out
}

func newDS(mutate func(*api.DaemonSet)) *api.DaemonSet {
	ds := &api.DaemonSet{ObjectMeta: api.ObjectMeta{Name: "agent", Namespace: "default", UID: "ds-uid", Generation: 1}}
	ds.Spec.Selector = &api.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}
	ds.Spec.Template.Labels = map[string]string{"app": "agent"}
	ds.Spec.Template.Spec.Containers = []api.Container{{Name: "agent", Image: "agent:v1"}}
	if mutate != nil {
		mutate(ds)
	}
	api.Default(ds)
	api.SetTemplateGeneration(ds, nil)
	return ds
}

// setImage changes the template as an update through the API server would.
func setImage(ds *api.DaemonSet, image string) *api.DaemonSet {
	next := *ds
	next.Annotations = map[string]string{api.AnnotationTemplateGeneration: ds.Annotations[api.AnnotationTemplateGeneration]}
	next.Spec.Template.Spec.Containers = []api.Container{{Name: "agent", Image: image}}
	api.SetTemplateGeneration(&next, ds)
	next.Generation++
	return &next
}

var podSeq int

// podOn is a pod of ds bound to node, made as the controller makes it, Running and Ready
// since readyAt (zero: not ready).
func podOn(ds *api.DaemonSet, node string, readyAt time.Time) *api.Pod {
	p := NewPod(ds, node, TemplateHash(ds))
	podSeq++
	p.Name = fmt.Sprintf("agent-%03d", podSeq)
	p.UID = p.Name
	p.CreationTimestamp = api.Time{Time: t0.Add(time.Duration(podSeq) * time.Second)}
	p.Spec.NodeName = node
	p.Status.Phase = api.PodRunning
	if !readyAt.IsZero() {
		p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.Time{Time: readyAt}}}
	}
	return p
}

func compute(ds *api.DaemonSet, ns []*api.Node, pods []*api.Pod) Plan {
	return Compute(Snapshot{DaemonSet: ds, Nodes: ns, Pods: pods, Hash: TemplateHash(ds), Manage: true, Now: t0.Add(time.Hour)})
}

func names(pods []*api.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Spec.NodeName+"/"+p.Name)
	}
	return strings.Join(out, ",")
}

func TestShouldRun(t *testing.T) {
	taint := func(key, effect string) api.Taint { return api.Taint{Key: key, Effect: effect} }
	for _, tc := range []struct {
		name      string
		node      *api.Node
		mutate    func(*api.DaemonSet)
		run, keep bool
	}{
		{"plain node", newNode("n", nil), nil, true, true},
		{"nodeSelector matches", newNode("n", map[string]string{"zone": "a"}),
			func(ds *api.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} }, true, true},
		{"nodeSelector misses", newNode("n", map[string]string{"zone": "b"}),
			func(ds *api.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} }, false, false},
		{"required affinity misses", newNode("n", map[string]string{"arch": "amd64"}), func(ds *api.DaemonSet) {
			ds.Spec.Template.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
				NodeSelectorTerms: []api.NodeSelectorTerm{{MatchExpressions: []api.NodeSelectorRequirement{{Key: "arch", Operator: "In", Values: []string{"arm64"}}}}}}}}
		}, false, false},
		{"template nodeName elsewhere", newNode("n", nil), func(ds *api.DaemonSet) { ds.Spec.Template.Spec.NodeName = "m" }, false, false},
		{"NoSchedule: no new pod, the running one stays", newNode("n", nil, taint("dedicated", api.TaintNoSchedule)), nil, false, true},
		{"NoExecute: none", newNode("n", nil, taint("dedicated", api.TaintNoExecute)), nil, false, false},
		{"PreferNoSchedule ignored", newNode("n", nil, taint("dedicated", api.TaintPreferNoSchedule)), nil, true, true},
		{"tolerated by the template", newNode("n", nil, taint("dedicated", api.TaintNoExecute)), func(ds *api.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []api.Toleration{{Key: "dedicated", Operator: "Exists"}}
		}, true, true},
		{"cordoned (unschedulable taint) is tolerated", newNode("n", nil, taint(TaintNodeUnschedulable, api.TaintNoSchedule)), nil, true, true},
		{"not-ready NoExecute is tolerated", newNode("n", nil, taint(TaintNodeNotReady, api.TaintNoExecute)), nil, true, true},
		{"unreachable NoExecute is tolerated", newNode("n", nil, taint(TaintNodeUnreachable, api.TaintNoExecute)), nil, true, true},
		{"memory-pressure is tolerated", newNode("n", nil, taint(TaintNodeMemoryPressure, api.TaintNoSchedule)), nil, true, true},
		{"not-ready NoSchedule is not", newNode("n", nil, taint(TaintNodeNotReady, api.TaintNoSchedule)), nil, false, true},
		// Kubernetes' nodes carry condition taints that wasmkube's do not: the Ready condition
		// stands for them.
		{"NotReady: no new pod, the running one stays", withReady(newNode("n", nil), api.ConditionFalse), nil, false, true},
		{"Ready unknown: no new pod, the running one stays", withReady(newNode("n", nil), api.ConditionUnknown), nil, false, true},
		{"no Ready condition yet: unreachable", withReady(newNode("n", nil), ""), nil, false, true},
		{"NotReady tolerated by the template", withReady(newNode("n", nil), api.ConditionFalse), func(ds *api.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []api.Toleration{{Key: TaintNodeNotReady, Operator: "Exists", Effect: api.TaintNoSchedule}}
		}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, keep := ShouldRun(tc.node, newDS(tc.mutate))
			if run != tc.run || keep != tc.keep {
				t.Fatalf("ShouldRun = %v, %v; want %v, %v", run, keep, tc.run, tc.keep)
			}
		})
	}
	t.Run("spec.unschedulable alone", func(t *testing.T) {
		n := newNode("n", nil)
		n.Spec.Unschedulable = true
		if run, _ := ShouldRun(n, newDS(nil)); !run {
			t.Fatal("a cordoned node gets no daemon pod")
		}
	})
}

func TestNewPod(t *testing.T) {
	ds := newDS(func(ds *api.DaemonSet) {
		ds.Spec.Template.Spec.Tolerations = []api.Toleration{{Key: TaintNodeNotReady, Operator: "Exists", Effect: api.TaintNoExecute,
			TolerationSeconds: api.Ptr[int64](30)}}
		ds.Spec.Template.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
			NodeSelectorTerms: []api.NodeSelectorTerm{{MatchExpressions: []api.NodeSelectorRequirement{{Key: "arch", Operator: "In", Values: []string{"arm64"}}}}}}}}
	})
	p := NewPod(ds, "n7", "hash1")
	ref := api.ControllerOf(&p.ObjectMeta)
	if ref == nil || ref.Kind != "DaemonSet" || ref.UID != "ds-uid" || p.GenerateName != "agent-" {
		t.Fatalf("owner %+v generateName %q", ref, p.GenerateName)
	}
	if p.Labels["app"] != "agent" || p.Labels[api.LabelControllerRevisionHash] != "hash1" || p.Labels[api.LabelPodTemplateGeneration] != "1" {
		t.Fatalf("labels %v", p.Labels)
	}
	req := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if len(req.NodeSelectorTerms) != 1 || len(req.NodeSelectorTerms[0].MatchExpressions) != 0 ||
		fmt.Sprint(req.NodeSelectorTerms[0].MatchFields) != "[{metadata.name In [n7]}]" {
		t.Fatalf("affinity %+v", req)
	}
	if len(p.Spec.Tolerations) != 6 || p.Spec.Tolerations[0].TolerationSeconds != nil {
		t.Fatalf("tolerations %+v (the template's not-ready toleration is replaced)", p.Spec.Tolerations)
	}
	if ds.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions == nil {
		t.Fatal("the DaemonSet's template was modified")
	}
}

func TestManage(t *testing.T) {
	ds := newDS(func(ds *api.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"edge": "true"} })
	edge := map[string]string{"edge": "true"}
	ns := []*api.Node{newNode("a", edge), newNode("b", edge), newNode("c", nil),
		newNode("d", edge, api.Taint{Key: "maintenance", Effect: api.TaintNoSchedule}),
		newNode("e", edge, api.Taint{Key: "maintenance", Effect: api.TaintNoExecute})}
	ready := t0
	t.Run("creates one pod per eligible node", func(t *testing.T) {
		p := compute(ds, ns, nil)
		if fmt.Sprint(p.Create) != "[a b]" || len(p.Delete) != 0 {
			t.Fatalf("create %v delete %s", p.Create, names(p.Delete))
		}
		if st := p.Status; st.DesiredNumberScheduled != 2 || st.CurrentNumberScheduled != 0 || st.NumberUnavailable != 2 || st.ObservedGeneration != 1 {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("keeps pods where they may stay, deletes the rest", func(t *testing.T) {
		a, c, d, e := podOn(ds, "a", ready), podOn(ds, "c", ready), podOn(ds, "d", ready), podOn(ds, "e", ready)
		p := compute(ds, ns, []*api.Pod{a, c, d, e})
		if fmt.Sprint(p.Create) != "[b]" || names(p.Delete) != names([]*api.Pod{c, e}) {
			t.Fatalf("create %v delete %s", p.Create, names(p.Delete))
		}
		// d runs on a NoSchedule node: not desired, so misscheduled, as Kubernetes counts it.
		if st := p.Status; st.DesiredNumberScheduled != 2 || st.CurrentNumberScheduled != 1 || st.NumberMisscheduled != 3 ||
			st.NumberReady != 1 || st.NumberAvailable != 1 || st.UpdatedNumberScheduled != 1 {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("duplicates: the oldest stays", func(t *testing.T) {
		old, dup := podOn(ds, "a", ready), podOn(ds, "a", ready)
		p := compute(ds, ns[:2], []*api.Pod{dup, old, podOn(ds, "b", ready)})
		if len(p.Create) != 0 || names(p.Delete) != names([]*api.Pod{dup}) {
			t.Fatalf("create %v delete %s", p.Create, names(p.Delete))
		}
	})
	t.Run("failed pods are replaced after the back-off", func(t *testing.T) {
		failed := podOn(ds, "a", time.Time{})
		failed.Status.Phase = api.PodFailed
		pods := []*api.Pod{failed, podOn(ds, "b", ready)}
		p := compute(ds, ns[:2], pods)
		if names(p.Delete) != names([]*api.Pod{failed}) || fmt.Sprint(p.FailedOn) != "[a]" || len(p.Create) != 0 {
			t.Fatalf("delete %s failedOn %v create %v", names(p.Delete), p.FailedOn, p.Create)
		}
		now := t0.Add(time.Hour)
		p = Compute(Snapshot{DaemonSet: ds, Nodes: ns[:2], Pods: pods, Hash: TemplateHash(ds), Manage: true, Now: now,
			BackoffUntil: map[string]time.Time{"a": now.Add(4 * time.Second)}})
		if len(p.Delete) != 0 || p.RequeueAfter != 4*time.Second {
			t.Fatalf("in back-off: delete %s requeue %v", names(p.Delete), p.RequeueAfter)
		}
	})
	t.Run("unbound pods of a node that is gone", func(t *testing.T) {
		lost := podOn(ds, "gone", time.Time{})
		lost.Spec.NodeName = ""
		bound := podOn(ds, "gone2", ready)
		p := compute(ds, ns[:1], []*api.Pod{podOn(ds, "a", ready), lost, bound})
		if names(p.Delete) != names([]*api.Pod{lost}) {
			t.Fatalf("delete %s (bound pods are the node lifecycle controller's)", names(p.Delete))
		}
	})
	t.Run("unsatisfied expectations: status only", func(t *testing.T) {
		ds := newDS(nil)
		ds.Generation = 2
		ds.Status.ObservedGeneration = 1
		p := Compute(Snapshot{DaemonSet: ds, Nodes: ns, Hash: TemplateHash(ds), Now: t0})
		if len(p.Create)+len(p.Delete) != 0 || p.Status.ObservedGeneration != 1 || p.Status.DesiredNumberScheduled != 3 {
			t.Fatalf("plan %+v", p)
		}
	})
	t.Run("minReadySeconds", func(t *testing.T) {
		ds := newDS(func(ds *api.DaemonSet) { ds.Spec.MinReadySeconds = 30 })
		now := t0.Add(time.Hour)
		p := Compute(Snapshot{DaemonSet: ds, Nodes: ns[:2], Hash: TemplateHash(ds), Manage: true, Now: now,
			Pods: []*api.Pod{podOn(ds, "a", now.Add(-10*time.Second)), podOn(ds, "b", now.Add(-time.Minute))}})
		if st := p.Status; st.NumberReady != 2 || st.NumberAvailable != 1 || st.NumberUnavailable != 1 || p.RequeueAfter <= 19*time.Second || p.RequeueAfter > 21*time.Second {
			t.Fatalf("status %+v requeue %v", st, p.RequeueAfter)
		}
	})
}

// cluster simulates the API and the runners around Compute: created pods appear not ready,
// and become ready (and available) when tick is called; deleted pods vanish.
type cluster struct {
	t     *testing.T
	ds    *api.DaemonSet
	nodes []*api.Node
	pods  []*api.Pod
}

func (c *cluster) step() Plan {
	p := compute(c.ds, c.nodes, c.pods)
	for _, v := range p.Delete {
		c.pods = slices.DeleteFunc(c.pods, func(x *api.Pod) bool { return x == v })
	}
	for _, n := range p.Create {
		c.pods = append(c.pods, podOn(c.ds, n, time.Time{}))
	}
	return p
}

// settle runs the controller until its plan is empty.
func (c *cluster) settle() {
	for range 100 {
		if p := c.step(); len(p.Create)+len(p.Delete) == 0 {
			return
		}
		c.check()
	}
	c.t.Fatal("the controller does not settle")
}

func (c *cluster) ready() {
	for _, p := range c.pods {
		if len(p.Status.Conditions) == 0 {
			p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.Time{Time: t0}}}
		}
	}
}

// counts returns, per node, the pods there, and how many nodes lack an available pod.
func (c *cluster) counts() (perNode map[string]int, unavailable int, updated int) {
	perNode = map[string]int{}
	avail := map[string]bool{}
	hash := TemplateHash(c.ds)
	for _, p := range c.pods {
		perNode[p.Spec.NodeName]++
		if len(p.Status.Conditions) > 0 {
			avail[p.Spec.NodeName] = true
		}
		if p.Labels[api.LabelControllerRevisionHash] == hash {
			updated++
		}
	}
	for _, n := range c.nodes {
		if !avail[n.Name] {
			unavailable++
		}
	}
	return perNode, unavailable, updated
}

var checkLimits struct{ unavailable, perNode int }

func (c *cluster) check() {
	perNode, unavailable, _ := c.counts()
	if unavailable > checkLimits.unavailable {
		c.t.Fatalf("%d nodes without an available pod, limit %d", unavailable, checkLimits.unavailable)
	}
	for n, k := range perNode {
		if k > checkLimits.perNode {
			c.t.Fatalf("%d pods on %s", k, n)
		}
	}
}

func TestRollingUpdate(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ru             api.RollingUpdateDaemonSet
		nodes          int
		perRound       int // nodes replaced per round
		maxUnavailable int
		maxPerNode     int
	}{
		{"maxUnavailable 1", api.RollingUpdateDaemonSet{MaxUnavailable: api.Ptr(api.FromInt(1)), MaxSurge: api.Ptr(api.FromInt(0))}, 5, 1, 1, 1},
		{"maxUnavailable 40% of 5 rounds up to 2", api.RollingUpdateDaemonSet{MaxUnavailable: api.Ptr(api.FromString("40%")), MaxSurge: api.Ptr(api.FromInt(0))}, 5, 2, 2, 1},
		{"maxSurge 1", api.RollingUpdateDaemonSet{MaxUnavailable: api.Ptr(api.FromInt(0)), MaxSurge: api.Ptr(api.FromInt(1))}, 5, 1, 0, 2},
		{"maxSurge 100%", api.RollingUpdateDaemonSet{MaxUnavailable: api.Ptr(api.FromInt(0)), MaxSurge: api.Ptr(api.FromString("100%"))}, 4, 4, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(func(ds *api.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate = &tc.ru })
			c := &cluster{t: t, ds: ds, nodes: nodes(tc.nodes)}
			checkLimits.unavailable, checkLimits.perNode = tc.nodes, 1
			c.settle()
			c.ready()
			c.ds = setImage(ds, "agent:v2")
			checkLimits.unavailable, checkLimits.perNode = tc.maxUnavailable, tc.maxPerNode
			var progress []int
			for round := 0; ; round++ {
				if round > tc.nodes+2 {
					t.Fatalf("no end to the rollout: updated per round %v", progress)
				}
				c.settle()
				_, _, updated := c.counts()
				progress = append(progress, updated)
				c.ready()
				if updated == tc.nodes {
					if _, unavailable, _ := c.counts(); unavailable != 0 {
						t.Fatal("rolled out with unavailable nodes")
					}
					break
				}
			}
			// Each round (new pods becoming available) moves perRound more nodes to the new template.
			for i, u := range progress {
				if want := min((i+1)*tc.perRound, tc.nodes); u != want {
					t.Fatalf("updated nodes per round %v, want steps of %d", progress, tc.perRound)
				}
			}
			c.settle()
			if perNode, _, _ := c.counts(); len(c.pods) != tc.nodes || len(perNode) != tc.nodes {
				t.Fatalf("after the rollout: %d pods on %d nodes", len(c.pods), len(perNode))
			}
			st := compute(c.ds, c.nodes, c.pods).Status
			if st.UpdatedNumberScheduled != int32(tc.nodes) || st.NumberAvailable != int32(tc.nodes) || st.ObservedGeneration != c.ds.Generation {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

func TestOnDelete(t *testing.T) {
	ds := newDS(func(ds *api.DaemonSet) {
		ds.Spec.UpdateStrategy = api.DaemonSetUpdateStrategy{Type: api.OnDeleteDaemonSetStrategy}
	})
	c := &cluster{t: t, ds: ds, nodes: nodes(3)}
	checkLimits.unavailable, checkLimits.perNode = 3, 1
	c.settle()
	c.ready()
	c.ds = setImage(ds, "agent:v2")
	c.settle()
	if _, _, updated := c.counts(); updated != 0 {
		t.Fatalf("OnDelete replaced %d pods by itself", updated)
	}
	c.pods = slices.DeleteFunc(c.pods, func(p *api.Pod) bool { return p.Spec.NodeName == "n1" }) // deleted by hand
	c.settle()
	hash := TemplateHash(c.ds)
	for _, p := range c.pods {
		if (p.Labels[api.LabelControllerRevisionHash] == hash) != (p.Spec.NodeName == "n1") {
			t.Fatalf("pod on %s has hash %s", p.Spec.NodeName, p.Labels[api.LabelControllerRevisionHash])
		}
	}
	if st := compute(c.ds, c.nodes, c.pods).Status; st.UpdatedNumberScheduled != 1 || st.CurrentNumberScheduled != 3 {
		t.Fatalf("status %+v", st)
	}
}

// BenchmarkCompute plans a DaemonSet over 5,000 nodes, each with its pod, mid-rollout.
func BenchmarkCompute(b *testing.B) {
	ds := newDS(nil)
	ns := nodes(5000)
	var pods []*api.Pod
	for i, n := range ns {
		p := podOn(ds, n.Name, t0)
		if i%2 == 0 {
			p.Labels[api.LabelControllerRevisionHash] = "old"
			p.Labels[api.LabelPodTemplateGeneration] = "0"
		}
		pods = append(pods, p)
	}
	s := Snapshot{DaemonSet: ds, Nodes: ns, Pods: pods, Hash: TemplateHash(ds), Manage: true, Now: t0.Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		Compute(s)
	}
}
