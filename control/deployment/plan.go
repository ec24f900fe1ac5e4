package deployment

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

// Snapshot is what the deployment controller sees of one Deployment.
type Snapshot struct {
	Deployment *api.Deployment
	// ReplicaSets are the ReplicaSets of the Deployment's namespace; Compute claims those its
	// selector matches and ignores those another controller owns.
	ReplicaSets []*api.ReplicaSet
	// Pods are the pods of the Deployment's ReplicaSets, terminating ones included, keyed by
	// the UID of the ReplicaSet that controls them: Recreate waits until the old ones are gone.
	Pods map[string][]*api.Pod
	Now  time.Time
}

// Event is an event the controller records on the Deployment.
type Event struct {
	Type, Reason, Message string
}

// Plan is what the deployment controller must write, in this order: adoptions and releases
// (and nothing else when there are any), the new ReplicaSet, ReplicaSet updates, ReplicaSet
// deletions, the Deployment's annotations, the Deployment's status. Applying it and planning
// again from the resulting state plans nothing new.
type Plan struct {
	// Adopt are orphan ReplicaSets with the controller reference added; Release are controlled
	// ReplicaSets that stopped matching, with it removed.
	Adopt, Release []*api.ReplicaSet
	// Create is the ReplicaSet of the current template when none exists yet.
	Create *api.ReplicaSet
	// Update are changed ReplicaSets (scale, annotations, minReadySeconds), to be written whole.
	Update []*api.ReplicaSet
	// Delete are old ReplicaSets beyond revisionHistoryLimit.
	Delete []*api.ReplicaSet
	// Annotations, when not nil, are the Deployment's new annotations (its revision).
	Annotations map[string]string
	// Status, when not nil, is the Deployment's new status.
	Status *api.DeploymentStatus
	// Events are to be recorded on the Deployment once the writes succeed.
	Events []Event
	// RequeueAfter, when positive, is when to look again (a progress deadline check).
	RequeueAfter time.Duration
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool {
	return len(p.Adopt)+len(p.Release)+len(p.Update)+len(p.Delete) == 0 && p.Create == nil &&
		p.Annotations == nil && p.Status == nil
}

// planner holds working copies that the steps change; Compute turns the differences into a
// Plan.
type planner struct {
	orig  *api.Deployment
	d     *api.Deployment
	rss   []*api.ReplicaSet
	dirty []*api.ReplicaSet
	pods  map[string][]*api.Pod
	now   time.Time
	plan  Plan
}

// Compute decides what should change for s.Deployment, as Kubernetes' syncDeployment: claim
// ReplicaSets; find or create the ReplicaSet of the current template and keep revisions; then
// either scale proportionally (a changed spec.replicas, or paused), or take one rollout step
// (RollingUpdate within maxSurge/maxUnavailable, or Recreate), clean up history and compute
// status and conditions.
func Compute(s Snapshot) Plan {
	d := s.Deployment
	p := &planner{orig: d, d: controller.Clone(d), pods: s.Pods, now: s.Now}
	sel, err := api.SelectorOf(d.Spec.Selector)
	if err != nil || (d.Spec.Selector != nil && len(d.Spec.Selector.MatchLabels)+len(d.Spec.Selector.MatchExpressions) == 0) {
		p.event(api.EventWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			p.d.Status.ObservedGeneration = d.Generation
		}
		return p.finish()
	}
	c := controller.ClaimObjects(&d.ObjectMeta, sel, s.ReplicaSets)
	if len(c.Adopt)+len(c.Release) > 0 {
		ref := controller.ControllerRef(&d.ObjectMeta, "apps/v1", "Deployment")
		for _, rs := range c.Adopt {
			rs = controller.Clone(rs)
			rs.OwnerReferences = controller.Adopted(&rs.ObjectMeta, ref)
			p.plan.Adopt = append(p.plan.Adopt, rs)
		}
		for _, rs := range c.Release {
			rs = controller.Clone(rs)
			rs.OwnerReferences = controller.Released(&rs.ObjectMeta, d.UID)
			p.plan.Release = append(p.plan.Release, rs)
		}
		return p.plan
	}
	for _, rs := range c.Owned {
		p.rss = append(p.rss, controller.Clone(rs))
	}

	if d.DeletionTimestamp != nil {
		newRS, olds := p.replicaSets(false)
		p.d.Status = calculateStatus(append(olds, newRS), newRS, p.d, p.now)
		return p.finish()
	}
	p.pausedConditions()
	if d.Spec.Paused || p.scalingEvent() {
		p.sync()
		return p.finish()
	}
	if d.Spec.Strategy.Type == api.RecreateStrategy {
		p.recreate()
	} else {
		p.rolling()
	}
	p.plan.RequeueAfter = progressCheckAfter(p.d, &p.d.Status, p.now)
	return p.finish()
}

func (p *planner) event(typ, reason, format string, args ...any) {
	p.plan.Events = append(p.plan.Events, Event{Type: typ, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (p *planner) markDirty(rs *api.ReplicaSet) {
	if rs == p.plan.Create {
		return
	}
	for _, x := range p.dirty {
		if x == rs {
			return
		}
	}
	p.dirty = append(p.dirty, rs)
}

// finish turns the working copies into the plan.
func (p *planner) finish() Plan {
	p.plan.Update = p.dirty
	if !sameJSON(p.orig.Annotations, p.d.Annotations) {
		p.plan.Annotations = p.d.Annotations
		if p.plan.Annotations == nil {
			p.plan.Annotations = map[string]string{}
		}
	}
	if !sameJSON(&p.orig.Status, &p.d.Status) {
		st := p.d.Status
		p.plan.Status = &st
	}
	return p.plan
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// findNew is the oldest ReplicaSet whose template is the Deployment's.
func findNew(d *api.Deployment, rss []*api.ReplicaSet) *api.ReplicaSet {
	sorted := append([]*api.ReplicaSet(nil), rss...)
	sortOlderFirst(sorted)
	for _, rs := range sorted {
		if EqualIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// replicaSets returns the new ReplicaSet (nil when none exists and create is false) and the
// old ones, keeping revisions in step, as Kubernetes' getAllReplicaSetsAndSyncRevision.
func (p *planner) replicaSets(create bool) (*api.ReplicaSet, []*api.ReplicaSet) {
	d := p.d
	existing := findNew(d, p.rss)
	var olds []*api.ReplicaSet
	for _, rs := range p.rss {
		if rs != existing {
			olds = append(olds, rs)
		}
	}
	newRevision := maxRevision(olds) + 1
	if existing != nil {
		changed := setNewRSAnnotations(d, existing, newRevision, true)
		if existing.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			existing.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			changed = true
		}
		if changed {
			p.markDirty(existing)
		}
		p.setRevision(existing.Annotations[api.AnnotationRevision])
		if hasProgressDeadline(d) && condition(&d.Status, api.DeploymentProgressing) == nil {
			setCondition(&d.Status, newCondition(api.DeploymentProgressing, api.ConditionTrue, ReasonFoundNewReplicaSet,
				fmt.Sprintf("Found new replica set %q", existing.Name), p.now))
		}
		return existing, olds
	}
	if !create {
		return nil, olds
	}
	hash := TemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := controller.Clone(&d.Spec.Template)
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[api.LabelPodTemplateHash] = hash
	sel := controller.Clone(d.Spec.Selector)
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[api.LabelPodTemplateHash] = hash
	rsLabels := make(map[string]string, len(tmpl.Labels))
	for k, v := range tmpl.Labels {
		rsLabels[k] = v
	}
	rs := &api.ReplicaSet{
		TypeMeta: api.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: api.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			Labels:          rsLabels,
			OwnerReferences: []api.OwnerReference{controller.ControllerRef(&d.ObjectMeta, "apps/v1", "Deployment")},
		},
		Spec: api.ReplicaSetSpec{
			Replicas:        api.Ptr[int32](0),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        sel,
			Template:        *tmpl,
		},
	}
	*rs.Spec.Replicas = newRSReplicas(d, append(append([]*api.ReplicaSet(nil), olds...), rs), rs)
	setNewRSAnnotations(d, rs, newRevision, false)
	p.plan.Create = rs
	p.rss = append(p.rss, rs)
	if n := replicas(rs); n > 0 {
		p.event(api.EventNormal, "ScalingReplicaSet", "Scaled up replica set %s to %d", rs.Name, n)
	}
	p.setRevision(strconv.FormatInt(newRevision, 10))
	if hasProgressDeadline(d) {
		setCondition(&d.Status, newCondition(api.DeploymentProgressing, api.ConditionTrue, ReasonNewReplicaSetCreated,
			fmt.Sprintf("Created new replica set %q", rs.Name), p.now))
	}
	return rs, olds
}

func (p *planner) setRevision(rev string) {
	if p.d.Annotations[api.AnnotationRevision] == rev {
		return
	}
	if p.d.Annotations == nil {
		p.d.Annotations = map[string]string{}
	}
	p.d.Annotations[api.AnnotationRevision] = rev
}

// newRSReplicas is the size the new ReplicaSet may grow to now: up to desired, within
// desired+maxSurge pods in all (RollingUpdate), or desired at once (Recreate).
func newRSReplicas(d *api.Deployment, all []*api.ReplicaSet, newRS *api.ReplicaSet) int32 {
	if !isRolling(d) {
		return desired(d)
	}
	maxTotal := desired(d) + MaxSurge(d)
	cur := sumSpec(all)
	if cur >= maxTotal {
		return replicas(newRS)
	}
	return replicas(newRS) + min(maxTotal-cur, desired(d)-replicas(newRS))
}

// pausedConditions records pausing and resuming in the Progressing condition, so a resumed
// Deployment does not time out for the time it spent paused.
func (p *planner) pausedConditions() {
	d := p.d
	if !hasProgressDeadline(d) {
		return
	}
	c := condition(&d.Status, api.DeploymentProgressing)
	if c != nil && c.Reason == ReasonProgressDeadlineExceeded {
		return
	}
	paused := c != nil && c.Reason == ReasonDeploymentPaused
	switch {
	case d.Spec.Paused && !paused:
		setCondition(&d.Status, newCondition(api.DeploymentProgressing, api.ConditionUnknown, ReasonDeploymentPaused, "Deployment is paused", p.now))
	case !d.Spec.Paused && paused:
		setCondition(&d.Status, newCondition(api.DeploymentProgressing, api.ConditionUnknown, ReasonDeploymentResumed, "Deployment is resumed", p.now))
	}
}

// scalingEvent reports whether spec.replicas changed since the active ReplicaSets were sized.
func (p *planner) scalingEvent() bool {
	newRS, olds := p.replicaSets(false)
	for _, rs := range active(append(olds, newRS)) {
		if n, ok := intAnnotation(&rs.ObjectMeta, api.AnnotationDesiredReplicas); ok && n != desired(p.d) {
			return true
		}
	}
	return false
}

// scale sets rs to n replicas (and the size annotations); it reports whether the size changed.
func (p *planner) scale(rs *api.ReplicaSet, n int32) bool {
	d := p.d
	sizeChanged := replicas(rs) != n
	annChanged := setReplicasAnnotations(rs, desired(d), desired(d)+MaxSurge(d))
	if !sizeChanged && !annChanged {
		return false
	}
	if sizeChanged {
		op := "up"
		if n < replicas(rs) {
			op = "down"
		}
		rs.Spec.Replicas = api.Ptr(n)
		p.event(api.EventNormal, "ScalingReplicaSet", "Scaled %s replica set %s to %d", op, rs.Name, n)
	}
	p.markDirty(rs)
	return sizeChanged
}

// scaleIfChanged scales only when the size differs, as scaleReplicaSetAndRecordEvent.
func (p *planner) scaleIfChanged(rs *api.ReplicaSet, n int32) bool {
	if replicas(rs) == n {
		return false
	}
	return p.scale(rs, n)
}

// sync handles a scaling event or a paused Deployment: scale, clean up when paused, status.
func (p *planner) sync() {
	newRS, olds := p.replicaSets(false)
	p.proportionalScale(newRS, olds)
	if p.d.Spec.Paused {
		p.cleanup(olds)
	}
	p.d.Status = calculateStatus(append(olds, newRS), newRS, p.d, p.now)
}

// proportionalScale spreads a change of spec.replicas over the active ReplicaSets in
// proportion to their sizes, as Kubernetes' scale.
func (p *planner) proportionalScale(newRS *api.ReplicaSet, olds []*api.ReplicaSet) {
	d := p.d
	if rs := activeOrLatest(newRS, olds); rs != nil {
		p.scaleIfChanged(rs, desired(d))
		return
	}
	if saturated(d, newRS) {
		for _, old := range active(olds) {
			p.scaleIfChanged(old, 0)
		}
		return
	}
	if !isRolling(d) {
		return
	}
	all := active(append(append([]*api.ReplicaSet(nil), olds...), newRS))
	allowed := int32(0)
	if desired(d) > 0 {
		allowed = desired(d) + MaxSurge(d)
	}
	toAdd := allowed - sumSpec(all)
	switch {
	case toAdd > 0:
		sortBySize(all, true)
	case toAdd < 0:
		sortBySize(all, false)
	}
	added := int32(0)
	size := make([]int32, len(all))
	for i, rs := range all {
		size[i] = replicas(rs)
		if toAdd != 0 {
			pr := proportion(rs, d, toAdd, added)
			size[i] += pr
			added += pr
		}
	}
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			size[i] = max(size[i]+toAdd-added, 0)
		}
		p.scale(rs, size[i])
	}
}

// activeOrLatest is the only active ReplicaSet, or the newest when none is active, or nil
// when several are.
func activeOrLatest(newRS *api.ReplicaSet, olds []*api.ReplicaSet) *api.ReplicaSet {
	if newRS == nil && len(olds) == 0 {
		return nil
	}
	sorted := append([]*api.ReplicaSet(nil), olds...)
	sortOlderFirst(sorted)
	for i, j := 0, len(sorted)-1; i < j; i, j = i+1, j-1 {
		sorted[i], sorted[j] = sorted[j], sorted[i]
	}
	act := active(append(sorted, newRS))
	switch len(act) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return sorted[0]
	case 1:
		return act[0]
	}
	return nil
}

func saturated(d *api.Deployment, newRS *api.ReplicaSet) bool {
	if newRS == nil {
		return false
	}
	n, ok := intAnnotation(&newRS.ObjectMeta, api.AnnotationDesiredReplicas)
	return ok && replicas(newRS) == desired(d) && n == desired(d) && newRS.Status.AvailableReplicas == desired(d)
}

// proportion is rs's share of toAdd (negative to remove), bounded by what is left to add.
func proportion(rs *api.ReplicaSet, d *api.Deployment, toAdd, added int32) int32 {
	if rs == nil || replicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	frac := fraction(rs, d)
	left := toAdd - added
	if toAdd > 0 {
		return min(frac, left)
	}
	return max(frac, left)
}

// fraction is how much rs should change for the Deployment's new size, from the size it was
// scaled for (max-replicas annotation).
func fraction(rs *api.ReplicaSet, d *api.Deployment) int32 {
	if desired(d) == 0 {
		return -replicas(rs)
	}
	maxNow := desired(d) + MaxSurge(d)
	before, ok := intAnnotation(&rs.ObjectMeta, api.AnnotationMaxReplicas)
	if !ok || before == 0 {
		before = d.Status.Replicas
		if before == 0 {
			before = maxNow
		}
	}
	f := float64(replicas(rs)*maxNow) / float64(before)
	var r int32
	if f < 0 {
		r = int32(f - 0.5)
	} else {
		r = int32(f + 0.5)
	}
	return r - replicas(rs)
}

// cleanup deletes the oldest ReplicaSets beyond revisionHistoryLimit that are scaled to 0,
// have no pods and whose status is current.
func (p *planner) cleanup(olds []*api.ReplicaSet) {
	d := p.d
	if d.Spec.RevisionHistoryLimit == nil {
		return
	}
	var alive []*api.ReplicaSet
	for _, rs := range olds {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(*d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return
	}
	sortByRevision(alive)
	for _, rs := range alive[:diff] {
		if rs.Status.Replicas != 0 || replicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		p.plan.Delete = append(p.plan.Delete, rs)
	}
}
