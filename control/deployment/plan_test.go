package deployment

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// dep is a defaulted Deployment of image with the given size and rolling parameters ("" =
// Recreate).
func dep(replicas int32, image, surge, unavailable string) *api.Deployment {
	l := map[string]string{"app": "web"}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default", UID: "d-uid", Generation: 1},
		Spec: api.DeploymentSpec{
			Replicas: api.Ptr(replicas),
			Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: image}}}},
		},
	}
	if surge == "" {
		d.Spec.Strategy.Type = api.RecreateStrategy
	} else {
		d.Spec.Strategy.RollingUpdate = &api.RollingUpdateDeployment{MaxSurge: intOrPct(surge), MaxUnavailable: intOrPct(unavailable)}
	}
	api.Default(d)
	return d
}

func intOrPct(s string) *api.IntOrString {
	if strings.HasSuffix(s, "%") {
		return api.Ptr(api.FromString(s))
	}
	n, _ := strconv.Atoi(s)
	return api.Ptr(api.FromInt(int32(n)))
}

// rsOf is a ReplicaSet of d for image at revision rev, created age minutes after t0, with
// spec, current and available replicas; the desired/max annotations record d's size.
func rsOf(d *api.Deployment, image string, rev, age int, spec, replicas, available int32) *api.ReplicaSet {
	dd := controller.Clone(d)
	dd.Spec.Template.Spec.Containers[0].Image = image
	hash := TemplateHash(&dd.Spec.Template, nil)
	tmpl := controller.Clone(&dd.Spec.Template)
	tmpl.Labels[api.LabelPodTemplateHash] = hash
	rs := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{
			Name: "web-" + hash, Namespace: "default", UID: "rs-" + image, Labels: tmpl.Labels,
			CreationTimestamp: api.NewTime(t0.Add(time.Duration(age) * time.Minute)),
			OwnerReferences:   []api.OwnerReference{controller.ControllerRef(&d.ObjectMeta, "apps/v1", "Deployment")},
			Annotations: map[string]string{
				api.AnnotationRevision:        strconv.Itoa(rev),
				api.AnnotationDesiredReplicas: strconv.Itoa(int(desired(d))),
				api.AnnotationMaxReplicas:     strconv.Itoa(int(desired(d) + MaxSurge(d))),
			},
		},
		Spec: api.ReplicaSetSpec{Replicas: api.Ptr(spec), Template: *tmpl,
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web", api.LabelPodTemplateHash: hash}}},
		Status: api.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available},
	}
	return rs
}

