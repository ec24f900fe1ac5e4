package deployment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/deployment"
	"github.com/wasmkube/wasmkube/control/replicaset"
)

// startControllers runs the replicaset and deployment controllers against c until the test
// ends.
func startControllers(t testing.TB, c *client.Client) *client.Recorder {
	t.Helper()
	inf := controller.NewInformers(c)
	rec := client.NewRecorder(c, client.RecorderConfig{Component: deployment.Name})
	rsc, err := replicaset.New(replicaset.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := deployment.New(deployment.Config{Client: c, Informers: inf, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rec.Start(ctx)
	done := make(chan struct{}, 3)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = rsc.Run(ctx); done <- struct{}{} }()
	go func() { _ = dc.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done; rec.Stop() })
	return rec
}

func newDeployment(name string, replicas int32, image string) *api.Deployment {
	l := map[string]string{"app": name}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec: api.DeploymentSpec{
			Replicas: api.Ptr(replicas),
			Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: image}}}},
		},
	}
}

// rollout is what a test sees of a Deployment and its ReplicaSets.
type rollout struct {
	d   *api.Deployment
	rss []*api.ReplicaSet
}

func getRollout(ctx context.Context, c *client.Client, name string) (rollout, error) {
	d, err := client.Deployments(c).Namespace("default").Get(ctx, name)
	if err != nil {
		return rollout{}, err
	}
	list, err := client.ReplicaSets(c).Namespace("default").List(ctx, client.ListOptions{})
	if err != nil {
		return rollout{}, err
	}
	r := rollout{d: d}
	for _, rs := range list.Items {
		if api.IsControlledBy(&rs.ObjectMeta, d.UID) {
			r.rss = append(r.rss, rs)
		}
	}
	return r, nil
}

func (r rollout) rsFor(image string) *api.ReplicaSet {
	for _, rs := range r.rss {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return rs
		}
	}
	return nil
}

func (r rollout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "deployment gen %d status %+v;", r.d.Generation, r.d.Status)
	for _, rs := range r.rss {
		fmt.Fprintf(&b, " rs %s rev %s spec %d status %d/%d/%d;", rs.Name, rs.Annotations[api.AnnotationRevision],
			api.Deref(rs.Spec.Replicas, -1), rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas)
	}
	return b.String()
}

// waitComplete waits until every desired pod runs image and is available, and no other
// ReplicaSet has replicas.
func waitComplete(t *testing.T, c *client.Client, name, image string, n int32) rollout {
	t.Helper()
	ctx := context.Background()
	var last rollout
	controllertest.Eventually(t, fmt.Sprintf("%s complete with %d x %s", name, n, image), func() (bool, string) {
		r, err := getRollout(ctx, c, name)
		if err != nil {
			return false, err.Error()
		}
		last = r
		rs := r.rsFor(image)
		if rs == nil {
			return false, r.String()
		}
		for _, o := range r.rss {
			if o != rs && (api.Deref(o.Spec.Replicas, 0) != 0 || o.Status.Replicas != 0) {
				return false, r.String()
			}
		}
		st := r.d.Status
		cond := func(t string) string {
			for _, c := range st.Conditions {
				if c.Type == t {
					return string(c.Status) + "/" + c.Reason
				}
			}
			return ""
		}
		ok := api.Deref(rs.Spec.Replicas, 0) == n && rs.Status.AvailableReplicas == n &&
			st.ObservedGeneration == r.d.Generation && st.Replicas == n && st.UpdatedReplicas == n &&
			st.AvailableReplicas == n && st.ReadyReplicas == n && st.UnavailableReplicas == 0 &&
			cond(api.DeploymentAvailable) == "True/"+deployment.ReasonMinimumReplicasAvailable &&
			cond(api.DeploymentProgressing) == "True/"+deployment.ReasonNewReplicaSetAvailable &&
			r.d.Annotations[api.AnnotationRevision] == rs.Annotations[api.AnnotationRevision]
		return ok, r.String()
	})
	return last
}

