package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestDescribe(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	renew := api.NewMicroTime(time.Now())
	if _, err := client.Leases(tc.c).Namespace("shop").Create(context.Background(), &api.Lease{
		ObjectMeta: api.ObjectMeta{Name: "web-leader", Labels: map[string]string{"app": "web"}},
		Spec:       api.LeaseSpec{HolderIdentity: api.Ptr("web-5d4c9-abcde"), LeaseDurationSeconds: api.Ptr[int32](15), RenewTime: &renew},
	}); err != nil {
		t.Fatal(err)
	}
	seedCrashingPod(t, tc)
	tests := []struct {
		name string
		args []string
	}{
		{"pod", []string{"describe", "pod", "web-5d4c9-abcde", "-n", "shop"}},
		{"pod-crashing", []string{"describe", "pod/crashy", "-n", "shop"}},
		{"pods-by-prefix", []string{"describe", "pods", "web-5d4c9", "-n", "shop"}},
		{"deployment", []string{"describe", "deploy/web", "-n", "shop"}},
		{"replicaset", []string{"describe", "rs", "-n", "shop"}},
		{"service", []string{"describe", "svc", "web", "-n", "shop"}},
		{"node", []string{"describe", "node", "node-1"}},
		{"namespace", []string{"describe", "ns", "shop"}},
		{"lease", []string{"describe", "lease", "web-leader", "-n", "shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "describe/"+tt.name+".txt", tc.mustWK(t, tt.args...))
		})
	}
	t.Run("not found", func(t *testing.T) {
		r := tc.wk(t, "", "describe", "pod", "nope", "-n", "shop")
		if r.code != 1 || r.err != "Error from server (NotFound): pods \"nope\" not found\n" || r.out != "" {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
		}
	})
}

// seedCrashingPod makes pod shop/crashy: two modules, one restarting after a trap, with a
// command, args, a probe and repeated warning events.
func seedCrashingPod(t *testing.T, tc *testCluster) {
	t.Helper()
	ctx := context.Background()
	pods := client.Pods(tc.c).Namespace("shop")
	then := api.NewTime(time.Now().Add(-10 * time.Minute))
	p, err := pods.Create(ctx, &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: "crashy", Annotations: map[string]string{"note": "line one\nline two"}},
		Spec: api.PodSpec{NodeName: "node-1", Containers: []api.Container{
			{Name: "main", Image: "crashy:v1", Command: []string{"/crashy.wasm"}, Args: []string{"--fail", "fast"},
				Ports: []api.ContainerPort{{ContainerPort: 8080}, {ContainerPort: 9090, Protocol: "UDP"}},
				LivenessProbe: &api.Probe{HTTPGet: &api.HTTPGetAction{Path: "/healthz", Port: api.FromInt(8080)},
					PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}},
			{Name: "sidecar", Image: "side:v1", VolumeMounts: []api.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true}}},
		}, Volumes: []api.Volume{{Name: "data", EmptyDir: &api.EmptyDirVolumeSource{SizeLimit: api.Ptr(api.MustParseQuantity("1Gi"))}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Status = api.PodStatus{Phase: api.PodRunning, HostIP: "127.0.0.1", PodIP: "10.42.0.9", StartTime: &then,
		Conditions: []api.PodCondition{{Type: api.PodReady, Status: api.ConditionFalse}, {Type: api.PodScheduled, Status: api.ConditionTrue}},
		ContainerStatuses: []api.ContainerStatus{
			{Name: "main", Image: "crashy:v1", ImageID: "sha256:beef", RestartCount: 4,
				State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastState: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
					Message: "wasm trap: unreachable", StartedAt: then, FinishedAt: then}}},
			{Name: "sidecar", Image: "side:v1", ImageID: "sha256:cafe", Ready: true,
				State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: then}}},
		}}
	if _, err := pods.UpdateStatus(ctx, p); err != nil {
		t.Fatal(err)
	}
	ev := &api.Event{ObjectMeta: api.ObjectMeta{Name: "crashy.2", Namespace: "shop"},
		InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "crashy", UID: p.UID},
		Reason:         "BackOff", Message: "Back-off restarting failed module main", Type: api.EventWarning,
		ReportingController: "runner", FirstTimestamp: then, LastTimestamp: api.NewTime(time.Now().Add(-5 * time.Second)), Count: 7}
	if _, err := client.Events(tc.c).Namespace("shop").Create(ctx, ev); err != nil {
		t.Fatal(err)
	}
}

// TestDescribeConfig describes config maps and secrets as kubectl does (a secret's values
// never shown), and a pod that takes its environment and files from them.
func TestDescribeConfig(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	if _, err := client.For[*api.ConfigMap](tc.c, "configmaps").Namespace("default").Create(ctx, &api.ConfigMap{
		ObjectMeta: api.ObjectMeta{Name: "app", Labels: map[string]string{"app": "web"}},
		Data:       map[string]string{"color": "blue", "app.properties": "a=1\nb=2"},
		BinaryData: map[string][]byte{"logo.png": {0x89, 0x50, 0x4e}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[*api.Secret](tc.c, "secrets").Namespace("default").Create(ctx, &api.Secret{
		ObjectMeta: api.ObjectMeta{Name: "db"},
		Data:       map[string][]byte{"user": []byte("admin"), "password": []byte("hunter2")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Pods(tc.c).Namespace("default").Create(ctx, &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: "web"},
		Spec: api.PodSpec{NodeName: "node-1", Containers: []api.Container{{Name: "web", Image: "web:v1",
			EnvFrom: []api.EnvFromSource{{ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "app"}}},
				{Prefix: "DB_", SecretRef: &api.SecretEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "db"}, Optional: api.Ptr(true)}}},
			Env: []api.EnvVar{
				{Name: "COLOR", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "app"}, Key: "color"}}},
				{Name: "PASSWORD", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "db"}, Key: "password"}}},
			},
			VolumeMounts: []api.VolumeMount{{Name: "config", MountPath: "/etc/app"}, {Name: "creds", MountPath: "/etc/creds", ReadOnly: true}}}},
			Volumes: []api.Volume{{Name: "config", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "app"}}},
				{Name: "creds", Secret: &api.SecretVolumeSource{SecretName: "db", Optional: api.Ptr(true)}}}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"configmap", []string{"describe", "configmap", "app"}},
		{"secret", []string{"describe", "secret", "db"}},
		{"pod-config", []string{"describe", "pod", "web"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := tc.mustWK(t, tt.args...)
			if strings.Contains(out, "hunter2") || strings.Contains(out, "admin") {
				t.Fatalf("describe shows a secret value:\n%s", out)
			}
			golden(t, "describe/"+tt.name+".txt", out)
		})
	}
}
