package hollow

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestActionFor(t *testing.T) {
	deleting := api.NewTime(t0)
	tests := []struct {
		name string
		pod  api.Pod
		want podAction
	}{
		{"new", api.Pod{}, podStart},
		{"pending", api.Pod{Status: api.PodStatus{Phase: api.PodPending}}, podStart},
		{"running", api.Pod{Status: api.PodStatus{Phase: api.PodRunning}}, podNothing},
		{"succeeded", api.Pod{Status: api.PodStatus{Phase: api.PodSucceeded}}, podNothing},
		{"failed", api.Pod{Status: api.PodStatus{Phase: api.PodFailed}}, podNothing},
		{"deleting pending", api.Pod{ObjectMeta: api.ObjectMeta{DeletionTimestamp: &deleting}}, podTerminate},
		{"deleting running", api.Pod{ObjectMeta: api.ObjectMeta{DeletionTimestamp: &deleting},
			Status: api.PodStatus{Phase: api.PodRunning}}, podTerminate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := actionFor(&tt.pod); got != tt.want {
				t.Errorf("actionFor = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRunningStatus(t *testing.T) {
	earlier := api.NewTime(t0.Add(-time.Hour))
	tests := []struct {
		name   string
		status api.PodStatus
		policy string
	}{
		{"fresh", api.PodStatus{}, api.RestartAlways},
		{"never restarts", api.PodStatus{Phase: api.PodPending}, api.RestartNever},
		{"on failure", api.PodStatus{Phase: api.PodPending}, api.RestartOnFailure},
		{"keeps foreign fields", api.PodStatus{
			Phase: api.PodPending, QOSClass: "BestEffort", StartTime: &earlier,
			Conditions: []api.PodCondition{
				{Type: api.PodScheduled, Status: api.ConditionTrue, LastTransitionTime: earlier},
				{Type: "example.com/gate", Status: api.ConditionFalse},
			},
		}, api.RestartAlways},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &api.Pod{
				ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default", UID: "u-1"},
				Spec: api.PodSpec{RestartPolicy: tt.policy, Containers: []api.Container{
					{Name: "app", Image: "hello:1"}, {Name: "side", Image: "log@sha256:ab"}}},
				Status: tt.status,
			}
			st := runningStatus(p, "127.1.0.1", "127.2.0.9", t0)
			if st.Phase != api.PodRunning || st.HostIP != "127.1.0.1" || st.PodIP != "127.2.0.9" ||
				len(st.PodIPs) != 1 || st.PodIPs[0].IP != "127.2.0.9" {
				t.Fatalf("phase/addresses: %+v", st)
			}
			wantStart := t0
			if tt.status.StartTime != nil {
				wantStart = tt.status.StartTime.Time
			}
			if st.StartTime == nil || !st.StartTime.Equal(wantStart) {
				t.Errorf("startTime = %v, want %v", st.StartTime, wantStart)
			}
			if st.QOSClass != tt.status.QOSClass {
				t.Errorf("qosClass = %q, want %q", st.QOSClass, tt.status.QOSClass)
			}
			conds := map[string]api.PodCondition{}
			for _, c := range st.Conditions {
				conds[c.Type] = c
			}
			for _, typ := range []string{api.PodScheduled, api.PodInitialized, api.ContainersReady, api.PodReady} {
				if conds[typ].Status != api.ConditionTrue {
					t.Errorf("condition %s = %+v, want True", typ, conds[typ])
				}
			}
			for _, c := range tt.status.Conditions {
				if c.Type == "example.com/gate" && conds[c.Type].Status != api.ConditionFalse {
					t.Errorf("foreign condition lost: %+v", st.Conditions)
				}
				if c.Type == api.PodScheduled && !conds[c.Type].LastTransitionTime.Equal(earlier.Time) {
					t.Errorf("PodScheduled transition time = %v, want kept %v", conds[c.Type].LastTransitionTime, earlier)
				}
			}
			if len(st.ContainerStatuses) != 2 {
				t.Fatalf("container statuses: %+v", st.ContainerStatuses)
			}
			for i, cs := range st.ContainerStatuses {
				c := p.Spec.Containers[i]
				if cs.Name != c.Name || cs.Image != c.Image || cs.ImageID != "hollow://"+c.Image ||
					cs.ContainerID != "hollow://u-1/"+c.Name || !cs.Ready || cs.RestartCount != 0 ||
					cs.Started == nil || !*cs.Started || cs.State.Running == nil ||
					!cs.State.Running.StartedAt.Equal(t0) {
					t.Errorf("container status %d = %+v", i, cs)
				}
			}
			if p.Status.Phase == api.PodRunning {
				t.Error("runningStatus mutated the pod")
			}
		})
	}
}

func TestNodeAddress(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{{0, "127.1.0.1"}, {1, "127.1.0.2"}, {254, "127.1.0.255"}, {255, "127.1.1.0"}, {MaxNodes - 1, "127.1.255.254"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			a := NodeAddress(tt.i)
			if a.String() != tt.want || !a.IsLoopback() {
				t.Errorf("NodeAddress(%d) = %v, want loopback %s", tt.i, a, tt.want)
			}
		})
	}
}

func TestPodAddresses(t *testing.T) {
	t.Run("sequential and stable", func(t *testing.T) {
		p := newPodAddresses()
		a, _ := p.assign("ns/a")
		b, _ := p.assign("ns/b")
		again, _ := p.assign("ns/a")
		if a.String() != "127.2.0.1" || b.String() != "127.2.0.2" || again != a {
			t.Errorf("got %v %v %v", a, b, again)
		}
	})
	t.Run("skips observed", func(t *testing.T) {
		p := newPodAddresses()
		p.observe("ns/old", "127.2.0.1")
		p.observe("ns/real", "10.0.0.1") // not ours: ignored
		p.observe("ns/bad", "not an address")
		a, _ := p.assign("ns/new")
		if a.String() != "127.2.0.2" || p.len() != 2 {
			t.Errorf("assigned %v with %d held", a, p.len())
		}
		if again, _ := p.assign("ns/old"); again.String() != "127.2.0.1" {
			t.Errorf("observed pod got %v", again)
		}
	})
	t.Run("release and wrap", func(t *testing.T) {
		p := newPodAddresses()
		p.next = podSpan - 1
		last, _ := p.assign("ns/last")
		first, _ := p.assign("ns/first")
		if last.String() != "127.255.255.254" || first.String() != "127.2.0.1" {
			t.Errorf("wrap: %v %v", last, first)
		}
		p.release("ns/first")
		p.release("ns/never")
		p.next = 0
		if again, _ := p.assign("ns/other"); again.String() != "127.2.0.1" {
			t.Errorf("released address not reused: %v", again)
		}
	})
	t.Run("moved", func(t *testing.T) {
		p := newPodAddresses()
		p.observe("ns/a", "127.2.0.5")
		p.observe("ns/a", "127.2.0.6")
		if p.len() != 1 {
			t.Errorf("held %d, want 1", p.len())
		}
	})
}

func TestPodAddressesConcurrent(t *testing.T) {
	p := newPodAddresses()
	const goroutines, each = 16, 500
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("ns/p-%d-%d", g, i)
				a, err := p.assign(key)
				if err != nil {
					t.Error(err)
					return
				}
				p.observe(key, a.String())
				mu.Lock()
				if other, dup := seen[a.String()]; dup {
					t.Errorf("%s given to %s and %s", a, other, key)
				}
				seen[a.String()] = key
				mu.Unlock()
				if i%2 == 0 {
					p.release(key)
					mu.Lock()
					delete(seen, a.String())
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if p.len() != goroutines*each/2 {
		t.Errorf("held %d, want %d", p.len(), goroutines*each/2)
	}
}

func TestConfig(t *testing.T) {
	c, err := client.New(&client.Config{Server: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no client", func(c *Config) { c.Client = nil }, "Client"},
		{"no nodes", func(c *Config) { c.Nodes = 0 }, "Nodes"},
		{"too many nodes", func(c *Config) { c.Nodes = MaxNodes + 1 }, "Nodes"},
		{"renew too slow", func(c *Config) { c.RenewInterval = time.Minute }, "RenewInterval"},
		{"bad prefix", func(c *Config) { c.NamePrefix = "Hollow_" }, "NamePrefix"},
		{"long prefix", func(c *Config) { c.NamePrefix = strings.Repeat("a", 60) }, "NamePrefix"},
		{"bad label", func(c *Config) { c.Labels = map[string]string{"a b": "x"} }, "Labels"},
		{"negative delay", func(c *Config) { c.StartupDelay = -time.Second }, "StartupDelay"},
		{"bad node label", func(c *Config) {
			c.NodeLabels = func(i int) map[string]string { return map[string]string{"zone": strings.Repeat("z", i*40)} }
		}, "NodeLabels(2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Client: c, Nodes: 3}
			tt.mod(&cfg)
			cfg.Default()
			err := cfg.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate = %v, want error mentioning %q", err, tt.wantErr)
			}
		})
	}
	zones := []string{"a", "b", "c"}
	cfg := Config{Client: c, Nodes: 12, Labels: map[string]string{"zone": "all", "team": "x"},
		NodeLabels: func(i int) map[string]string { return map[string]string{"zone": zones[i%3]} }}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	names := r.NodeNames()
	if len(names) != 12 || names[0] != "hollow-00000" || names[11] != "hollow-00011" {
		t.Errorf("names = %v", names)
	}
	n := r.cfg.node(11)
	if n.Labels[api.LabelHostname] != "hollow-00011" || n.Labels[LabelHollow] != "true" ||
		n.Status.Addresses[0].Address != "127.1.0.12" || n.Status.Capacity[api.ResourcePods].Value() != 110 ||
		n.Labels["zone"] != "c" || n.Labels["team"] != "x" {
		t.Errorf("node 11 = %+v", n)
	}
}
