package endpoints

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func svc(ports ...api.ServicePort) *api.Service {
	return &api.Service{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"team": "a"}},
		Spec:       api.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: ports, ClusterIP: "10.0.0.10"},
	}
}

func port(name string, p int32, target api.IntOrString) api.ServicePort {
	return api.ServicePort{Name: name, Port: p, Protocol: "TCP", TargetPort: target}
}

// testPod is a pod of app=web named name with ip (or "" for none), ready or not, declaring the
// named container ports "name:number".
func testPod(name, ip string, ready bool, ports ...string) *api.Pod {
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name, Labels: map[string]string{"app": "web"}},
		Spec:       api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "app"}}},
		Status:     api.PodStatus{Phase: api.PodRunning, PodIP: ip},
	}
	st := api.ConditionFalse
	if ready {
		st = api.ConditionTrue
	}
	p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: st}}
	for _, cp := range ports {
		n, num, _ := strings.Cut(cp, ":")
		var v int32
		fmt.Sscan(num, &v)
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, api.ContainerPort{Name: n, ContainerPort: v, Protocol: "TCP"})
	}
	return p
}

// render prints subsets tersely: "[a b | c ; http:8080 metrics:9090]" per subset, ready
// addresses by pod name, then not-ready ones, then ports.
func render(ep *api.Endpoints) string {
	var parts []string
	for _, s := range ep.Subsets {
		var a, n, p []string
		for _, x := range s.Addresses {
			a = append(a, x.TargetRef.Name)
		}
		for _, x := range s.NotReadyAddresses {
			n = append(n, x.TargetRef.Name)
		}
		for _, x := range s.Ports {
			p = append(p, fmt.Sprintf("%s:%d", x.Name, x.Port))
		}
		parts = append(parts, fmt.Sprintf("[%s | %s ; %s]", strings.Join(a, " "), strings.Join(n, " "), strings.Join(p, " ")))
	}
	return strings.Join(parts, " ")
}

func TestDesired(t *testing.T) {
	terminating := testPod("t", "10.0.0.9", true)
	terminating.DeletionTimestamp = &api.Time{}
	other := testPod("o", "10.0.0.8", true)
	other.Labels = map[string]string{"app": "db"}
	hostOnly := testPod("h", "", true)
	hostOnly.Status.HostIP = "192.168.1.5"
	failed := testPod("f", "10.0.0.7", false)
	failed.Status.Phase = api.PodFailed
	cases := []struct {
		name string
		svc  *api.Service
		pods []*api.Pod
		want string
	}{
		{"ready and not ready", svc(port("http", 80, api.FromInt(8080))),
			[]*api.Pod{testPod("a", "10.0.0.1", true), testPod("b", "10.0.0.2", false), testPod("c", "10.0.0.3", true)},
			"[a c | b ; http:8080]"},
		{"terminating, finished, unselected and ip-less pods are left out", svc(port("http", 80, api.FromInt(8080))),
			[]*api.Pod{terminating, other, failed, testPod("n", "", true), testPod("a", "10.0.0.1", true)},
			"[a |  ; http:8080]"},
		{"host ip when there is no pod ip", svc(port("http", 80, api.FromInt(8080))), []*api.Pod{hostOnly}, "[h |  ; http:8080]"},
		{"unset target port is the service port", svc(port("", 80, api.IntOrString{})), []*api.Pod{testPod("a", "10.0.0.1", true)}, "[a |  ; :80]"},
		{"named target ports resolve per pod; unresolved pods skipped",
			svc(port("http", 80, api.FromString("web"))),
			[]*api.Pod{testPod("a", "10.0.0.1", true, "web:8080"), testPod("b", "10.0.0.2", true, "web:9000"), testPod("c", "10.0.0.3", true)},
			"[a |  ; http:8080] [b |  ; http:9000]"},
		// As Kubernetes' RepackSubsets: each port goes with the exact set of pods serving it.
		{"ports served by the same pods share a subset",
			svc(port("http", 80, api.FromString("web")), port("metrics", 9090, api.FromInt(9090))),
			[]*api.Pod{testPod("a", "10.0.0.1", true, "web:8080"), testPod("b", "10.0.0.2", false, "web:8080"), testPod("c", "10.0.0.3", true)},
			"[a | b ; http:8080] [a c | b ; metrics:9090]"},
		{"pods serving the same ports share one subset",
			svc(port("http", 80, api.FromString("web")), port("metrics", 9090, api.FromInt(9090))),
			[]*api.Pod{testPod("a", "10.0.0.1", true, "web:8080"), testPod("b", "10.0.0.2", false, "web:8080")},
			"[a | b ; http:8080 metrics:9090]"},
		{"no pods: no subsets", svc(port("http", 80, api.FromInt(8080))), nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := Desired(tc.svc, tc.pods)
			if got := render(ep); got != tc.want {
				t.Fatalf("subsets %s, want %s", got, tc.want)
			}
			if ep.Name != "web" || ep.Labels["team"] != "a" {
				t.Fatalf("endpoints meta %+v", ep.ObjectMeta)
			}
			// Canonical: the same input in another order gives the same bytes.
			rev := append([]*api.Pod(nil), tc.pods...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			a, _ := json.Marshal(ep)
			b, _ := json.Marshal(Desired(tc.svc, rev))
			if string(a) != string(b) {
				t.Fatalf("order-dependent result:\n%s\n%s", a, b)
			}
			if NeedsWrite(ep, Desired(tc.svc, rev)) {
				t.Fatal("NeedsWrite on equal endpoints")
			}
		})
	}
}

func TestAddressFields(t *testing.T) {
	ep := Desired(svc(port("http", 80, api.FromInt(8080))), []*api.Pod{testPod("a", "10.0.0.1", true)})
	a := ep.Subsets[0].Addresses[0]
	if a.IP != "10.0.0.1" || api.Deref(a.NodeName, "") != "n1" || a.TargetRef.Kind != "Pod" || a.TargetRef.UID != "uid-a" || a.TargetRef.Namespace != "default" {
		t.Fatalf("address %+v ref %+v", a, a.TargetRef)
	}
	if p := ep.Subsets[0].Ports[0]; p.Protocol != "TCP" {
		t.Fatalf("port %+v", p)
	}
}

func TestHeadless(t *testing.T) {
	s := svc()
	s.Spec.ClusterIP = "None"
	ep := Desired(s, []*api.Pod{testPod("a", "10.0.0.1", true)})
	if got := render(ep); got != "[a |  ; ]" || ep.Labels[LabelHeadless] != "" {
		t.Fatalf("headless endpoints %s labels %v", got, ep.Labels)
	}
	if _, ok := ep.Labels[LabelHeadless]; !ok {
		t.Fatal("headless label missing")
	}
}

// BenchmarkDesired measures the Endpoints of a two-port Service over 1,000 selected pods among
// 2,000.
func BenchmarkDesired(b *testing.B) {
	s := svc(port("http", 80, api.FromString("web")), port("metrics", 9090, api.FromInt(9090)))
	var ps []*api.Pod
	for i := range 2000 {
		p := testPod(fmt.Sprintf("p%d", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256), i%10 != 0, "web:8080")
		if i%2 == 1 {
			p.Labels = map[string]string{"app": "other"}
		}
		ps = append(ps, p)
	}
	b.ReportAllocs()
	for b.Loop() {
		Desired(s, ps)
	}
}
