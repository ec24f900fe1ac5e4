package printer

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// now is the fixed instant every fixture's age is measured from.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) api.Time { return api.NewTime(now.Add(-d)) }

func agoPtr(d time.Duration) *api.Time { t := ago(d); return &t }

const day = 24 * time.Hour

func meta(ns, name string, created time.Duration, labels map[string]string) api.ObjectMeta {
	return api.ObjectMeta{Namespace: ns, Name: name, UID: "uid-" + name, ResourceVersion: "7",
		CreationTimestamp: ago(created), Labels: labels}
}

func running(name string, restarts int32) api.ContainerStatus {
	return api.ContainerStatus{Name: name, Ready: true, RestartCount: restarts,
		State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: ago(time.Minute)}}}
}

func waiting(name, reason string, restarts int32) api.ContainerStatus {
	return api.ContainerStatus{Name: name, RestartCount: restarts,
		State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, exit, signal int32) api.ContainerStatus {
	return api.ContainerStatus{Name: name, State: api.ContainerState{Terminated: &api.ContainerStateTerminated{
		Reason: reason, ExitCode: exit, Signal: signal, FinishedAt: ago(time.Hour)}}}
}

func podSpec(node string, containers ...string) api.PodSpec {
	s := api.PodSpec{NodeName: node, RestartPolicy: api.RestartAlways}
	for _, c := range containers {
		s.Containers = append(s.Containers, api.Container{Name: c, Image: c + ":v1"})
	}
	return s
}

// pod builds a pod of the given status; containers named in the spec match the statuses.
func pod(name string, created time.Duration, phase, node string, statuses ...api.ContainerStatus) *api.Pod {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = s.Name
	}
	if len(names) == 0 {
		names = []string{"app"}
	}
	p := &api.Pod{
		ObjectMeta: meta("default", name, created, map[string]string{"app": "web"}),
		Spec:       podSpec(node, names...),
		Status:     api.PodStatus{Phase: phase, ContainerStatuses: statuses},
	}
	if node != "" {
		p.Status.PodIP = "10.0.0." + string(rune('0'+len(name)%10))
		p.Status.PodIPs = []api.PodIP{{IP: p.Status.PodIP}}
		p.Status.HostIP = "127.0.0.1"
	}
	return p
}

// pods are one pod in each status the printer distinguishes.
func pods() []*api.Pod {
	crash := waiting("sidecar", "CrashLoopBackOff", 3)
	crash.LastState.Terminated = &api.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
		FinishedAt: ago(2 * time.Minute)}

	terminating := pod("web-terminating", 2*day+3*time.Hour, api.PodRunning, "runner-1", running("app", 0))
	terminating.DeletionTimestamp = agoPtr(10 * time.Second)

	lost := pod("web-lost", 5*day, api.PodRunning, "runner-2", running("app", 0))
	lost.DeletionTimestamp = agoPtr(time.Minute)
	lost.Status.Reason = "NodeLost"

	doneAndDeleted := pod("job-done-deleted", time.Hour, api.PodSucceeded, "runner-1",
		terminated("app", "Completed", 0, 0))
	doneAndDeleted.DeletionTimestamp = agoPtr(time.Second)

	partial := pod("web-partial", 3*time.Minute, api.PodRunning, "runner-1",
		running("app", 0), terminated("init-like", "Completed", 0, 0))
	partial.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue}}
	notReady := pod("web-notready", 3*time.Minute, api.PodRunning, "runner-1",
		running("app", 0), terminated("init-like", "Completed", 0, 0))

	nominated := pod("web-nominated", 30*time.Second, api.PodPending, "")
	nominated.Status.NominatedNodeName = "runner-3"

	return []*api.Pod{
		pod("web-pending", 5*time.Second, api.PodPending, ""),
		pod("web-creating", 90*time.Second, api.PodPending, "runner-1", waiting("app", "ContainerCreating", 0)),
		pod("web-running", 3*time.Minute+20*time.Second, api.PodRunning, "runner-1", running("app", 0)),
		pod("web-crash", 10*time.Minute, api.PodRunning, "runner-2", running("app", 0), crash),
		pod("job-done", 3*time.Hour+4*time.Minute, api.PodSucceeded, "runner-1", terminated("app", "Completed", 0, 0)),
		pod("job-failed", 8*day, api.PodFailed, "runner-1", terminated("app", "Error", 1, 0)),
		pod("job-killed", 400*day, api.PodFailed, "runner-1", terminated("app", "", 137, 0)),
		pod("job-signal", 800*day, api.PodFailed, "runner-1", terminated("app", "", 0, 9)),
		terminating,
		lost,
		doneAndDeleted,
		partial,
		notReady,
		nominated,
	}
}

