package daemonset

import (
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/scheduler"
)

// Taint keys a DaemonSet pod tolerates whatever its template says, as Kubernetes'
// AddOrUpdateDaemonPodTolerations.
const (
	TaintNodeNotReady       = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable    = "node.kubernetes.io/unreachable"
	TaintNodeDiskPressure   = "node.kubernetes.io/disk-pressure"
	TaintNodeMemoryPressure = "node.kubernetes.io/memory-pressure"
	TaintNodePIDPressure    = "node.kubernetes.io/pid-pressure"
	TaintNodeUnschedulable  = "node.kubernetes.io/unschedulable"
)

// Snapshot is what the daemonset controller sees of one DaemonSet.
type Snapshot struct {
	DaemonSet *api.DaemonSet
	// Nodes are every node of the cluster.
	Nodes []*api.Node
	// Pods are the pods the DaemonSet controls (any phase).
	Pods []*api.Pod
	// Hash is the controller-revision-hash of the current template (TemplateHash).
	Hash string
	// Manage is false while earlier creations or deletions have not been observed: the plan
	// then only computes the status, as Kubernetes does with unsatisfied expectations.
	Manage bool
	// BackoffUntil holds, per node, the time before which a failed pod there is not replaced
	// again (Kubernetes backs off 1s doubling to 15m so it does not fight a runner that
	// rejects the pod).
	BackoffUntil map[string]time.Time
	Now          time.Time
}

// Plan is what the controller must write for one DaemonSet. Applying it and planning again
// from the resulting state yields an empty plan (apart from a rolling update's next step).
type Plan struct {
	// Create names the nodes that need a new pod from the current template.
	Create []string
	// Delete are pods to delete: on nodes that may no longer run them, duplicates, failed
	// pods, and old pods a rolling update replaces.
	Delete []*api.Pod
	// FailedOn names the nodes whose failed pod is deleted now: the controller backs off there.
	FailedOn []string
	// Status is the DaemonSet's status after this plan.
	Status api.DaemonSetStatus
	// RequeueAfter, when positive, is when to look again (a back-off or minReadySeconds ends).
	RequeueAfter time.Duration
}

func (p *Plan) requeue(d time.Duration) {
	if d > 0 && (p.RequeueAfter == 0 || d < p.RequeueAfter) {
		p.RequeueAfter = d
	}
}

// Compute decides what should change for s.DaemonSet, as Kubernetes' syncDaemonSet: manage
// (one pod on each node that should run it, none where it should not keep running, failed
// pods replaced), then, when manage had nothing to do and the strategy is RollingUpdate, the
// next step of the rolling update, and the status.
func Compute(s Snapshot) Plan {
	ds := s.DaemonSet
	var p Plan
	byNode := podsByNode(s.Pods)
	gen, hasGen := api.TemplateGeneration(ds)
	updated := func(pod *api.Pod) bool { return isPodUpdated(pod, s.Hash, gen, hasGen) }

	v := verdicts(ds, s.Nodes)
	if s.Manage {
		manage(&s, v, byNode, updated, &p)
		if len(p.Create) == 0 && len(p.Delete) == 0 && ds.Spec.UpdateStrategy.Type == api.RollingUpdateStrategy {
			rollingUpdate(&s, v, byNode, updated, &p)
		}
	}
	p.Status = status(&s, v, byNode, updated, &p)
	return p
}

// podsByNode groups pods by the node they are for: spec.nodeName, or before binding the
// node of their metadata.name affinity (Kubernetes' GetTargetNodeName).
func podsByNode(pods []*api.Pod) map[string][]*api.Pod {
	m := map[string][]*api.Pod{}
	for _, pod := range pods {
		if n := targetNode(pod); n != "" {
			m[n] = append(m[n], pod)
		}
	}
	return m
}

