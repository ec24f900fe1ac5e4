package main

import (
	"context"
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