func deployments() []*api.Deployment {
	hello := &api.Deployment{
		ObjectMeta: meta("default", "hello", 2*time.Hour, map[string]string{"app": "hello"}),
		Spec: api.DeploymentSpec{
			Replicas: api.Ptr[int32](3),
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "hello"}},
			Template: api.PodTemplateSpec{Spec: podSpec("", "hello")},
		},
		Status: api.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3},
	}
	shop := &api.Deployment{
		ObjectMeta: meta("shop", "api", 3*365*day, nil),
		Spec: api.DeploymentSpec{
			Replicas: api.Ptr[int32](2),
			Selector: &api.LabelSelector{
				MatchLabels: map[string]string{"tier": "backend", "app": "api"},
				MatchExpressions: []api.LabelSelectorRequirement{
					{Key: "track", Operator: "In", Values: []string{"stable", "canary"}},
					{Key: "legacy", Operator: "DoesNotExist"},
				},
			},
			Template: api.PodTemplateSpec{Spec: podSpec("", "api", "log-shipper")},
		},
		Status: api.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
	}
	return []*api.Deployment{hello, shop}
}

func replicaSets() []*api.ReplicaSet {
	return []*api.ReplicaSet{
		{
			ObjectMeta: meta("default", "hello-7d9f8c6b5", 2*time.Hour, map[string]string{"app": "hello"}),
			Spec: api.ReplicaSetSpec{Replicas: api.Ptr[int32](3),
				Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "hello", "pod-template-hash": "7d9f8c6b5"}},
				Template: api.PodTemplateSpec{Spec: podSpec("", "hello")}},
			Status: api.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2},
		},
		{
			ObjectMeta: meta("default", "hello-55c4d", 3*day, map[string]string{"app": "hello"}),
			Spec: api.ReplicaSetSpec{Replicas: api.Ptr[int32](0),
				Selector: &api.LabelSelector{},
				Template: api.PodTemplateSpec{Spec: podSpec("", "hello", "proxy")}},
		},
	}
}

func services() []*api.Service {
	svc := func(name, typ string, created time.Duration) *api.Service {
		return &api.Service{ObjectMeta: meta("default", name, created, nil),
			Spec: api.ServiceSpec{Type: typ}}
	}
	k := svc("kubernetes", api.ServiceClusterIP, 40*day)
	k.Spec.ClusterIP, k.Spec.ClusterIPs = "10.96.0.1", []string{"10.96.0.1"}
	k.Spec.Ports = []api.ServicePort{{Name: "https", Port: 443, Protocol: "TCP", TargetPort: api.FromInt(6443)}}

	hello := svc("hello", api.ServiceNodePort, 2*time.Hour)
	hello.Spec.ClusterIP = "10.96.0.10"
	hello.Spec.Selector = map[string]string{"app": "hello", "tier": "web"}
	hello.Spec.Ports = []api.ServicePort{{Port: 80, NodePort: 30080, Protocol: "TCP"}, {Port: 443, Protocol: "TCP"}}

	pending := svc("edge", api.ServiceLoadBalancer, 30*time.Second)
	pending.Spec.ClusterIPs = []string{"10.96.0.20"}
	pending.Spec.Ports = []api.ServicePort{{Port: 80, NodePort: 31000, Protocol: "TCP"}}
	pending.Spec.Selector = map[string]string{"app": "edge"}

	lb := svc("edge-ready", api.ServiceLoadBalancer, 5*time.Minute)
	lb.Spec.ClusterIPs = []string{"10.96.0.21"}
	lb.Spec.Ports = []api.ServicePort{{Port: 80, NodePort: 31001, Protocol: "TCP"}, {Port: 443, NodePort: 31002, Protocol: "UDP"}}
	lb.Status.LoadBalancer.Ingress = []api.LoadBalancerIngress{{IP: "127.0.0.20"}, {Hostname: "edge.example"}, {IP: "127.0.0.20"}}
	lb.Spec.ExternalIPs = []string{"192.0.2.7"}

	headless := svc("db", api.ServiceClusterIP, 9*time.Minute)
	headless.Spec.ClusterIP = "None"
	headless.Spec.Selector = map[string]string{"app": "db"}

	ext := svc("legacy", api.ServiceClusterIP, 100*day)
	ext.Spec.ClusterIP = "10.96.0.30"
	ext.Spec.ExternalIPs = []string{"192.0.2.1", "192.0.2.2"}
	ext.Spec.Ports = []api.ServicePort{{Port: 8080}}
	return []*api.Service{k, hello, pending, lb, headless, ext}
}

