package replicaset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/controller"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func testRS(replicas int32) *api.ReplicaSet {
	l := map[string]string{"app": "web"}
	return &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default", UID: "rs-uid", Generation: 2},
		Spec: api.ReplicaSetSpec{
			Replicas: api.Ptr(replicas),
			Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}},
		},
	}
}

// pod builds a pod from a terse description: "name[,node=N][,phase=P][,ready[=secondsAgo]]
// [,restarts=R][,age=minutes][,orphan][,other][,labels=k:v][,deleting][,cost=C]".
func pod(desc string) *api.Pod {
	f := strings.Split(desc, ",")
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: f[0], Namespace: "default", UID: "uid-" + f[0],
			Labels:            map[string]string{"app": "web", "tier": "front"},
			CreationTimestamp: api.NewTime(t0),
			OwnerReferences:   []api.OwnerReference{controller.ControllerRef(&testRS(0).ObjectMeta, "apps/v1", "ReplicaSet")}},
		Status: api.PodStatus{Phase: api.PodRunning},
	}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "node":
			p.Spec.NodeName = v
		case "phase":
			p.Status.Phase = v
		case "ready":
			ago := 0
			fmt.Sscan(v, &ago)
			p.Status.Conditions = append(p.Status.Conditions, api.PodCondition{Type: api.PodReady, Status: api.ConditionTrue,
				LastTransitionTime: api.NewTime(t0.Add(time.Hour - time.Duration(ago)*time.Second))})
		case "restarts":
			var n int32
			fmt.Sscan(v, &n)
			p.Status.ContainerStatuses = []api.ContainerStatus{{Name: "app", RestartCount: n}}
		case "age":
			var m int
			fmt.Sscan(v, &m)
			p.CreationTimestamp = api.NewTime(t0.Add(time.Hour - time.Duration(m)*time.Minute))
		case "orphan":
			p.OwnerReferences = nil
		case "other":
			p.OwnerReferences[0].UID = "someone-else"
		case "labels":
			lk, lv, _ := strings.Cut(v, ":")
			p.Labels = map[string]string{lk: lv}
		case "deleting":
			p.DeletionTimestamp = api.Ptr(api.NewTime(t0))
		case "cost":
			p.Annotations = map[string]string{AnnotationDeletionCost: v}
		}
	}
	return p
}

func pods(descs ...string) []*api.Pod {
	var out []*api.Pod
	for _, d := range descs {
		out = append(out, pod(d))
	}
	return out
}

func names(ps []*api.Pod) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.Name)
	}
	return strings.Join(n, " ")
}