func targetNode(pod *api.Pod) string {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == api.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// isPodUpdated is Kubernetes' IsPodUpdated: the pod carries the current hash or the
// current template generation.
func isPodUpdated(pod *api.Pod, hash string, gen int64, hasGen bool) bool {
	if hash != "" && pod.Labels[api.LabelControllerRevisionHash] == hash {
		return true
	}
	return hasGen && pod.Labels[api.LabelPodTemplateGeneration] == strconv.FormatInt(gen, 10)
}

// ShouldRun is Kubernetes' NodeShouldRunDaemonPod: whether a new daemon pod belongs on node
// (its nodeName, nodeSelector and required node affinity match, and it tolerates the node's
// NoSchedule and NoExecute taints, with the tolerations every daemon pod gets), and whether
// a pod already there may keep running (the same, except that only NoExecute taints count).
func ShouldRun(node *api.Node, ds *api.DaemonSet) (run, keep bool) {
	return shouldRun(node, ds, Tolerations(ds.Spec.Template.Spec.Tolerations))
}

// verdict is ShouldRun's answer for one node.
type verdict struct{ run, keep bool }

// verdicts answers ShouldRun for every node, by name.
func verdicts(ds *api.DaemonSet, nodes []*api.Node) map[string]verdict {
	tols := Tolerations(ds.Spec.Template.Spec.Tolerations)
	m := make(map[string]verdict, len(nodes))
	for _, n := range nodes {
		run, keep := shouldRun(n, ds, tols)
		m[n.Name] = verdict{run, keep}
	}
	return m
}

func shouldRun(node *api.Node, ds *api.DaemonSet, tols []api.Toleration) (run, keep bool) {
	spec := &ds.Spec.Template.Spec
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, false
	}
	for k, v := range spec.NodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false, false
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		match := false
		for i := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			if scheduler.MatchNodeSelectorTerm(&a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[i], node) {
				match = true
				break
			}
		}
		if !match {
			return false, false
		}
	}
	taints := node.Spec.Taints
	if t, ok := conditionTaint(node); ok {
		taints = append(slices.Clip(taints), t)
	}
	untolerated := func(effects ...string) bool {
		for i := range taints {
			t := &taints[i]
			hit := false
			for _, e := range effects {
				hit = hit || t.Effect == e
			}
			if hit && !tolerates(tols, t) {
				return true
			}
		}
		return false
	}
	if untolerated(api.TaintNoSchedule, api.TaintNoExecute) {
		return false, !untolerated(api.TaintNoExecute)
	}
	return true, true
}

// conditionTaint is the NoSchedule taint Kubernetes' node lifecycle controller puts on a node
// that is not Ready (TaintNodesByCondition), which wasmkube's nodes do not carry: not-ready
// when the node reports Ready=False, unreachable when its Ready condition is Unknown or
// missing. It keeps new daemon pods off such a node (the scheduler would leave them Pending)
// while the ones there keep running.
func conditionTaint(n *api.Node) (api.Taint, bool) {
	switch readyStatus(n) {
	case api.ConditionTrue:
		return api.Taint{}, false
	case api.ConditionFalse:
		return api.Taint{Key: TaintNodeNotReady, Effect: api.TaintNoSchedule}, true
	}
	return api.Taint{Key: TaintNodeUnreachable, Effect: api.TaintNoSchedule}, true
}

// readyStatus is the status of n's Ready condition ("" when it has none).
func readyStatus(n *api.Node) api.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == api.NodeReady {
			return c.Status
		}
	}
	return ""
}

func tolerates(tols []api.Toleration, t *api.Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(t) {
			return true
		}
	}
	return false
}