func endpoints() []*api.Endpoints {
	addrs := func(n int) []api.EndpointAddress {
		out := make([]api.EndpointAddress, n)
		for i := range out {
			out[i] = api.EndpointAddress{IP: "10.0.1." + string(rune('1'+i))}
		}
		return out
	}
	return []*api.Endpoints{
		{ObjectMeta: meta("default", "kubernetes", 40*day, nil), Subsets: []api.EndpointSubset{{
			Addresses: []api.EndpointAddress{{IP: "127.0.0.1"}}, Ports: []api.EndpointPort{{Name: "https", Port: 6443}}}}},
		{ObjectMeta: meta("default", "hello", 2*time.Hour, nil), Subsets: []api.EndpointSubset{{
			Addresses: addrs(5), Ports: []api.EndpointPort{{Port: 8080}}}}},
		{ObjectMeta: meta("default", "two-ports", time.Hour, nil), Subsets: []api.EndpointSubset{{
			Addresses: addrs(2), Ports: []api.EndpointPort{{Name: "a", Port: 80}, {Name: "b", Port: 81}}}}},
		{ObjectMeta: meta("default", "db", 9*time.Minute, nil), Subsets: []api.EndpointSubset{{Addresses: addrs(2)}}},
		{ObjectMeta: meta("default", "edge", 30*time.Second, nil)},
		{ObjectMeta: meta("default", "ipv6", time.Minute, nil), Subsets: []api.EndpointSubset{{
			Addresses: []api.EndpointAddress{{IP: "fd00::1"}}, Ports: []api.EndpointPort{{Port: 80}}}}},
	}
}

func nodes() []*api.Node {
	ready := &api.Node{
		ObjectMeta: meta("", "runner-1", 12*day, map[string]string{
			"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/runner": "",
			"kubernetes.io/role": "edge", api.LabelHostname: "runner-1"}),
		Status: api.NodeStatus{
			Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue}},
			Addresses: []api.NodeAddress{{Type: api.NodeHostName, Address: "runner-1"},
				{Type: api.NodeInternalIP, Address: "127.0.0.1"}},
			NodeInfo: api.NodeSystemInfo{KubeletVersion: "v1.32.0-wasmkube", OSImage: "Debian GNU/Linux 12 (bookworm)",
				KernelVersion: "6.1.0-18-amd64", ContainerRuntimeVersion: "wazero://v1.12.0"},
		},
	}
	cordoned := &api.Node{
		ObjectMeta: meta("", "runner-2", 3*time.Hour+30*time.Minute, nil),
		Spec:       api.NodeSpec{Unschedulable: true},
		Status: api.NodeStatus{
			Conditions: []api.NodeCondition{{Type: "MemoryPressure", Status: api.ConditionFalse},
				{Type: api.NodeReady, Status: api.ConditionFalse}},
			Addresses: []api.NodeAddress{{Type: api.NodeInternalIP, Address: "127.0.0.2"},
				{Type: api.NodeExternalIP, Address: "192.0.2.2"}},
			NodeInfo: api.NodeSystemInfo{KubeletVersion: "v1.32.0-wasmkube"},
		},
	}
	unknown := &api.Node{ObjectMeta: meta("", "runner-3", 20*time.Second, nil)}
	return []*api.Node{ready, cordoned, unknown}
}

