package job_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/gc"
	"github.com/wasmkube/wasmkube/control/job"
)

func start(t *testing.T, c *client.Client) {
	t.Helper()
	inf := controller.NewInformers(c)
	jc, err := job.New(job.Config{Client: c, Informers: inf, BackoffBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gc.New(gc.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = jc.Run(ctx); done <- struct{}{} }()
	go func() { _ = g.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done })
}

func newJob(name string, completions, parallelism, backoff int32) *api.Job {
	j := &api.Job{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"}}
	j.Spec.Completions, j.Spec.Parallelism, j.Spec.BackoffLimit = api.Ptr(completions), api.Ptr(parallelism), api.Ptr(backoff)
	j.Spec.Template.Spec.RestartPolicy = api.RestartNever
	j.Spec.Template.Spec.Containers = []api.Container{{Name: "wc", Image: "wc:v1"}}
	return j
}

// podsOf lists the active and all pods controlled by j.
func podsOf(ctx context.Context, t *testing.T, c *client.Client, j *api.Job) (active, all []*api.Pod) {
	t.Helper()
	list, err := client.Pods(c).Namespace(j.Namespace).List(ctx, client.ListOptions{LabelSelector: "job-name=" + j.Name})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		if !api.IsControlledBy(&p.ObjectMeta, j.UID) {
			continue
		}
		all = append(all, p)
		if controller.IsPodActive(p) {
			active = append(active, p)
		}
	}
	return active, all
}

// finish drives pod p to phase through the status subresource, as a runner would.
func finish(ctx context.Context, t *testing.T, c *client.Client, p *api.Pod, phase string) {
	t.Helper()
	up := controller.Clone(p)
	up.Status.Phase = phase
	if _, err := client.Pods(c).Namespace(p.Namespace).UpdateStatus(ctx, up); err != nil {
		t.Fatalf("set pod %s %s: %v", p.Name, phase, err)
	}
}

func waitJob(t *testing.T, c *client.Client, name, what string, cond func(*api.Job) bool) *api.Job {
	t.Helper()
	var got *api.Job
	controllertest.Eventually(t, what, func() (bool, string) {
		j, err := job.Jobs(c).Namespace("default").Get(context.Background(), name)
		if err != nil {
			return false, err.Error()
		}
		got = j
		return cond(j), fmt.Sprintf("status %+v", j.Status)
	})
	return got
}

func TestJobIntegration(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	start(t, c)
	ctx := context.Background()
	jobs := job.Jobs(c).Namespace("default")

	t.Run("completes", func(t *testing.T) {
		j, err := jobs.Create(ctx, newJob("wc", 3, 2, 6))
		if err != nil {
			t.Fatal(err)
		}
		waitActive := func(n int) []*api.Pod {
			var active []*api.Pod
			controllertest.Eventually(t, fmt.Sprintf("%d active pods", n), func() (bool, string) {
				active, _ = podsOf(ctx, t, c, j)
				return len(active) == n, fmt.Sprint(len(active))
			})
			return active
		}
		// Parallelism 2: two pods run; one fails and is replaced (one failure is under the limit).
		active := waitActive(2)
		finish(ctx, t, c, active[0], api.PodFailed)
		controllertest.Eventually(t, "a replacement pod", func() (bool, string) {
			a, all := podsOf(ctx, t, c, j)
			return len(a) == 2 && len(all) == 3, fmt.Sprintf("%d active of %d", len(a), len(all))
		})
		// Two succeed; only one more completion is needed, so one pod stays active.
		active = waitActive(2)
		finish(ctx, t, c, active[0], api.PodSucceeded)
		finish(ctx, t, c, active[1], api.PodSucceeded)
		active = waitActive(1)
		finish(ctx, t, c, active[0], api.PodSucceeded)
		j = waitJob(t, c, "wc", "Complete", func(x *api.Job) bool { k, _ := api.JobFinished(x); return k == api.JobComplete })
		if j.Status.Succeeded != 3 || j.Status.Failed != 1 || j.Status.Active != 0 || j.Status.CompletionTime == nil || j.Status.StartTime == nil {
			t.Errorf("status %+v", j.Status)
		}
		_, all := podsOf(ctx, t, c, j)
		if len(all) != 4 {
			t.Errorf("%d pods, want 4 (3 succeeded, 1 failed)", len(all))
		}
		for _, p := range all {
			if p.Labels["controller-uid"] != j.UID || p.Labels["job-name"] != "wc" {
				t.Errorf("pod %s labels %v", p.Name, p.Labels)
			}
		}
	})

	t.Run("backoff limit", func(t *testing.T) {
		j, err := jobs.Create(ctx, newJob("flaky", 1, 1, 1))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			var active []*api.Pod
			controllertest.Eventually(t, "a pod", func() (bool, string) {
				active, _ = podsOf(ctx, t, c, j)
				return len(active) == 1, fmt.Sprint(len(active))
			})
			finish(ctx, t, c, active[0], api.PodFailed)
		}
		j = waitJob(t, c, "flaky", "Failed", func(x *api.Job) bool { k, _ := api.JobFinished(x); return k == api.JobFailed })
		if cd := j.Status.Conditions[len(j.Status.Conditions)-1]; cd.Reason != api.JobReasonBackoffLimitExceeded || j.Status.Failed != 2 {
			t.Errorf("status %+v", j.Status)
		}
	})

	t.Run("ttl deletes job and pods", func(t *testing.T) {
		nj := newJob("short", 1, 1, 0)
		nj.Spec.TTLSecondsAfterFinished = api.Ptr[int32](0)
		j, err := jobs.Create(ctx, nj)
		if err != nil {
			t.Fatal(err)
		}
		var active []*api.Pod
		controllertest.Eventually(t, "a pod", func() (bool, string) {
			active, _ = podsOf(ctx, t, c, j)
			return len(active) == 1, fmt.Sprint(len(active))
		})
		finish(ctx, t, c, active[0], api.PodSucceeded)
		controllertest.Eventually(t, "job and pods gone", func() (bool, string) {
			_, err := jobs.Get(ctx, "short")
			_, all := podsOf(ctx, t, c, j)
			return api.IsNotFound(err) && len(all) == 0, fmt.Sprintf("get: %v, %d pods", err, len(all))
		})
	})

	t.Run("active deadline", func(t *testing.T) {
		nj := newJob("slow", 1, 1, 6)
		nj.Spec.ActiveDeadlineSeconds = api.Ptr[int64](1)
		j, err := jobs.Create(ctx, nj)
		if err != nil {
			t.Fatal(err)
		}
		j = waitJob(t, c, "slow", "Failed", func(x *api.Job) bool { k, _ := api.JobFinished(x); return k == api.JobFailed })
		if cd := j.Status.Conditions[len(j.Status.Conditions)-1]; cd.Reason != api.JobReasonDeadlineExceeded || j.Status.Active != 0 {
			t.Errorf("status %+v", j.Status)
		}
		controllertest.Eventually(t, "the running pod deleted", func() (bool, string) {
			active, _ := podsOf(ctx, t, c, j)
			return len(active) == 0, fmt.Sprint(len(active))
		})
	})

	t.Run("invalid restart policy", func(t *testing.T) {
		bad := newJob("bad", 1, 1, 1)
		bad.Spec.Template.Spec.RestartPolicy = api.RestartAlways
		if _, err := jobs.Create(ctx, bad); !api.IsInvalid(err) {
			t.Fatalf("create with restartPolicy Always: %v; want 422", err)
		}
	})
}