// Tolerations returns tols with the tolerations Kubernetes adds to every daemon pod
// (AddOrUpdateDaemonPodTolerations): not-ready and unreachable NoExecute without a time
// limit, and disk-, memory- and pid-pressure and unschedulable NoSchedule. A toleration
// for the same key and effect is replaced. tols is not modified.
func Tolerations(tols []api.Toleration) []api.Toleration {
	add := []api.Toleration{
		{Key: TaintNodeNotReady, Operator: api.TolerationOpExists, Effect: api.TaintNoExecute},
		{Key: TaintNodeUnreachable, Operator: api.TolerationOpExists, Effect: api.TaintNoExecute},
		{Key: TaintNodeDiskPressure, Operator: api.TolerationOpExists, Effect: api.TaintNoSchedule},
		{Key: TaintNodeMemoryPressure, Operator: api.TolerationOpExists, Effect: api.TaintNoSchedule},
		{Key: TaintNodePIDPressure, Operator: api.TolerationOpExists, Effect: api.TaintNoSchedule},
		{Key: TaintNodeUnschedulable, Operator: api.TolerationOpExists, Effect: api.TaintNoSchedule},
	}
	out := make([]api.Toleration, 0, len(tols)+len(add))
	for _, t := range tols {
		replaced := false
		for _, a := range add {
			replaced = replaced || (t.Key == a.Key && t.Effect == a.Effect)
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return append(out, add...)
}

// byAge sorts pods bound first, then oldest first, then by name (Kubernetes'
// podByCreationTimestampAndPhase).
func byAge(pods []*api.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return older(pods[i], pods[j]) })
}

func older(a, b *api.Pod) bool {
	if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
		return a.Spec.NodeName != ""
	}
	if a.CreationTimestamp.Equal(b.CreationTimestamp.Time) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(b.CreationTimestamp.Time)
}

func allowsSurge(ds *api.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != api.RollingUpdateStrategy || ru == nil || ru.MaxSurge == nil {
		return false
	}
	n, err := ru.MaxSurge.ScaledValue(100, true)
	return err == nil && n > 0
}

// manage is Kubernetes' manage and podsShouldBeOnNode.
func manage(s *Snapshot, v map[string]verdict, byNode map[string][]*api.Pod, updated func(*api.Pod) bool, p *Plan) {
	ds := s.DaemonSet
	exists := map[string]bool{}
	for _, node := range s.Nodes {
		exists[node.Name] = true
		pods := byNode[node.Name]
		run, keep := v[node.Name].run, v[node.Name].keep
		switch {
		case run && len(pods) == 0:
			p.Create = append(p.Create, node.Name)
		case keep:
			var running []*api.Pod
			for _, pod := range pods {
				switch {
				case pod.DeletionTimestamp != nil:
				case pod.Status.Phase == api.PodFailed:
					if until, ok := s.BackoffUntil[node.Name]; ok && s.Now.Before(until) {
						p.requeue(until.Sub(s.Now))
						continue
					}
					p.Delete = append(p.Delete, pod)
					p.FailedOn = append(p.FailedOn, node.Name)
				case pod.Status.Phase == api.PodSucceeded:
					p.Delete = append(p.Delete, pod)
				default:
					running = append(running, pod)
				}
			}
			if len(running) <= 1 {
				break
			}
			byAge(running)
			if !allowsSurge(ds) {
				p.Delete = append(p.Delete, running[1:]...)
				break
			}
			// With surge, keep the oldest new pod and the oldest old one, and the old one only
			// while the new is not yet available and the old is ready.
			var oldestNew, oldestOld *api.Pod
			for _, pod := range running {
				switch {
				case updated(pod) && oldestNew == nil:
					oldestNew = pod
				case !updated(pod) && oldestOld == nil:
					oldestOld = pod
				default:
					p.Delete = append(p.Delete, pod)
				}
			}
			if oldestNew != nil && oldestOld != nil {
				if !controller.IsPodReady(oldestOld) || controller.IsPodAvailable(oldestNew, ds.Spec.MinReadySeconds, s.Now) {
					p.Delete = append(p.Delete, oldestOld)
				}
			}
		case len(pods) > 0:
			for _, pod := range pods {
				if pod.DeletionTimestamp == nil {
					p.Delete = append(p.Delete, pod)
				}
			}
		}
	}
	// Pods never bound whose node is gone (the node lifecycle controller removes bound ones).
	for name, pods := range byNode {
		if exists[name] {
			continue
		}
		for _, pod := range pods {
			if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil {
				p.Delete = append(p.Delete, pod)
			}
		}
	}
	sort.Strings(p.Create)
	sortPods(p.Delete)
}

func sortPods(pods []*api.Pod) {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
}

