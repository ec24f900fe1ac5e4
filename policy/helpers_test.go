package policy

import (
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

const (
	exampleFilter = `has(pod.metadata.labels.zone) ? node.metadata.labels.zone == pod.metadata.labels.zone : true`
	exampleScore  = `double(node.status.allocatable.memory - node.requested.memory) / 1e9`
)

func newTestEnv(tb testing.TB, cfg Config) *SchedulingEnv {
	tb.Helper()
	env, err := NewSchedulingEnv(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

// testPod is a typical pod: a web module with a sidecar, requests, probes, labels.
func testPod() *api.Pod {
	return &api.Pod{
		TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{
			Name: "web-7d9f-x2k4p", Namespace: "default", UID: "0f3c2a",
			Labels:            map[string]string{"app": "web", "tier": "web", "zone": "a", "pod-template-hash": "7d9f"},
			Annotations:       map[string]string{"wasmkube.io/instances": "8"},
			CreationTimestamp: api.Now(),
			OwnerReferences:   []api.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f", UID: "a1", Controller: api.Ptr(true)}},
		},
		Spec: api.PodSpec{
			Containers: []api.Container{
				{
					Name: "web", Image: "web:1.2",
					Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}},
					Env:   []api.EnvVar{{Name: "MODE", Value: "prod"}},
					Resources: api.ResourceRequirements{
						Requests: api.ResourceList{"cpu": api.MustParseQuantity("250m"), "memory": api.MustParseQuantity("64Mi")},
						Limits:   api.ResourceList{"memory": api.MustParseQuantity("128Mi")},
					},
					ReadinessProbe: &api.Probe{HTTPGet: &api.HTTPGetAction{Path: "/healthz", Port: api.FromString("http")}, PeriodSeconds: 5},
				},
				{Name: "log", Image: "logship@sha256:abcd", Args: []string{"--json"}},
			},
			NodeSelector:  map[string]string{"kubernetes.io/os": "wasi"},
			RestartPolicy: api.RestartAlways,
		},
		Status: api.PodStatus{Phase: api.PodPending},
	}
}

// testNode is a typical Ready node in zone (no zone label when zone is "").
func testNode(name, zone string) *api.Node {
	labels := map[string]string{api.LabelHostname: name, api.LabelOS: "wasi", api.LabelArch: "wasm32"}
	if zone != "" {
		labels["zone"] = zone
	}
	res := api.ResourceList{"cpu": api.MustParseQuantity("4"), "memory": api.MustParseQuantity("8Gi"), "pods": api.MustParseQuantity("110")}
	return &api.Node{
		TypeMeta:   api.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{Name: name, Labels: labels, CreationTimestamp: api.Now()},
		Status: api.NodeStatus{
			Capacity: res, Allocatable: res,
			Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue, LastHeartbeatTime: api.Now()}},
			Addresses:  []api.NodeAddress{{Type: api.NodeInternalIP, Address: "127.0.0.2"}},
			NodeInfo:   api.NodeSystemInfo{KubeletVersion: "wk/v0.1", OperatingSystem: "wasi", Architecture: "wasm32"},
		},
	}
}