func TestPodsToDelete(t *testing.T) {
	now := t0.Add(time.Hour)
	cases := []struct {
		name    string
		pods    []string
		related []string
		n       int
		want    string
	}{
		{"unscheduled before scheduled", []string{"a,node=n1,ready", "b,phase=Pending"}, nil, 1, "b"},
		{"pending before unknown before running", []string{"r,node=n,phase=Running", "u,node=n,phase=Unknown", "p,node=n,phase=Pending"}, nil, 2, "p u"},
		{"not ready before ready", []string{"a,node=n,ready", "b,node=n"}, nil, 1, "b"},
		{"lower deletion cost first", []string{"a,node=n,ready,cost=10", "b,node=n,ready,cost=-5", "c,node=n,ready"}, nil, 2, "b c"},
		{"doubled-up nodes first", []string{"a,node=n1,ready", "b,node=n2,ready"}, []string{"a,node=n1", "b,node=n2", "x,node=n2"}, 1, "b"},
		{"ready more recently first (log buckets)", []string{"old,node=n,ready=3000", "new,node=n,ready=10"}, nil, 1, "new"},
		{"same bucket: more restarts first", []string{"a,node=n,ready=100,restarts=1", "b,node=n,ready=101,restarts=5"}, nil, 1, "b"},
		{"then newer first", []string{"a,node=n,age=50", "b,node=n,age=5"}, nil, 1, "b"},
		{"all when n covers them", []string{"a", "b"}, nil, 5, "a b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := names(PodsToDelete(pods(tc.pods...), pods(tc.related...), tc.n, now))
			if got != tc.want {
				t.Fatalf("deleted %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompute(t *testing.T) {
	cases := []struct {
		name                string
		replicas            int32
		pods                []string
		manage              bool
		deleting            bool
		create              int
		del, adopt, release string
		owned               int
	}{
		{"creates what is missing", 3, []string{"a"}, true, false, 2, "", "", "", 1},
		{"bounded by burst", 1000, nil, true, false, BurstReplicas, "", "", "", 0},
		{"deletes surplus, worst first", 1, []string{"a,node=n,ready", "b,node=n"}, true, false, 0, "b", "", "", 2},
		{"terminating and finished pods do not count", 2, []string{"a,deleting", "b,phase=Succeeded", "c"}, true, false, 1, "", "", "", 1},
		{"adopts matching orphans", 2, []string{"a", "b,orphan"}, true, false, 0, "", "b", "", 2},
		{"ignores pods of other controllers", 1, []string{"a,other"}, true, false, 1, "", "", "", 0},
		{"releases pods that stop matching", 1, []string{"a", "b,labels=app:other"}, true, false, 0, "", "", "b", 1},
		{"does not adopt terminating orphans", 1, []string{"a,orphan,deleting"}, true, false, 1, "", "", "", 0},
		{"waits for expectations", 3, []string{"a"}, false, false, 0, "", "", "", 1},
		{"a deleting replicaset neither creates, adopts nor releases", 3, []string{"a", "b,orphan", "c,labels=x:y"}, true, true, 0, "", "", "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := testRS(tc.replicas)
			if tc.deleting {
				rs.DeletionTimestamp = api.Ptr(api.NewTime(t0))
			}
			p := Compute(Snapshot{RS: rs, Pods: pods(tc.pods...), Manage: tc.manage, Now: t0.Add(time.Hour)})
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			if p.Create != tc.create || names(p.Delete) != tc.del || names(p.Adopt) != tc.adopt ||
				names(p.Release) != tc.release || len(p.Owned) != tc.owned {
				t.Fatalf("create %d delete %q adopt %q release %q owned %d; want %d %q %q %q %d",
					p.Create, names(p.Delete), names(p.Adopt), names(p.Release), len(p.Owned),
					tc.create, tc.del, tc.adopt, tc.release, tc.owned)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	now := t0.Add(time.Hour)
	rs := testRS(4)
	rs.Spec.MinReadySeconds = 30
	owned := pods("a,ready=60", "b,ready=10", "c", "d,labels=app:web")
	st := Status(rs, owned, nil, now)
	want := api.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 1, ObservedGeneration: 2}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Fatalf("status %+v, want %+v", st, want)
	}
	p := Compute(Snapshot{RS: rs, Pods: owned, Manage: false, Now: now})
	if p.RequeueAfter <= 19*time.Second || p.RequeueAfter > 21*time.Second {
		t.Fatalf("requeue after %v, want about 20s (b becomes available)", p.RequeueAfter)
	}

	t.Run("failure condition set then cleared", func(t *testing.T) {
		st := Status(rs, owned[:1], errors.New("quota exceeded"), now)
		if len(st.Conditions) != 1 || st.Conditions[0].Reason != ReasonFailedCreate || st.Conditions[0].Message != "quota exceeded" {
			t.Fatalf("conditions %+v", st.Conditions)
		}
		rs := controller.Clone(rs)
		rs.Status = st
		if again := Status(rs, owned[:1], errors.New("other"), now.Add(time.Minute)); !slices.Equal(again.Conditions, st.Conditions) {
			t.Fatalf("existing condition replaced: %+v", again.Conditions)
		}
		if cleared := Status(rs, owned[:1], nil, now); cleared.Conditions != nil {
			t.Fatalf("condition not cleared: %+v", cleared.Conditions)
		}
	})
}

func TestSlowStartBatches(t *testing.T) {
	for n, want := range map[int][]int{0: nil, 1: {1}, 3: {1, 2}, 10: {1, 2, 4, 3}, 500: {1, 2, 4, 8, 16, 32, 64, 128, 245}} {
		if got := SlowStartBatches(n); !slices.Equal(got, want) {
			t.Errorf("SlowStartBatches(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestNewPod(t *testing.T) {
	rs := testRS(1)
	p := NewPod(rs)
	ref := api.ControllerOf(&p.ObjectMeta)
	if p.GenerateName != "web-" || p.Name != "" || p.Namespace != "default" || ref == nil || ref.UID != rs.UID ||
		!api.Deref(ref.BlockOwnerDeletion, false) || p.Labels["tier"] != "front" || p.Spec.Containers[0].Image != "hello:1" {
		t.Fatalf("pod %+v", p)
	}
	p.Labels["x"] = "y"
	if _, ok := rs.Spec.Template.Labels["x"]; ok {
		t.Fatal("pod shares the template's labels")
	}
}

// BenchmarkReplicaSetReconcile measures the pure part of one reconcile of a 1,000-replica
// ReplicaSet in a namespace of 2,000 pods, with 100 surplus pods to choose for deletion.
func BenchmarkReplicaSetReconcile(b *testing.B) {
	rs := testRS(1000)
	var ps []*api.Pod
	for i := range 1100 {
		ps = append(ps, pod(fmt.Sprintf("p%d,node=n%d,ready=%d,restarts=%d", i, i%10, i, i%3)))
	}
	for i := range 900 {
		ps = append(ps, pod(fmt.Sprintf("x%d,other", i)))
	}
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		p := Compute(Snapshot{RS: rs, Pods: ps, Manage: true, Now: now})
		if len(p.Delete) != 100 {
			b.Fatal(len(p.Delete))
		}
		_ = Status(rs, p.Owned, nil, now)
	}
}