func TestDeploymentIntegration(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{})
	startControllers(t, c)
	ctx := context.Background()
	dAPI := client.Deployments(c).Namespace("default")
	update := func(f func(d *api.Deployment)) {
		t.Helper()
		for {
			d, err := dAPI.Get(ctx, "hello")
			if err != nil {
				t.Fatal(err)
			}
			f(d)
			_, err = dAPI.Update(ctx, d)
			if api.IsConflict(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			return
		}
	}

	if _, err := dAPI.Create(ctx, newDeployment("hello", 3, "hello:1")); err != nil {
		t.Fatal(err)
	}
	r := waitComplete(t, c, "hello", "hello:1", 3)
	v1 := r.rsFor("hello:1")
	if want := "hello-" + v1.Labels[api.LabelPodTemplateHash]; v1.Name != want || v1.Spec.Selector.MatchLabels[api.LabelPodTemplateHash] == "" {
		t.Fatalf("replicaset %s labels %v selector %v, want name %s and hash in selector", v1.Name, v1.Labels, v1.Spec.Selector, want)
	}
	if v1.Annotations[api.AnnotationRevision] != "1" || v1.Annotations[api.AnnotationDesiredReplicas] != "3" {
		t.Fatalf("replicaset annotations %v", v1.Annotations)
	}

	controllertest.Eventually(t, "scaling event recorded", func() (bool, string) {
		evs, err := client.Events(c).Namespace("default").List(ctx, client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var msgs []string
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "Deployment" && e.InvolvedObject.Name == "hello" && e.Reason == "ScalingReplicaSet" {
				if e.Message == "Scaled up replica set "+v1.Name+" to 3" && e.Source.Component == deployment.Name {
					return true, ""
				}
				msgs = append(msgs, e.Message)
			}
		}
		return false, strings.Join(msgs, "; ")
	})

	t.Run("scale to 5", func(t *testing.T) {
		update(func(d *api.Deployment) { d.Spec.Replicas = api.Ptr[int32](5) })
		waitComplete(t, c, "hello", "hello:1", 5)
	})
	t.Run("change image rolls out", func(t *testing.T) {
		update(func(d *api.Deployment) {
			d.Spec.Template.Spec.Containers[0].Image = "hello:2"
			d.Annotations = map[string]string{api.AnnotationChangeCause: "image hello:2"}
		})
		r := waitComplete(t, c, "hello", "hello:2", 5)
		v2 := r.rsFor("hello:2")
		if v2.Annotations[api.AnnotationRevision] != "2" || v2.Annotations[api.AnnotationChangeCause] != "image hello:2" {
			t.Fatalf("new replicaset annotations %v", v2.Annotations)
		}
		if old := r.rsFor("hello:1"); old == nil || api.Deref(old.Spec.Replicas, -1) != 0 {
			t.Fatalf("old replicaset should be kept at 0: %v", r)
		}
	})
	t.Run("undo re-uses the old replicaset", func(t *testing.T) {
		// What `kubectl rollout undo` does: copy the previous template back, without its hash.
		r, err := getRollout(ctx, c, "hello")
		if err != nil {
			t.Fatal(err)
		}
		old := r.rsFor("hello:1")
		update(func(d *api.Deployment) {
			tmpl := old.Spec.Template
			delete(tmpl.Labels, api.LabelPodTemplateHash)
			d.Spec.Template = tmpl
		})
		r = waitComplete(t, c, "hello", "hello:1", 5)
		if len(r.rss) != 2 {
			t.Fatalf("undo created a replicaset: %v", r)
		}
		back := r.rsFor("hello:1")
		if back.UID != old.UID || back.Annotations[api.AnnotationRevision] != "3" || back.Annotations[api.AnnotationRevisionHistory] != "1" {
			t.Fatalf("undo: replicaset %s uid %s (was %s) annotations %v", back.Name, back.UID, old.UID, back.Annotations)
		}
	})
	t.Run("recreate", func(t *testing.T) {
		update(func(d *api.Deployment) {
			d.Spec.Strategy = api.DeploymentStrategy{Type: api.RecreateStrategy}
			d.Spec.Template.Spec.Containers[0].Image = "hello:3"
		})
		waitComplete(t, c, "hello", "hello:3", 5)
	})
	t.Run("history limit", func(t *testing.T) {
		update(func(d *api.Deployment) { d.Spec.RevisionHistoryLimit = api.Ptr[int32](1) })
		controllertest.Eventually(t, "history cleaned up to 1 old replicaset", func() (bool, string) {
			r, err := getRollout(ctx, c, "hello")
			if err != nil {
				return false, err.Error()
			}
			return len(r.rss) == 2, r.String()
		})
	})
}