// sizes renders the planned size of every ReplicaSet, by image: "v1=3 v2=1 +v3=2 -v0"
// (+ created, - deleted); unchanged ones are left out.
func sizes(p Plan) string {
	var parts []string
	img := func(rs *api.ReplicaSet) string { return rs.Spec.Template.Spec.Containers[0].Image }
	if p.Create != nil {
		parts = append(parts, fmt.Sprintf("+%s=%d", img(p.Create), replicas(p.Create)))
	}
	for _, rs := range p.Update {
		parts = append(parts, fmt.Sprintf("%s=%d", img(rs), replicas(rs)))
	}
	for _, rs := range p.Delete {
		parts = append(parts, "-"+img(rs))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func TestRollingStep(t *testing.T) {
	type rs struct {
		image             string
		rev, age          int
		spec, have, avail int32
	}
	cases := []struct {
		name               string
		replicas           int32
		image              string
		surge, unavailable string
		rss                []rs
		want               string
	}{
		{"first rollout creates the full size", 3, "v1", "25%", "25%", nil, "+v1=3"},
		{"image change surges by maxSurge", 3, "v2", "1", "0", []rs{{"v1", 1, 0, 3, 3, 3}}, "+v2=1"},
		{"new pods not available: old kept", 3, "v2", "1", "0", []rs{{"v1", 1, 0, 3, 3, 3}, {"v2", 2, 1, 1, 1, 0}}, ""},
		{"new pod available: old scaled down", 3, "v2", "1", "0", []rs{{"v1", 1, 0, 3, 3, 3}, {"v2", 2, 1, 1, 1, 1}}, "v1=2"},
		{"then new scaled up again", 3, "v2", "1", "0", []rs{{"v1", 1, 0, 2, 2, 2}, {"v2", 2, 1, 1, 1, 1}}, "v2=2"},
		{"surge 0: old scaled down in the same step the new one is created", 4, "v2", "0", "1",
			[]rs{{"v1", 1, 0, 4, 4, 4}}, "+v2=0 v1=3"},
		{"surge 0 unavailable 1: new grows into the room", 4, "v2", "0", "1", []rs{{"v1", 1, 0, 3, 3, 3}, {"v2", 2, 1, 0, 0, 0}}, "v2=1"},
		// As Kubernetes does, old pods go in the same step the new ReplicaSet is created when
		// maxUnavailable leaves room: surge 25% of 10 rounds up to 3, unavailable down to 2.
		{"percentages round surge up and unavailable down", 10, "v2", "25%", "25%", []rs{{"v1", 1, 0, 10, 10, 10}}, "+v2=3 v1=8"},
		{"both zero after rounding: unavailable becomes 1", 3, "v2", "0", "10%", []rs{{"v1", 1, 0, 3, 3, 3}, {"v2", 2, 1, 0, 0, 0}}, "v1=2"},
		{"unhealthy old pods are removed first", 3, "v2", "1", "1", []rs{{"v1", 1, 0, 3, 3, 1}, {"v2", 2, 1, 1, 1, 0}}, "v1=2"},
		{"unhealthy old pods within budget only", 3, "v2", "1", "0", []rs{{"v1", 1, 0, 3, 3, 1}, {"v2", 2, 1, 1, 1, 0}}, ""},
		{"oldest replicaset scaled down first", 4, "v3", "1", "1",
			[]rs{{"v1", 1, 0, 2, 2, 2}, {"v2", 2, 1, 2, 2, 2}, {"v3", 3, 2, 1, 1, 1}}, "v1=0"},
		{"new replicaset larger than desired is scaled down", 3, "v2", "1", "1", []rs{{"v2", 2, 1, 5, 5, 5}}, "v2=3"},
		{"complete rollout leaves old at zero", 3, "v2", "1", "1", []rs{{"v1", 1, 0, 0, 0, 0}, {"v2", 2, 1, 3, 3, 3}}, ""},
		{"rollover to a third template counts every old pod", 3, "v3", "1", "0",
			[]rs{{"v1", 1, 0, 2, 2, 2}, {"v2", 2, 1, 2, 2, 0}}, "+v3=0 v2=1"},
		{"recreate scales old down first", 3, "v2", "", "", []rs{{"v1", 1, 0, 3, 3, 3}}, "v1=0"},
		{"recreate waits for old pods", 3, "v2", "", "", []rs{{"v1", 1, 0, 0, 2, 0}}, ""},
		{"recreate creates the new one when old pods are gone", 3, "v2", "", "", []rs{{"v1", 1, 0, 0, 0, 0}}, "+v2=3"},
		{"recreate scales the new one up", 3, "v2", "", "", []rs{{"v1", 1, 0, 0, 0, 0}, {"v2", 2, 1, 1, 1, 1}}, "v2=3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dep(tc.replicas, tc.image, tc.surge, tc.unavailable)
			var rss []*api.ReplicaSet
			for _, r := range tc.rss {
				rss = append(rss, rsOf(d, r.image, r.rev, r.age, r.spec, r.have, r.avail))
			}
			p := Compute(Snapshot{Deployment: d, ReplicaSets: rss, Now: t0.Add(time.Hour)})
			if got := sizes(p); got != tc.want {
				t.Fatalf("plan %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProportionalScaling(t *testing.T) {
	type rs struct {
		image         string
		rev, age      int
		spec          int32
		desired, maxr int32
	}
	cases := []struct {
		name                  string
		from, to, surge, unav int32
		rss                   []rs
		want                  string
	}{
		// Kubernetes' documented example: 10 replicas (surge 3, unavailable 2) mid-rollout
		// with 8 old and 5 new pods, scaled to 15: 3 go to the old, 2 to the new.
		{"scale up mid-rollout", 10, 15, 3, 2, []rs{{"v1", 1, 0, 8, 10, 13}, {"v2", 2, 1, 5, 10, 13}}, "v1=11 v2=7"},
		{"scale down mid-rollout", 15, 10, 3, 2, []rs{{"v1", 1, 0, 11, 15, 18}, {"v2", 2, 1, 7, 15, 18}}, "v1=8 v2=5"},
		{"scale to zero", 10, 0, 3, 2, []rs{{"v1", 1, 0, 8, 10, 13}, {"v2", 2, 1, 5, 10, 13}}, "v1=0 v2=0"},
		{"single active replicaset takes it all", 3, 5, 1, 1, []rs{{"v1", 1, 0, 0, 3, 4}, {"v2", 2, 1, 3, 3, 4}}, "v2=5"},
		{"leftover goes to the largest, newer first", 10, 11, 3, 2, []rs{{"v1", 1, 0, 5, 10, 13}, {"v2", 2, 1, 5, 10, 13}}, "v1=5 v2=9"},
		{"rounding gives the larger one more", 10, 11, 3, 2, []rs{{"v1", 1, 0, 7, 10, 13}, {"v2", 2, 1, 6, 10, 13}}, "v1=8 v2=6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dep(tc.to, "v2", strconv.Itoa(int(tc.surge)), strconv.Itoa(int(tc.unav)))
			var rss []*api.ReplicaSet
			for _, r := range tc.rss {
				x := rsOf(d, r.image, r.rev, r.age, r.spec, r.spec, r.spec)
				x.Annotations[api.AnnotationDesiredReplicas] = strconv.Itoa(int(r.desired))
				x.Annotations[api.AnnotationMaxReplicas] = strconv.Itoa(int(r.maxr))
				rss = append(rss, x)
			}
			p := Compute(Snapshot{Deployment: d, ReplicaSets: rss, Now: t0})
			got := sizes(p)
			// Unchanged sizes still get their annotations rewritten; show every ReplicaSet.
			if got != tc.want {
				t.Fatalf("plan %q, want %q", got, tc.want)
			}
			for _, x := range p.Update {
				if x.Annotations[api.AnnotationDesiredReplicas] != strconv.Itoa(int(tc.to)) {
					t.Errorf("%s desired-replicas %q, want %d", x.Name, x.Annotations[api.AnnotationDesiredReplicas], tc.to)
				}
			}
		})
	}
}

func TestPaused(t *testing.T) {
	d := dep(3, "v2", "1", "0")
	d.Spec.Paused = true
	old := rsOf(d, "v1", 1, 0, 3, 3, 3)
	p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{old}, Now: t0})
	if p.Create != nil || len(p.Update) != 0 {
		t.Fatalf("paused deployment rolled out: %s", sizes(p))
	}
	if c := condition(p.Status, api.DeploymentProgressing); c == nil || c.Reason != ReasonDeploymentPaused || c.Status != api.ConditionUnknown {
		t.Fatalf("progressing condition %+v", c)
	}
	d.Spec.Replicas = api.Ptr[int32](5)
	p = Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{old}, Now: t0})
	if got := sizes(p); got != "v1=5" {
		t.Fatalf("paused deployment scaled %q, want v1=5", got)
	}
}

func TestHistoryCleanup(t *testing.T) {
	cases := []struct {
		name  string
		limit int32
		olds  [][3]int32 // spec, status replicas, generation lag
		want  string
	}{
		{"keeps limit", 2, [][3]int32{{0, 0, 0}, {0, 0, 0}}, ""},
		{"deletes oldest revisions beyond limit", 1, [][3]int32{{0, 0, 0}, {0, 0, 0}, {0, 0, 0}}, "-v1 -v2"},
		{"skips replicasets with pods", 1, [][3]int32{{0, 1, 0}, {0, 0, 0}, {0, 0, 0}}, "-v2"},
		{"skips replicasets whose status is stale", 0, [][3]int32{{0, 0, 1}, {0, 0, 0}}, "-v2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dep(3, "cur", "1", "1")
			d.Spec.RevisionHistoryLimit = api.Ptr(tc.limit)
			var rss []*api.ReplicaSet
			for i, o := range tc.olds {
				rs := rsOf(d, fmt.Sprintf("v%d", i+1), i+1, i, o[0], o[1], o[1])
				rs.Generation = 1 + int64(o[2])
				rs.Status.ObservedGeneration = 1
				rss = append(rss, rs)
			}
			cur := rsOf(d, "cur", len(tc.olds)+1, 100, 3, 3, 3)
			rss = append(rss, cur)
			d.Status = api.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}
			d.Annotations = map[string]string{api.AnnotationRevision: cur.Annotations[api.AnnotationRevision]}
			p := Compute(Snapshot{Deployment: d, ReplicaSets: rss, Now: t0})
			if got := sizes(p); got != tc.want {
				t.Fatalf("plan %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRevisions(t *testing.T) {
	t.Run("new replicaset gets max+1 and the deployment follows", func(t *testing.T) {
		d := dep(3, "v3", "1", "1")
		d.Annotations = map[string]string{api.AnnotationChangeCause: "bump", AnnotationLastApplied: "{}"}
		p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{
			rsOf(d, "v1", 1, 0, 0, 0, 0), rsOf(d, "v2", 4, 1, 3, 3, 3)}, Now: t0})
		if p.Create == nil {
			t.Fatal("no replicaset created")
		}
		a := p.Create.Annotations
		if a[api.AnnotationRevision] != "5" || a[api.AnnotationChangeCause] != "bump" || a[AnnotationLastApplied] != "" ||
			a[api.AnnotationDesiredReplicas] != "3" || a[api.AnnotationMaxReplicas] != "4" {
			t.Fatalf("new replicaset annotations %v", a)
		}
		if p.Annotations[api.AnnotationRevision] != "5" {
			t.Fatalf("deployment annotations %v", p.Annotations)
		}
		if p.Create.Name != "web-"+TemplateHash(&d.Spec.Template, nil) || p.Create.Spec.Selector.MatchLabels[api.LabelPodTemplateHash] == "" {
			t.Fatalf("new replicaset %s selector %v", p.Create.Name, p.Create.Spec.Selector)
		}
		if len(p.Events) != 2 || p.Events[0].Message != "Scaled up replica set "+p.Create.Name+" to 1" ||
			!strings.HasPrefix(p.Events[1].Message, "Scaled down replica set web-") {
			t.Fatalf("events %+v", p.Events)
		}
	})
	t.Run("undo re-uses the old replicaset with a new revision", func(t *testing.T) {
		d := dep(3, "v1", "1", "1")
		old := rsOf(d, "v1", 1, 0, 0, 0, 0)
		old.Annotations[api.AnnotationRevisionHistory] = ""
		delete(old.Annotations, api.AnnotationRevisionHistory)
		p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{old, rsOf(d, "v2", 2, 1, 3, 3, 3)}, Now: t0})
		if p.Create != nil {
			t.Fatal("undo created a new replicaset")
		}
		var back *api.ReplicaSet
		for _, rs := range p.Update {
			if rs.UID == old.UID {
				back = rs
			}
		}
		if back == nil || back.Annotations[api.AnnotationRevision] != "3" || back.Annotations[api.AnnotationRevisionHistory] != "1" {
			t.Fatalf("old replicaset after undo: %+v", back)
		}
		if p.Annotations[api.AnnotationRevision] != "3" {
			t.Fatalf("deployment revision %v", p.Annotations)
		}
	})
	t.Run("hash collision count changes the hash", func(t *testing.T) {
		d := dep(1, "v1", "1", "1")
		h0 := TemplateHash(&d.Spec.Template, nil)
		if h1 := TemplateHash(&d.Spec.Template, api.Ptr[int32](1)); h1 == h0 {
			t.Fatalf("collision count ignored: %s", h1)
		}
		if h := TemplateHash(&d.Spec.Template, nil); h != h0 {
			t.Fatalf("hash not stable: %s then %s", h0, h)
		}
		for _, r := range h0 {
			if !strings.ContainsRune(hashAlphabet, r) {
				t.Fatalf("hash %q has %q", h0, r)
			}
		}
	})
}