// findUpdatedPodsOnNode is Kubernetes' function of that name: the node's one new and one
// old pod not being deleted; ok is false when there are more.
func findUpdatedPodsOnNode(pods []*api.Pod, updated func(*api.Pod) bool) (newPod, oldPod *api.Pod, ok bool) {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if updated(pod) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = pod
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = pod
		}
	}
	return newPod, oldPod, true
}

// rollingUpdate is Kubernetes' rollingUpdate: without surge, delete old pods while no more
// than maxUnavailable nodes are unavailable (manage then creates their replacements);
// with surge, create new pods beside old ones on up to maxSurge nodes and delete each old
// pod once the new one beside it is available.
func rollingUpdate(s *Snapshot, v map[string]verdict, byNode map[string][]*api.Pod, updated func(*api.Pod) bool, p *Plan) {
	ds := s.DaemonSet
	minReady := ds.Spec.MinReadySeconds
	available := func(pod *api.Pod) bool { return controller.IsPodAvailable(pod, minReady, s.Now) }
	// Every node that should run the pod takes part, with or without pods; so do the nodes
	// that have pods (Kubernetes walks nodeToDaemonPods, after adding the desired nodes).
	desired := 0
	names := make([]string, 0, len(byNode))
	for _, node := range s.Nodes {
		if v[node.Name].run {
			desired++
			if _, ok := byNode[node.Name]; !ok {
				names = append(names, node.Name)
			}
		}
	}
	for name := range byNode {
		names = append(names, name)
	}
	sort.Strings(names)
	maxSurge, maxUnavailable := surgeAndUnavailable(ds, desired)

	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*api.Pod
		for _, name := range names {
			newPod, oldPod, ok := findUpdatedPodsOnNode(byNode[name], updated)
			switch {
			case !ok:
				unavailable++ // manage cleans this node up
			case (oldPod == nil) == (newPod == nil):
				unavailable++ // manage creates or deletes here
			case newPod != nil:
				if !available(newPod) {
					unavailable++
					p.requeue(controller.AvailableIn(newPod, minReady, s.Now))
				}
			case !available(oldPod):
				replace = append(replace, oldPod)
				unavailable++
			case unavailable >= maxUnavailable:
			default:
				candidates = append(candidates, oldPod)
			}
		}
		room := min(max(maxUnavailable-unavailable, 0), len(candidates))
		p.Delete = append(append(p.Delete, replace...), candidates[:room]...)
		sortPods(p.Delete)
		return
	}

	var shouldNotRun []*api.Pod
	var allowed, candidates []string
	surge, numAvailable := 0, 0
	for _, name := range names {
		newPod, oldPod, ok := findUpdatedPodsOnNode(byNode[name], updated)
		if !ok {
			surge++
			continue
		}
		if oldPod != nil && available(oldPod) || oldPod == nil && newPod != nil && available(newPod) {
			numAvailable++
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			run := v[name].run // false for a node that is gone
			switch {
			case !available(oldPod) && !run:
				p.Delete = append(p.Delete, oldPod)
			case !available(oldPod):
				allowed = append(allowed, name)
			case !run:
				shouldNotRun = append(shouldNotRun, oldPod)
			case surge >= maxSurge:
			default:
				candidates = append(candidates, name)
			}
		default:
			if !available(newPod) {
				surge++
				p.requeue(controller.AvailableIn(newPod, minReady, s.Now))
				continue
			}
			p.Delete = append(p.Delete, oldPod)
		}
	}
	if n := min(numAvailable-desired, len(shouldNotRun)); n > 0 {
		p.Delete = append(p.Delete, shouldNotRun[:n]...)
	}
	room := min(max(maxSurge-surge, 0), len(candidates))
	p.Create = append(append(p.Create, allowed...), candidates[:room]...)
	sort.Strings(p.Create)
	sortPods(p.Delete)
}

// surgeAndUnavailable resolves maxSurge and maxUnavailable against the desired number of
// nodes (percentages round up), with Kubernetes' fallback of maxUnavailable 1 when both
// come out 0.
func surgeAndUnavailable(ds *api.DaemonSet, desired int) (surge, unavailable int) {
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge, _ = ru.MaxSurge.ScaledValue(desired, true)
		}
		if ru.MaxUnavailable != nil {
			unavailable, _ = ru.MaxUnavailable.ScaledValue(desired, true)
		}
	}
	if desired > 0 && surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// status is Kubernetes' updateDaemonSetStatus: per node that should run the pod, its oldest