func namespaces() []*api.Namespace {
	ns := func(name, phase string, created time.Duration) *api.Namespace {
		return &api.Namespace{ObjectMeta: meta("", name, created, nil), Status: api.NamespaceStatus{Phase: phase}}
	}
	return []*api.Namespace{
		ns("default", api.NamespaceActive, 40*day),
		ns("kube-system", api.NamespaceActive, 40*day),
		ns("doomed", api.NamespaceTerminating, 47*time.Hour),
	}
}

func events() []*api.Event {
	return []*api.Event{
		{
			ObjectMeta:     meta("default", "web-1.17f3a", 2*time.Minute, nil),
			InvolvedObject: api.ObjectReference{Kind: "Pod", Name: "web-1", Namespace: "default"},
			Reason:         "Scheduled", Message: "Successfully assigned default/web-1 to runner-1",
			Source: api.EventSource{Component: "default-scheduler"}, Type: api.EventNormal,
			FirstTimestamp: ago(2 * time.Minute), LastTimestamp: ago(2 * time.Minute), Count: 1,
		},
		{
			ObjectMeta:     meta("default", "web-1.17f3b", 10*time.Minute, nil),
			InvolvedObject: api.ObjectReference{Kind: "Pod", Name: "web-1", FieldPath: "spec.containers{app}"},
			Reason:         "BackOff", Message: "  Back-off restarting failed container app\n",
			Source: api.EventSource{Component: "runner", Host: "runner-1"}, Type: api.EventWarning,
			FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(15 * time.Second), Count: 42,
		},
		{
			ObjectMeta:     meta("default", "hello.17f3c", 5*time.Second, nil),
			InvolvedObject: api.ObjectReference{Kind: "Deployment", Name: "hello"},
			Reason:         "ScalingReplicaSet", Message: "Scaled up replica set hello-7d9f8c6b5 to 3",
			Type: api.EventNormal, EventTime: api.NewMicroTime(now.Add(-5 * time.Second)),
			ReportingController: "deployment-controller", ReportingInstance: "wk-server-1",
		},
		{
			ObjectMeta:     meta("default", "cluster.17f3d", time.Minute, nil),
			InvolvedObject: api.ObjectReference{Kind: "Node"},
			Reason:         "Starting", Type: api.EventNormal,
		},
	}
}

func leases() []*api.Lease {
	return []*api.Lease{
		{ObjectMeta: meta("kube-node-lease", "runner-1", 12*day, nil),
			Spec: api.LeaseSpec{HolderIdentity: api.Ptr("runner-1"), LeaseDurationSeconds: api.Ptr[int32](40)}},
		{ObjectMeta: meta("kube-system", "wk-controller-manager", 12*day, nil)},
	}
}

// module stands for a kind the printer has no printer for.
type module struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitempty"`
	Spec           struct {
		Digest string `json:"digest"`
	} `json:"spec"`
}

func modules() []*module {
	m := &module{ObjectMeta: meta("default", "hello", 45*time.Second, nil)}
	m.Spec.Digest = "sha256:abc"
	never := &module{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "never-stored"}}
	return []*module{m, never}
}

// moduleResource is a kind without a printer of its own (the real Module has one).
var moduleResource = api.ResourceInfo{Group: "example.wasmkube.io", Version: "v1alpha1", Resource: "widgets",
	Singular: "widget", Kind: "Widget", Namespaced: true}

func objects[T api.Object](items []T) []api.Object {
	out := make([]api.Object, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

func configMaps() []*api.ConfigMap {
	return []*api.ConfigMap{
		{ObjectMeta: meta("default", "app-config", 3*day, nil),
			Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"logo.png": {0x89}}},
		{ObjectMeta: meta("default", "empty", 2*time.Hour, nil)},
	}
}

func secrets() []*api.Secret {
	return []*api.Secret{
		{ObjectMeta: meta("default", "db", 3*day, nil), Type: api.SecretTypeOpaque,
			Data: map[string][]byte{"user": []byte("u"), "password": []byte("p")}},
		{ObjectMeta: meta("default", "web-tls", 5*time.Minute, nil), Type: api.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}},
	}
}
