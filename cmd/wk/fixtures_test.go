package main

import (
	"context"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// seedShop fills namespace "shop" with a node, a deployment with its ReplicaSet and two pods
// (one running and ready, one pending), a service with endpoints, and events: what a cluster
// with controllers and a runner would show, written directly through the API so the CLI tests
// need nothing but the API server.
func seedShop(t *testing.T, tc *testCluster) {
	t.Helper()
	ctx := context.Background()
	now := api.NewTime(time.Now().Add(-time.Minute))
	tc.mustWK(t, "create", "namespace", "shop")

	node, err := client.Nodes(tc.c).Create(ctx, &api.Node{ObjectMeta: api.ObjectMeta{
		Name:   "node-1",
		Labels: map[string]string{api.LabelHostname: "node-1", api.LabelOS: "wasip1", "node-role.kubernetes.io/control-plane": ""},
	}})
	if err != nil {
		t.Fatal(err)
	}
	node.Status = api.NodeStatus{
		Capacity:    api.ResourceList{"cpu": api.MustParseQuantity("4"), "memory": api.MustParseQuantity("8Gi"), "pods": api.MustParseQuantity("110")},
		Allocatable: api.ResourceList{"cpu": api.MustParseQuantity("4"), "memory": api.MustParseQuantity("8Gi"), "pods": api.MustParseQuantity("110")},
		Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue, Reason: "RunnerReady",
			Message: "runner is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses: []api.NodeAddress{{Type: api.NodeInternalIP, Address: "127.0.0.1"}, {Type: api.NodeHostName, Address: "node-1"}},
		NodeInfo: api.NodeSystemInfo{MachineID: "m-1", KernelVersion: "6.1.0", OSImage: "wasmkube", OperatingSystem: "wasip1",
			Architecture: "wasm32", ContainerRuntimeVersion: "wazero://1.12.0", KubeletVersion: "v1.32.0+wasmkube"},
	}
	if _, err := client.Nodes(tc.c).UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}

	tc.mustWK(t, "apply", "-n", "shop", "-f", tc.file(t, "shop.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
  annotations: {team: shop}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web:v1
        ports:
        - containerPort: 8080
        env:
        - {name: MODE, value: prod}
        - name: POD
          valueFrom:
            fieldRef: {fieldPath: metadata.name}
        resources:
          requests: {cpu: 100m, memory: 32Mi}
          limits: {memory: 64Mi}
        volumeMounts:
        - {name: cache, mountPath: /cache}
      volumes:
      - name: cache
        emptyDir: {medium: Memory}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`))
	dep, err := client.Deployments(tc.c).Namespace("shop").Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	rs := newReplicaSet(dep, "web-5d4c9", 1, "web:v1")
	rs, err = client.ReplicaSets(tc.c).Namespace("shop").Create(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	rs.Status = api.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 1}
	if _, err := client.ReplicaSets(tc.c).Namespace("shop").UpdateStatus(ctx, rs); err != nil {
		t.Fatal(err)
	}
	dep.Status = api.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 1,
		AvailableReplicas: 1, UnavailableReplicas: 1, Conditions: []api.DeploymentCondition{
			{Type: api.DeploymentAvailable, Status: api.ConditionFalse, Reason: "MinimumReplicasUnavailable", LastUpdateTime: now, LastTransitionTime: now},
			{Type: api.DeploymentProgressing, Status: api.ConditionTrue, Reason: "ReplicaSetUpdated", LastUpdateTime: now, LastTransitionTime: now},
		}}
	if _, err := client.Deployments(tc.c).Namespace("shop").UpdateStatus(ctx, dep); err != nil {
		t.Fatal(err)
	}

	for i, ready := range []bool{true, false} {
		name := []string{"web-5d4c9-abcde", "web-5d4c9-fghij"}[i]
		pod := &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Labels: rs.Spec.Template.Labels,
			OwnerReferences: []api.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: api.Ptr(true)}}},
			Spec: rs.Spec.Template.Spec}
		if ready {
			pod.Spec.NodeName = "node-1"
		}
		pod, err := client.Pods(tc.c).Namespace("shop").Create(ctx, pod)
		if err != nil {
			t.Fatal(err)
		}
		if !ready {
			continue
		}
		started := now
		pod.Status = api.PodStatus{Phase: api.PodRunning, HostIP: "127.0.0.1", PodIP: "10.42.0.7", PodIPs: []api.PodIP{{IP: "10.42.0.7"}},
			StartTime: &started, QOSClass: pod.Status.QOSClass,
			Conditions: []api.PodCondition{
				{Type: api.PodInitialized, Status: api.ConditionTrue}, {Type: api.PodReady, Status: api.ConditionTrue},
				{Type: api.ContainersReady, Status: api.ConditionTrue}, {Type: api.PodScheduled, Status: api.ConditionTrue}},
			ContainerStatuses: []api.ContainerStatus{{Name: "web", Ready: true, Image: "web:v1", ImageID: "sha256:0123",
				ContainerID: "wasm://0123", State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: now}}, Started: api.Ptr(true)}}}
		if _, err := client.Pods(tc.c).Namespace("shop").UpdateStatus(ctx, pod); err != nil {
			t.Fatal(err)
		}
		ev := &api.Event{ObjectMeta: api.ObjectMeta{Name: name + ".1", Namespace: "shop"},
			InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: "shop", Name: name, UID: pod.UID, APIVersion: "v1"},
			Reason:         "Scheduled", Message: "Successfully assigned shop/" + name + " to node-1", Type: api.EventNormal,
			Source: api.EventSource{Component: "default-scheduler"}, FirstTimestamp: now, LastTimestamp: now, Count: 1}
		if _, err := client.Events(tc.c).Namespace("shop").Create(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	ep := &api.Endpoints{ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "shop"}, Subsets: []api.EndpointSubset{{
		Addresses:         []api.EndpointAddress{{IP: "10.42.0.7"}},
		NotReadyAddresses: []api.EndpointAddress{{IP: "10.42.0.8"}},
		Ports:             []api.EndpointPort{{Name: "http", Port: 8080, Protocol: "TCP"}}}}}
	if _, err := client.Endpoints(tc.c).Namespace("shop").Create(ctx, ep); err != nil {
		t.Fatal(err)
	}
}

// newReplicaSet is the ReplicaSet the deployment controller would make for dep at revision
// rev, with image as its first container's image.
func newReplicaSet(dep *api.Deployment, name string, rev int, image string) *api.ReplicaSet {
	tmpl := dep.Spec.Template
	tmpl.Labels = map[string]string{api.LabelPodTemplateHash: name[len(dep.Name)+1:]}
	for k, v := range dep.Spec.Template.Labels {
		tmpl.Labels[k] = v
	}
	tmpl.Spec.Containers = append([]api.Container(nil), dep.Spec.Template.Spec.Containers...)
	tmpl.Spec.Containers[0].Image = image
	sel := &api.LabelSelector{MatchLabels: map[string]string{api.LabelPodTemplateHash: name[len(dep.Name)+1:]}}
	for k, v := range dep.Spec.Selector.MatchLabels {
		sel.MatchLabels[k] = v
	}
	// The controller copies the deployment's annotations onto its ReplicaSets.
	ann := map[string]string{api.AnnotationRevision: itoa(rev)}
	for k, v := range dep.Annotations {
		if k != api.AnnotationRevision {
			ann[k] = v
		}
	}
	return &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: dep.Namespace, Labels: tmpl.Labels,
			Annotations: ann,
			OwnerReferences: []api.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: dep.Name,
				UID: dep.UID, Controller: api.Ptr(true), BlockOwnerDeletion: api.Ptr(true)}}},
		Spec: api.ReplicaSetSpec{Replicas: dep.Spec.Replicas, Selector: sel, Template: tmpl},
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
