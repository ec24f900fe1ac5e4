package main

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

const agentDaemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: edge
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: {fleet: edge}
      containers:
      - name: agent
        image: agent:v1
`

// TestDaemonSetCommands: apply, get, describe, rollout status and restart, delete of a
// DaemonSet, with its status written as the controller would.
func TestDaemonSetCommands(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	if _, err := client.Namespaces(tc.c).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "edge"}}); err != nil {
		t.Fatal(err)
	}
	if out := tc.mustWK(t, "apply", "-f", tc.file(t, "ds.yaml", agentDaemonSet)); out != "daemonset.apps/agent created\n" {
		t.Fatalf("apply: %q", out)
	}
	dss := client.For[*api.DaemonSet](tc.c, "daemonsets").Namespace("edge")
	setStatus := func(f func(*api.DaemonSet)) {
		t.Helper()
		ds, err := dss.Get(ctx, "agent")
		if err != nil {
			t.Fatal(err)
		}
		f(ds)
		if _, err := dss.UpdateStatus(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(func(ds *api.DaemonSet) {
		ds.Status = api.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: 3, CurrentNumberScheduled: 3,
			NumberReady: 3, UpdatedNumberScheduled: 1, NumberAvailable: 2, NumberUnavailable: 1}
	})
	out := tc.mustWK(t, "get", "ds", "-n", "edge")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "agent 3 3 3 1 2 fleet=edge ") {
		t.Fatalf("get ds:\n%s", out)
	}
	if out := tc.mustWK(t, "get", "all", "-n", "edge"); !strings.Contains(out, "daemonset.apps/agent") {
		t.Fatalf("get all lacks the daemonset:\n%s", out)
	}

	const waiting = "Waiting for daemon set \"agent\" rollout to finish: 1 out of 3 new pods have been updated...\n"
	if out := tc.mustWK(t, "rollout", "status", "daemonset/agent", "-n", "edge", "--watch=false"); out != waiting {
		t.Fatalf("rollout status: %q", out)
	}
	bg := tc.startWK(t, "rollout", "status", "ds", "agent", "-n", "edge")
	waitFor(t, "the waiting message", func() (bool, string) { return bg.out.String() == waiting, bg.out.String() + bg.err.String() })
	setStatus(func(ds *api.DaemonSet) { ds.Status.UpdatedNumberScheduled = 3 })
	const available = "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...\n"
	waitFor(t, "the available message", func() (bool, string) { return strings.HasSuffix(bg.out.String(), available), bg.out.String() })
	setStatus(func(ds *api.DaemonSet) { ds.Status.NumberAvailable, ds.Status.NumberUnavailable = 3, 0 })
	<-bg.done
	if bg.result != nil || !strings.HasSuffix(bg.out.String(), "daemon set \"agent\" successfully rolled out\n") {
		t.Fatalf("rollout status: %v\n%s%s", bg.result, bg.out.String(), bg.err.String())
	}

	desc := tc.mustWK(t, "describe", "ds", "agent", "-n", "edge")
	for _, want := range []string{
		"Name:           agent\n", "Selector:       app=agent\n", "Node-Selector:  fleet=edge\n",
		"Annotations:    deprecated.daemonset.template.generation: 1\n",
		"Desired Number of Nodes Scheduled: 3\n", "Number of Nodes Scheduled with Up-to-date Pods: 3\n",
		"Number of Nodes Misscheduled: 0\n", "Pods Status:  0 Running / 0 Waiting / 0 Succeeded / 0 Failed\n",
		"Pod Template:\n", "    Image:",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe lacks %q:\n%s", want, desc)
		}
	}

	if out := tc.mustWK(t, "rollout", "restart", "ds/agent", "-n", "edge"); out != "daemonset.apps/agent restarted\n" {
		t.Fatalf("rollout restart: %q", out)
	}
	ds, err := dss.Get(ctx, "agent")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Spec.Template.Annotations[annotationRestartedAt] == "" || ds.Generation != 2 || ds.Annotations[api.AnnotationTemplateGeneration] != "2" {
		t.Fatalf("after restart: generation %d, annotations %v, template annotations %v", ds.Generation, ds.Annotations, ds.Spec.Template.Annotations)
	}
	if out := tc.mustWK(t, "rollout", "status", "daemonset/agent", "-n", "edge", "--watch=false"); out != "Waiting for daemon set spec update to be observed...\n" {
		t.Fatalf("rollout status after restart: %q", out)
	}
	for _, verb := range []string{"history", "undo", "pause"} {
		if r := tc.wk(t, "", "rollout", verb, "ds/agent", "-n", "edge"); r.code == 0 || !strings.Contains(r.err, "not supported") {
			t.Errorf("rollout %s ds: exit %d, stderr %q", verb, r.code, r.err)
		}
	}
	if out := tc.mustWK(t, "delete", "ds", "agent", "-n", "edge"); out != "daemonset.apps \"agent\" deleted\n" {
		t.Fatalf("delete: %q", out)
	}
}

// TestDaemonSetLogs: wk logs ds/NAME reads a pod the DaemonSet's selector finds, as kubectl.
func TestDaemonSetLogs(t *testing.T) {
	tc := startCluster(t, clustertest.WithConfig(func(c *apiserver.Config) { c.LogSource = echoLogs{} }))
	seedShop(t, tc)
	l := map[string]string{"app": "web"}
	if _, err := client.For[*api.DaemonSet](tc.c, "daemonsets").Namespace("shop").Create(context.Background(), &api.DaemonSet{
		ObjectMeta: api.ObjectMeta{Name: "web-agent"}, Spec: api.DaemonSetSpec{Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "web", Image: "web:v1"}}}}}}); err != nil {
		t.Fatal(err)
	}
	r := tc.wk(t, "", "logs", "-n", "shop", "ds/web-agent")
	if r.code != 0 || r.out != "pod=web-5d4c9-abcde container=web follow=false previous=false timestamps=false tail=all\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
}
