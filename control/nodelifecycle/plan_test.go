package nodelifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func node(ready api.ConditionStatus, reason string, since time.Time) *api.Node {
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1", CreationTimestamp: api.NewTime(t0.Add(-time.Hour))}}
	if ready != "" {
		n.Status.Conditions = []api.NodeCondition{{Type: api.NodeReady, Status: ready, Reason: reason,
			LastHeartbeatTime: api.NewTime(t0.Add(-time.Minute)), LastTransitionTime: api.NewTime(since)}}
	}
	return n
}

func lease(renew time.Time) *api.Lease {
	return &api.Lease{ObjectMeta: api.ObjectMeta{Name: "n1", Namespace: api.NamespaceNodeLease},
		Spec: api.LeaseSpec{RenewTime: &api.MicroTime{Time: renew}}}
}

func podOn(name string, ready bool) *api.Pod {
	st := api.ConditionFalse
	if ready {
		st = api.ConditionTrue
	}
	return &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name},
		Spec:   api.PodSpec{NodeName: "n1"},
		Status: api.PodStatus{Phase: api.PodRunning, Conditions: []api.PodCondition{{Type: api.PodReady, Status: st}}}}
}

func TestObserve(t *testing.T) {
	n := node(api.ConditionTrue, "KubeletReady", t0)
	h := Observe(nil, n, lease(t0), t0.Add(time.Second))
	if !h.ProbeTime.Equal(t0.Add(time.Second)) {
		t.Fatalf("first sight probe %v", h.ProbeTime)
	}
	h2 := Observe(&h, n, lease(t0), t0.Add(5*time.Second))
	if !h2.ProbeTime.Equal(h.ProbeTime) {
		t.Fatalf("no renewal moved the probe to %v", h2.ProbeTime)
	}
	// The runner's clock may be far behind: what matters is that the renew time moved.
	h3 := Observe(&h2, n, lease(t0.Add(-time.Hour+time.Millisecond)), t0.Add(6*time.Second))
	if !h3.ProbeTime.Equal(h2.ProbeTime) {
		t.Fatal("an older renew time counted as a renewal")
	}
	h4 := Observe(&h2, n, lease(t0.Add(time.Millisecond)), t0.Add(7*time.Second))
	if !h4.ProbeTime.Equal(t0.Add(7 * time.Second)) {
		t.Fatalf("renewal not seen: probe %v", h4.ProbeTime)
	}
}

func TestCompute(t *testing.T) {
	cfg := Config{GracePeriod: 3 * time.Second, EvictionTimeout: 5 * time.Second}
	probe := Health{ProbeTime: t0}
	cases := []struct {
		name     string
		node     *api.Node
		now      time.Duration // after t0
		pods     []*api.Pod
		status   string // "" = unchanged, else "Status/Reason"
		notReady string
		evict    string
		requeue  time.Duration
	}{
		{"renewed within grace", node(api.ConditionTrue, "KubeletReady", t0), 2 * time.Second,
			[]*api.Pod{podOn("a", true)}, "", "", "", time.Second + 10*time.Millisecond},
		{"silent past grace turns Unknown and marks pods not ready", node(api.ConditionTrue, "KubeletReady", t0), 4 * time.Second,
			[]*api.Pod{podOn("a", true), podOn("b", false)}, "Unknown/NodeStatusUnknown", "a", "", 5*time.Second + 10*time.Millisecond},
		{"never reported", node("", "", t0), 4 * time.Second, nil, "Unknown/NodeStatusNeverUpdated", "", "", 0},
		{"unknown for less than the eviction timeout", node(api.ConditionUnknown, ReasonNodeStatusUnknown, t0.Add(4*time.Second)), 6 * time.Second,
			[]*api.Pod{podOn("a", false)}, "", "", "", 3*time.Second + 10*time.Millisecond},
		{"unknown past the eviction timeout evicts", node(api.ConditionUnknown, ReasonNodeStatusUnknown, t0.Add(4*time.Second)), 9 * time.Second,
			[]*api.Pod{podOn("a", false), podOn("b", false)}, "", "", "a b", 0},
		{"renewed again turns Ready", node(api.ConditionUnknown, ReasonNodeStatusUnknown, t0.Add(-time.Minute)), time.Second,
			nil, "True/KubeletReady", "", "", 2*time.Second + 10*time.Millisecond},
		{"a runner's own NotReady is left alone", node(api.ConditionFalse, "RunnerBroken", t0), time.Second,
			[]*api.Pod{podOn("a", true)}, "", "", "", 2*time.Second + 10*time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Compute(tc.node, probe, tc.pods, t0.Add(tc.now), cfg)
			status := ""
			if p.Status != nil {
				r := readyCondition(p.Status)
				status = string(r.Status) + "/" + r.Reason
				if r.Status == api.ConditionUnknown && !r.LastTransitionTime.Equal(t0.Add(tc.now)) {
					t.Errorf("transition time %v", r.LastTransitionTime)
				}
			}
			var nr, ev []string
			for _, x := range p.NotReady {
				nr = append(nr, x.Name)
				if c := x.Status.Conditions[0]; c.Status != api.ConditionFalse || c.Reason != "NodeNotReady" {
					t.Errorf("pod %s ready condition %+v", x.Name, c)
				}
			}
			for _, x := range p.Evict {
				ev = append(ev, x.Name)
			}
			if status != tc.status || strings.Join(nr, " ") != tc.notReady || strings.Join(ev, " ") != tc.evict || p.RequeueAfter != tc.requeue {
				t.Fatalf("status %q notReady %q evict %q requeue %v; want %q %q %q %v",
					status, nr, ev, p.RequeueAfter, tc.status, tc.notReady, tc.evict, tc.requeue)
			}
			if tc.pods != nil && tc.pods[0].Status.Conditions[0].Reason != "" {
				t.Fatal("input pod mutated")
			}
		})
	}
}

func TestImmediateEviction(t *testing.T) {
	cfg := Config{GracePeriod: 3 * time.Second}
	p := Compute(node(api.ConditionTrue, "KubeletReady", t0), Health{ProbeTime: t0}, []*api.Pod{podOn("a", true)}, t0.Add(4*time.Second), cfg)
	if p.Status == nil || len(p.NotReady) != 1 || len(p.Evict) != 1 {
		t.Fatalf("eviction timeout 0: status %v notReady %d evict %d", p.Status != nil, len(p.NotReady), len(p.Evict))
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{}, {GracePeriod: -1}, {GracePeriod: time.Second, EvictionTimeout: -1}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range []Config{Default(), FastFailover()} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}
