package main

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// setDeploymentStatus writes a deployment's status as the deployment controller would.
func setDeploymentStatus(t *testing.T, tc *testCluster, ns, name string, f func(d *api.Deployment)) {
	t.Helper()
	deps := client.Deployments(tc.c).Namespace(ns)
	d, err := deps.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	f(d)
	if _, err := deps.UpdateStatus(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

func TestRolloutStatus(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)

	// The seeded deployment has 2 updated replicas, 1 available.
	const waiting = "Waiting for deployment \"web\" rollout to finish: 1 of 2 updated replicas are available...\n"
	if out := tc.mustWK(t, "rollout", "status", "deployment", "web", "-n", "shop", "--watch=false"); out != waiting {
		t.Errorf("status --watch=false: %q", out)
	}
	r := tc.wk(t, "", "rollout", "status", "deploy/web", "-n", "shop", "--timeout=200ms")
	if r.code != 1 || r.out != waiting || r.err != "error: timed out waiting for the condition\n" {
		t.Errorf("status --timeout: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}

	bg := tc.startWK(t, "rollout", "status", "deployment/web", "-n", "shop")
	waitFor(t, "the waiting message", func() (bool, string) { return bg.out.String() == waiting, bg.out.String() + bg.err.String() })
	// A new template: the spec change is not observed yet, then the new replicas come up.
	if _, err := client.Deployments(tc.c).Namespace("shop").Patch(context.Background(), "web", client.StrategicMergePatch,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:v2"}]}}}}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unobserved spec", func() (bool, string) {
		return strings.HasSuffix(bg.out.String(), "Waiting for deployment spec update to be observed...\n"), bg.out.String()
	})
	steps := []struct {
		set  func(d *api.Deployment)
		want string
	}{
		{func(d *api.Deployment) {
			d.Status.ObservedGeneration = d.Generation
			d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas = 3, 1, 2
		}, "Waiting for deployment \"web\" rollout to finish: 1 out of 2 new replicas have been updated...\n"},
		{func(d *api.Deployment) { d.Status.Replicas, d.Status.UpdatedReplicas = 3, 2 },
			"Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...\n"},
		{func(d *api.Deployment) { d.Status.Replicas, d.Status.AvailableReplicas = 2, 2 },
			"deployment \"web\" successfully rolled out\n"},
	}
	for _, s := range steps {
		setDeploymentStatus(t, tc, "shop", "web", s.set)
		waitFor(t, s.want, func() (bool, string) { return strings.HasSuffix(bg.out.String(), s.want), bg.out.String() })
	}
	<-bg.done
	if bg.result != nil {
		t.Fatalf("rollout status: %v\n%s", bg.result, bg.err.String())
	}

	setDeploymentStatus(t, tc, "shop", "web", func(d *api.Deployment) {
		d.Status.Conditions = []api.DeploymentCondition{{Type: api.DeploymentProgressing, Status: api.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}
	})
	r = tc.wk(t, "", "rollout", "status", "deployment", "web", "-n", "shop")
	if r.code != 1 || r.err != "error: deployment \"web\" exceeded its progress deadline\n" {
		t.Errorf("status past the deadline: exit %d, stderr %q", r.code, r.err)
	}
	r = tc.wk(t, "", "rollout", "status", "rs", "web-5d4c9", "-n", "shop")
	if r.code != 1 || !strings.Contains(r.err, "no rollout support for replicaset.apps") {
		t.Errorf("status of a replicaset: exit %d, stderr %q", r.code, r.err)
	}
	r = tc.wk(t, "", "rollout", "status", "deployment", "nope", "-n", "shop")
	if r.code != 1 || r.err != "Error from server (NotFound): deployments.apps \"nope\" not found\n" {
		t.Errorf("status of a missing deployment: exit %d, stderr %q", r.code, r.err)
	}
}

func TestRolloutHistoryAndUndo(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	ctx := context.Background()
	deps := client.Deployments(tc.c).Namespace("shop")

	// Roll out web:v2 as the controller would: a new template and a ReplicaSet of revision 2.
	d, err := deps.Patch(ctx, "web", client.StrategicMergePatch,
		[]byte(`{"metadata":{"annotations":{"deployment.kubernetes.io/revision":"2"}},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:v2"}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	rs2 := newReplicaSet(d, "web-7f8e9", 2, "web:v2")
	rs2.Annotations[api.AnnotationChangeCause] = "image set to web:v2"
	if _, err := client.ReplicaSets(tc.c).Namespace("shop").Create(ctx, rs2); err != nil {
		t.Fatal(err)
	}

	const history = "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         image set to web:v2\n\n"
	if out := tc.mustWK(t, "rollout", "history", "deployment", "web", "-n", "shop"); out != history {
		t.Errorf("history:\n%q\nwant\n%q", out, history)
	}
	golden(t, "rollout/history-revision-2.txt", tc.mustWK(t, "rollout", "history", "deploy/web", "-n", "shop", "--revision=2"))
	r := tc.wk(t, "", "rollout", "history", "deploy/web", "-n", "shop", "--revision=9")
	if r.code != 1 || r.err != "error: unable to find the specified revision\n" {
		t.Errorf("history --revision=9: exit %d, stderr %q", r.code, r.err)
	}

	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantOut   string
		wantErr   string
		wantImage string
	}{
		{name: "to previous", args: []string{"deployment", "web"}, wantOut: "deployment.apps/web rolled back\n", wantImage: "web:v1"},
		{name: "already there", args: []string{"deployment/web", "--to-revision=1"},
			wantOut: "deployment.apps/web skipped rollback (current template already matches revision 1)\n", wantImage: "web:v1"},
		{name: "to revision", args: []string{"deployment/web", "--to-revision=2"}, wantOut: "deployment.apps/web rolled back\n", wantImage: "web:v2"},
		{name: "missing revision", args: []string{"deployment/web", "--to-revision=7"}, wantCode: 1,
			wantErr: "error: unable to find specified revision 7 in history\n", wantImage: "web:v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tc.wk(t, "", append([]string{"rollout", "undo", "-n", "shop"}, tt.args...)...)
			if r.code != tt.wantCode || r.out != tt.wantOut || r.err != tt.wantErr {
				t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", r.code, r.out, tt.wantOut, r.err, tt.wantErr)
			}
			d, err := deps.Get(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Spec.Template.Spec.Containers[0].Image; got != tt.wantImage {
				t.Errorf("image = %s, want %s", got, tt.wantImage)
			}
			if _, ok := d.Spec.Template.Labels[api.LabelPodTemplateHash]; ok {
				t.Errorf("template labels %v carry the pod-template-hash", d.Spec.Template.Labels)
			}
			if d.Annotations[api.AnnotationRevision] != "2" || d.Annotations["team"] != "shop" {
				t.Errorf("annotations = %v: want the deployment's revision kept and its own annotations", d.Annotations)
			}
		})
	}

	// pause, resume, restart.
	for _, step := range []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"pause", "deployment", "web"}, 0, "deployment.apps/web paused\n"},
		{[]string{"pause", "deployment", "web"}, 0, "deployment.apps/web already paused\n"},
		{[]string{"undo", "deployment", "web"}, 1, "error: you cannot rollback a paused deployment; resume it first with 'wk rollout resume' and try again\n"},
		{[]string{"restart", "deployment", "web"}, 1, "error: deployment.apps/web can't restart paused deployment (run rollout resume first)\n"},
		{[]string{"resume", "deployment/web"}, 0, "deployment.apps/web resumed\n"},
		{[]string{"resume", "deployment/web"}, 0, "deployment.apps/web already resumed\n"},
		{[]string{"restart", "deployment/web"}, 0, "deployment.apps/web restarted\n"},
	} {
		r := tc.wk(t, "", append([]string{"rollout", "-n", "shop"}, step.args...)...)
		got := r.out
		if step.wantCode != 0 {
			got = r.err
		}
		if r.code != step.wantCode || got != step.want {
			t.Errorf("rollout %v: exit %d, stdout %q, stderr %q; want %q", step.args, r.code, r.out, r.err, step.want)
		}
	}
	d, err = deps.Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Paused || d.Spec.Template.Annotations[annotationRestartedAt] == "" {
		t.Errorf("after resume and restart: paused %v, template annotations %v", d.Spec.Paused, d.Spec.Template.Annotations)
	}
}