func TestConditions(t *testing.T) {
	t.Run("available and progressing", func(t *testing.T) {
		d := dep(3, "v1", "1", "1")
		p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{rsOf(d, "v1", 1, 0, 3, 3, 1)}, Now: t0})
		if c := condition(p.Status, api.DeploymentAvailable); c == nil || c.Status != api.ConditionFalse || c.Reason != ReasonMinimumReplicasUnavailable {
			t.Fatalf("available %+v", c)
		}
		if c := condition(p.Status, api.DeploymentProgressing); c == nil || c.Reason != ReasonReplicaSetUpdated {
			t.Fatalf("progressing %+v", c)
		}
		if p.RequeueAfter <= 0 {
			t.Fatalf("no progress check scheduled")
		}
	})
	t.Run("deadline exceeded without progress", func(t *testing.T) {
		d := dep(3, "v1", "1", "1")
		d.Spec.ProgressDeadlineSeconds = api.Ptr[int32](60)
		rs := rsOf(d, "v1", 1, 0, 3, 3, 1)
		d.Annotations = map[string]string{api.AnnotationRevision: "1"}
		d.Status = api.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 1, AvailableReplicas: 1, UnavailableReplicas: 2,
			Conditions: []api.DeploymentCondition{newCondition(api.DeploymentProgressing, api.ConditionTrue, ReasonReplicaSetUpdated, "x", t0)}}
		p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{rs}, Now: t0.Add(30 * time.Second)})
		if p.Status != nil && condition(p.Status, api.DeploymentProgressing).Reason != ReasonReplicaSetUpdated {
			t.Fatalf("timed out early: %+v", p.Status)
		}
		if p.RequeueAfter < 30*time.Second || p.RequeueAfter > 32*time.Second {
			t.Fatalf("progress check after %v, want about 31s", p.RequeueAfter)
		}
		p = Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{rs}, Now: t0.Add(61 * time.Second)})
		if c := condition(p.Status, api.DeploymentProgressing); c == nil || c.Status != api.ConditionFalse || c.Reason != ReasonProgressDeadlineExceeded {
			t.Fatalf("progressing %+v", c)
		}
	})
	t.Run("replica failure is copied", func(t *testing.T) {
		d := dep(3, "v1", "1", "1")
		rs := rsOf(d, "v1", 1, 0, 3, 0, 0)
		rs.Status.Conditions = []api.ReplicaSetCondition{{Type: api.DeploymentReplicaFailure, Status: api.ConditionTrue, Reason: "FailedCreate", Message: "quota"}}
		p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{rs}, Now: t0})
		if c := condition(p.Status, api.DeploymentReplicaFailure); c == nil || c.Message != "quota" {
			t.Fatalf("replica failure %+v", c)
		}
	})
}