// pod counts as scheduled, ready, available and updated; pods on other nodes are
// misscheduled. observedGeneration advances only when the plan was made with satisfied
// expectations.
func status(s *Snapshot, v map[string]verdict, byNode map[string][]*api.Pod, updated func(*api.Pod) bool, p *Plan) api.DaemonSetStatus {
	ds := s.DaemonSet
	st := *controller.Clone(&ds.Status)
	var desired, current, misscheduled, ready, available, upToDate int32
	for _, node := range s.Nodes {
		// The node's oldest pod, leaving out terminal pods being deleted as Kubernetes does.
		var pod *api.Pod
		for _, p := range byNode[node.Name] {
			terminal := p.Status.Phase == api.PodFailed || p.Status.Phase == api.PodSucceeded
			if !(terminal && p.DeletionTimestamp != nil) && (pod == nil || older(p, pod)) {
				pod = p
			}
		}
		if !v[node.Name].run {
			if pod != nil {
				misscheduled++
			}
			continue
		}
		desired++
		if pod == nil {
			continue
		}
		current++
		if controller.IsPodReady(pod) {
			ready++
			if controller.IsPodAvailable(pod, ds.Spec.MinReadySeconds, s.Now) {
				available++
			} else {
				p.requeue(controller.AvailableIn(pod, ds.Spec.MinReadySeconds, s.Now))
			}
		}
		if updated(pod) {
			upToDate++
		}
	}
	st.DesiredNumberScheduled = desired
	st.CurrentNumberScheduled = current
	st.NumberMisscheduled = misscheduled
	st.NumberReady = ready
	st.NumberAvailable = available
	st.NumberUnavailable = desired - available
	st.UpdatedNumberScheduled = upToDate
	if s.Manage {
		st.ObservedGeneration = ds.Generation
	}
	return st
}

// NewPod is the pod a DaemonSet runs on node: its template with the daemon tolerations, the
// revision labels, a controller reference and a required affinity for metadata.name = node
// (replacing any other metadata.name field requirement), so the scheduler binds it there,
// as Kubernetes since 1.12.
func NewPod(ds *api.DaemonSet, node, hash string) *api.Pod {
	t := controller.Clone(&ds.Spec.Template)
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{
			GenerateName:    ds.Name + "-",
			Namespace:       ds.Namespace,
			Labels:          labels.Set{},
			Annotations:     t.Annotations,
			OwnerReferences: []api.OwnerReference{controller.ControllerRef(&ds.ObjectMeta, "apps/v1", "DaemonSet")},
		},
		Spec: t.Spec,
	}
	for k, v := range t.Labels {
		pod.Labels[k] = v
	}
	if g, ok := api.TemplateGeneration(ds); ok {
		pod.Labels[api.LabelPodTemplateGeneration] = strconv.FormatInt(g, 10)
	}
	if hash != "" {
		pod.Labels[api.LabelControllerRevisionHash] = hash
	}
	pod.Spec.Tolerations = Tolerations(pod.Spec.Tolerations)
	pod.Spec.Affinity = nodeNameAffinity(pod.Spec.Affinity, node)
	return pod
}

// nodeNameAffinity is Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity: the required
// node selector becomes the single term matchFields [metadata.name In node] (the controller
// has already checked the template's own terms against the node); preferred terms stay.
func nodeNameAffinity(a *api.Affinity, node string) *api.Affinity {
	sel := &api.NodeSelector{NodeSelectorTerms: []api.NodeSelectorTerm{{MatchFields: []api.NodeSelectorRequirement{
		{Key: "metadata.name", Operator: api.NodeSelectorOpIn, Values: []string{node}}}}}}
	if a == nil {
		a = &api.Affinity{}
	}
	if a.NodeAffinity == nil {
		a.NodeAffinity = &api.NodeAffinity{}
	}
	a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
	return a
}