func TestClaim(t *testing.T) {
	d := dep(3, "v1", "1", "1")
	orphan := rsOf(d, "v1", 1, 0, 3, 3, 3)
	orphan.OwnerReferences = nil
	other := rsOf(d, "v0", 1, 0, 3, 3, 3)
	other.Labels = map[string]string{"app": "other"}
	p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{orphan, other}, Now: t0})
	if len(p.Adopt) != 1 || len(p.Release) != 1 || p.Create != nil || p.Status != nil {
		t.Fatalf("claim plan: adopt %d release %d create %v status %v", len(p.Adopt), len(p.Release), p.Create, p.Status)
	}
	if !api.IsControlledBy(&p.Adopt[0].ObjectMeta, d.UID) || api.ControllerOf(&p.Release[0].ObjectMeta) != nil {
		t.Fatalf("owner references not rewritten")
	}
	if api.ControllerOf(&orphan.ObjectMeta) != nil {
		t.Fatal("snapshot mutated")
	}
}

func TestDeletingDeploymentOnlyUpdatesStatus(t *testing.T) {
	d := dep(3, "v2", "1", "1")
	d.DeletionTimestamp = api.Ptr(api.NewTime(t0))
	p := Compute(Snapshot{Deployment: d, ReplicaSets: []*api.ReplicaSet{rsOf(d, "v1", 1, 0, 3, 3, 3)}, Now: t0})
	if p.Create != nil || len(p.Update)+len(p.Delete) != 0 || p.Status == nil || p.Status.Replicas != 3 {
		t.Fatalf("plan for a deleting deployment: %s status %+v", sizes(p), p.Status)
	}
}

// TestRolloutSimulation drives Compute against a model of the replicaset controller in which
// pods become available one step after they are created, and checks at every step that a
// rolling update never runs more than desired+maxSurge pods nor fewer than
// desired-maxUnavailable available ones, and that it completes, with the plan then empty.
func TestRolloutSimulation(t *testing.T) {
	for _, tc := range []struct{ replicas, surge, unav int }{
		{1, 1, 0}, {3, 1, 0}, {3, 0, 1}, {5, 2, 2}, {10, 3, 2}, {10, 0, 3}, {7, 7, 0}, {4, 1, 4},
	} {
		t.Run(fmt.Sprintf("%d_surge%d_unavailable%d", tc.replicas, tc.surge, tc.unav), func(t *testing.T) {
			d := dep(int32(tc.replicas), "v1", strconv.Itoa(tc.surge), strconv.Itoa(tc.unav))
			sim := &simulation{d: d, now: t0}
			sim.run(t, 10)
			if sim.available() != tc.replicas {
				t.Fatalf("first rollout: %d available", sim.available())
			}
			sim.d.Spec.Template.Spec.Containers[0].Image = "v2"
			sim.d.Generation++
			maxSurge, maxUnav := Fenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, int32(tc.replicas))
			sim.check = func(t *testing.T) {
				if total := sim.total(); total > tc.replicas+int(maxSurge) {
					t.Fatalf("step %d: %d pods, more than %d+%d", sim.steps, total, tc.replicas, maxSurge)
				}
				if a := sim.available(); a < tc.replicas-int(maxUnav) {
					t.Fatalf("step %d: %d available, fewer than %d-%d", sim.steps, a, tc.replicas, maxUnav)
				}
			}
			sim.run(t, 4*tc.replicas+10)
			for _, rs := range sim.rss {
				want := int32(0)
				if rs.Spec.Template.Spec.Containers[0].Image == "v2" {
					want = int32(tc.replicas)
				}
				if replicas(rs) != want || rs.Status.AvailableReplicas != want {
					t.Fatalf("after rollout %s: spec %d available %d, want %d", rs.Name, replicas(rs), rs.Status.AvailableReplicas, want)
				}
			}
		})
	}
}

type simulation struct {
	d     *api.Deployment
	rss   []*api.ReplicaSet
	now   time.Time
	steps int
	check func(t *testing.T)
	uids  int
}

func (s *simulation) total() int {
	n := 0
	for _, rs := range s.rss {
		n += int(rs.Status.Replicas)
	}
	return n
}

func (s *simulation) available() int {
	n := 0
	for _, rs := range s.rss {
		n += int(rs.Status.AvailableReplicas)
	}
	return n
}

// run steps until a plan is empty twice in a row with every pod available, or fails after max.
func (s *simulation) run(t *testing.T, max int) {
	t.Helper()
	for ; ; s.steps++ {
		if s.steps > 1000 || max == 0 {
			t.Fatalf("no convergence after %d steps: %+v", s.steps, s.d.Status)
		}
		max--
		s.now = s.now.Add(time.Second)
		p := Compute(Snapshot{Deployment: s.d, ReplicaSets: s.rss, Now: s.now})
		if p.Empty() && s.settled() {
			return
		}
		s.apply(p)
		// The replicaset controller: pods that existed a step ago become available; new
		// pods are created now, surplus ones deleted at once.
		for _, rs := range s.rss {
			want := replicas(rs)
			rs.Status.AvailableReplicas = min(want, rs.Status.Replicas)
			rs.Status.ReadyReplicas = rs.Status.AvailableReplicas
			rs.Status.Replicas = want
			rs.Status.ObservedGeneration = rs.Generation
		}
		if s.check != nil {
			s.check(t)
		}
	}
}

func (s *simulation) settled() bool {
	for _, rs := range s.rss {
		if rs.Status.Replicas != replicas(rs) || rs.Status.AvailableReplicas != replicas(rs) {
			return false
		}
	}
	return true
}

func (s *simulation) apply(p Plan) {
	if p.Create != nil {
		rs := controller.Clone(p.Create)
		s.uids++
		rs.UID = fmt.Sprintf("uid-%d", s.uids)
		rs.CreationTimestamp = api.NewTime(s.now)
		s.rss = append(s.rss, rs)
	}
	for _, up := range p.Update {
		for i, rs := range s.rss {
			if rs.UID == up.UID {
				s.rss[i] = controller.Clone(up)
			}
		}
	}
	for _, del := range p.Delete {
		for i, rs := range s.rss {
			if rs.UID == del.UID {
				s.rss = append(s.rss[:i], s.rss[i+1:]...)
				break
			}
		}
	}
	if p.Annotations != nil {
		s.d.Annotations = p.Annotations
	}
	if p.Status != nil {
		s.d.Status = *p.Status
	}
}

// BenchmarkDeploymentCompute measures one rolling-update step of a 1,000-replica Deployment
// with ten old ReplicaSets.
func BenchmarkDeploymentCompute(b *testing.B) {
	d := dep(1000, "v11", "25%", "25%")
	var rss []*api.ReplicaSet
	for i := 1; i <= 10; i++ {
		rss = append(rss, rsOf(d, fmt.Sprintf("v%d", i), i, i, 0, 0, 0))
	}
	rss[9].Spec.Replicas, rss[9].Status.Replicas, rss[9].Status.AvailableReplicas = api.Ptr[int32](900), 900, 900
	rss = append(rss, rsOf(d, "v11", 11, 11, 350, 350, 100))
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		Compute(Snapshot{Deployment: d, ReplicaSets: rss, Now: now})
	}
}
