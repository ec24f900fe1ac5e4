package cronjob_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/cronjob"
	"github.com/wasmkube/wasmkube/control/gc"
	"github.com/wasmkube/wasmkube/control/job"
	"github.com/wasmkube/wasmkube/control/scheduler"
	"github.com/wasmkube/wasmkube/runner/hollow"
)

// clock is the cronjob controller's Now, advanced by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// start runs the cronjob controller (on clk), the job controller, the garbage collector, the
// scheduler and one hollow node on a.
func start(t *testing.T, a *clustertest.API, clk *clock) (*client.Client, context.Context) {
	t.Helper()
	c := controllertest.Client(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	run := func(f func(context.Context) error) { wg.Go(func() { _ = f(ctx) }) }
	inf := controller.NewInformers(c)
	rec := client.NewRecorder(c, client.RecorderConfig{Component: cronjob.Name})
	rec.Start(ctx)
	cjc, err := cronjob.New(cronjob.Config{Client: c, Informers: inf, Recorder: rec, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	jc, err := job.New(job.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gc.New(gc.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(scheduler.Config{Client: c, Rand: rand.New(rand.NewPCG(1, 2)), RetryInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hr, err := hollow.New(hollow.Config{Client: c, Nodes: 1, NamePrefix: "cron-"})
	if err != nil {
		t.Fatal(err)
	}
	run(func(ctx context.Context) error { inf.Run(ctx); return nil })
	for _, f := range []func(context.Context) error{cjc.Run, jc.Run, g.Run, s.Run, hr.Run} {
		run(f)
	}
	return c, ctx
}

func newCronJob(name string) *api.CronJob {
	cj := &api.CronJob{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"}}
	cj.Spec.Schedule = "*/1 * * * *"
	cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = api.RestartNever
	cj.Spec.JobTemplate.Spec.Template.Spec.Containers = []api.Container{{Name: "wc", Image: "wc:v1"}}
	return cj
}

func TestCronJobValidation(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	ctx := context.Background()
	cjs := cronjob.CronJobs(c).Namespace("default")
	for _, tc := range []struct {
		name   string
		mutate func(*api.CronJob)
		want   string
	}{
		{"bad schedule", func(cj *api.CronJob) { cj.Spec.Schedule = "x" }, `spec.schedule: Invalid value: "x": `},
		{"six fields", func(cj *api.CronJob) { cj.Spec.Schedule = "* * * * * *" }, `spec.schedule: Invalid value: "* * * * * *": expected exactly 5 fields`},
		{"TZ in schedule", func(cj *api.CronJob) { cj.Spec.Schedule = "TZ=UTC */1 * * * *" },
			`spec.schedule: Invalid value: "TZ=UTC */1 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`},
		{"unknown time zone", func(cj *api.CronJob) { cj.Spec.TimeZone = api.Ptr("Mars/Olympus") },
			`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`},
		{"concurrency policy", func(cj *api.CronJob) { cj.Spec.ConcurrencyPolicy = "Sometimes" },
			`spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`},
		{"negative deadline", func(cj *api.CronJob) { cj.Spec.StartingDeadlineSeconds = api.Ptr[int64](-1) },
			`spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0`},
		{"negative history", func(cj *api.CronJob) { cj.Spec.SuccessfulJobsHistoryLimit = api.Ptr[int32](-1) },
			`spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0`},
		{"job template restart policy", func(cj *api.CronJob) { cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = api.RestartAlways },
			`spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always"`},
		{"job template parallelism", func(cj *api.CronJob) { cj.Spec.JobTemplate.Spec.Parallelism = api.Ptr[int32](-1) },
			`spec.jobTemplate.spec.parallelism: Invalid value: -1: must be greater than or equal to 0`},
		{"long name", func(cj *api.CronJob) { cj.Name = strings.Repeat("a", 53) }, `must be no more than 52 characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := newCronJob("bad")
			tc.mutate(cj)
			_, err := cjs.Create(ctx, cj)
			if api.ReasonOf(err) != api.ReasonInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: %v, want 422 containing %q", err, tc.want)
			}
			if _, err := cjs.Get(ctx, cj.Name); !api.IsNotFound(err) {
				t.Fatalf("get after a refused create: %v, want not found", err)
			}
		})
	}
	cj, err := cjs.Create(ctx, newCronJob("good"))
	if err != nil {
		t.Fatal(err)
	}
	if cj.Spec.ConcurrencyPolicy != api.AllowConcurrent || *cj.Spec.SuccessfulJobsHistoryLimit != 3 ||
		*cj.Spec.FailedJobsHistoryLimit != 1 || *cj.Spec.Suspend {
		t.Fatalf("defaults: %+v", cj.Spec)
	}
}

// TestCronJobRunsJobs drives a */1 CronJob through two scheduled runs by advancing the
// controller's clock: each run's Job is created, its pod runs on a hollow node and is
// completed, and the CronJob's status and successful history limit follow.
func TestCronJobRunsJobs(t *testing.T) {
	a := clustertest.StartAPI(t)
	clk := &clock{}
	clk.Set(time.Now())
	c, ctx := start(t, a, clk)
	cjs := cronjob.CronJobs(c).Namespace("default")
	jobs := job.Jobs(c).Namespace("default")
	want := newCronJob("tick")
	want.Spec.SuccessfulJobsHistoryLimit = api.Ptr[int32](1)
	cj, err := cjs.Create(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	// touch makes the controller look again after the clock moved, as its timer would.
	touch := func(n int) {
		t.Helper()
		controllertest.Eventually(t, "touch the cronjob", func() (bool, string) {
			cur, err := cjs.Get(ctx, "tick")
			if err != nil {
				return false, err.Error()
			}
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations["test/tick"] = fmt.Sprint(n)
			_, err = cjs.Update(ctx, cur)
			return err == nil, fmt.Sprint(err)
		})
	}
	runMinute := func(n int, at time.Time) *api.Job {
		t.Helper()
		clk.Set(at.Add(time.Second))
		touch(n)
		name := cronjob.JobName(cj, at)
		var j *api.Job
		controllertest.Eventually(t, "job "+name, func() (bool, string) {
			j, err = jobs.Get(ctx, name)
			return err == nil, fmt.Sprint(err)
		})
		if ref := api.ControllerOf(&j.ObjectMeta); ref == nil || ref.UID != cj.UID ||
			j.Annotations[api.CronJobScheduledTimestampAnnotation] != at.UTC().Format(time.RFC3339) {
			t.Fatalf("job %s: owner %+v, annotations %v", name, ref, j.Annotations)
		}
		controllertest.Eventually(t, "cronjob lists "+name+" active", func() (bool, string) {
			cur, err := cjs.Get(ctx, "tick")
			if err != nil {
				return false, err.Error()
			}
			ok := len(cur.Status.Active) == 1 && cur.Status.Active[0].Name == name &&
				cur.Status.LastScheduleTime != nil && cur.Status.LastScheduleTime.Equal(at)
			return ok, fmt.Sprintf("%+v", cur.Status)
		})
		var pod *api.Pod
		controllertest.Eventually(t, "pod of "+name+" running on a hollow node", func() (bool, string) {
			list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "job-name=" + name})
			if err != nil || len(list.Items) != 1 {
				return false, fmt.Sprint(err, list)
			}
			pod = list.Items[0]
			return pod.Status.Phase == api.PodRunning, pod.Status.Phase
		})
		// Hollow containers never stop: finish the pod as its runner would.
		up := controller.Clone(pod)
		up.Status.Phase = api.PodSucceeded
		if _, err := client.Pods(c).Namespace("default").UpdateStatus(ctx, up); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "cronjob saw "+name+" complete", func() (bool, string) {
			cur, err := cjs.Get(ctx, "tick")
			if err != nil {
				return false, err.Error()
			}
			return len(cur.Status.Active) == 0 && cur.Status.LastSuccessfulTime != nil, fmt.Sprintf("%+v", cur.Status)
		})
		return j
	}
	first := cj.CreationTimestamp.Truncate(time.Minute).Add(time.Minute)
	j1 := runMinute(1, first)
	j2 := runMinute(2, first.Add(time.Minute))
	controllertest.Eventually(t, "history limit 1 deletes the first job", func() (bool, string) {
		_, err1 := jobs.Get(ctx, j1.Name)
		_, err2 := jobs.Get(ctx, j2.Name)
		return api.IsNotFound(err1) && err2 == nil, fmt.Sprint(err1, err2)
	})
	controllertest.Eventually(t, "events as Kubernetes words them", func() (bool, string) {
		list, err := client.Events(c).Namespace("default").List(ctx, client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		want := map[string]bool{"Created job " + j2.Name: false, "Saw completed job: " + j1.Name + ", condition: Complete": false,
			"Deleted job " + j1.Name: false}
		var got []string
		for _, e := range list.Items {
			if e.InvolvedObject.Kind == "CronJob" && e.InvolvedObject.Name == "tick" {
				got = append(got, e.Reason+": "+e.Message)
				if _, ok := want[e.Message]; ok {
					want[e.Message] = true
				}
			}
		}
		for _, seen := range want {
			if !seen {
				return false, strings.Join(got, "; ")
			}
		}
		return true, ""
	})
}

// TestCronJobReplace: under concurrencyPolicy Replace the next run deletes the Job still
// running (background propagation) and takes its place in status.active; under Forbid it is
// skipped while a Job runs.
func TestCronJobReplace(t *testing.T) {
	a := clustertest.StartAPI(t)
	clk := &clock{}
	clk.Set(time.Now())
	c, ctx := start(t, a, clk)
	cjs := cronjob.CronJobs(c).Namespace("default")
	jobs := job.Jobs(c).Namespace("default")
	for _, policy := range []string{api.ReplaceConcurrent, api.ForbidConcurrent} {
		t.Run(policy, func(t *testing.T) {
			clk.Set(time.Now()) // before the new CronJob's first scheduled time
			want := newCronJob(strings.ToLower(policy))
			want.Spec.ConcurrencyPolicy = policy
			cj, err := cjs.Create(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			first := cj.CreationTimestamp.Truncate(time.Minute).Add(time.Minute)
			step := func(n int, at time.Time, active string) {
				t.Helper()
				clk.Set(at.Add(time.Second))
				controllertest.Eventually(t, fmt.Sprintf("%s active", active), func() (bool, string) {
					cur, err := cjs.Get(ctx, cj.Name)
					if err != nil {
						return false, err.Error()
					}
					if cur.Annotations["test/tick"] != fmt.Sprint(n) {
						if cur.Annotations == nil {
							cur.Annotations = map[string]string{}
						}
						cur.Annotations["test/tick"] = fmt.Sprint(n)
						_, err = cjs.Update(ctx, cur)
						return false, fmt.Sprint("touch: ", err)
					}
					return len(cur.Status.Active) == 1 && cur.Status.Active[0].Name == active, fmt.Sprintf("%+v", cur.Status)
				})
			}
			j1, j2 := cronjob.JobName(cj, first), cronjob.JobName(cj, first.Add(time.Minute))
			step(1, first, j1)
			if policy == api.ReplaceConcurrent {
				step(2, first.Add(time.Minute), j2)
				controllertest.Eventually(t, j1+" deleted", func() (bool, string) {
					_, err := jobs.Get(ctx, j1)
					return api.IsNotFound(err), fmt.Sprint(err)
				})
				return
			}
			step(2, first.Add(time.Minute), j1)
			if _, err := jobs.Get(ctx, j2); !api.IsNotFound(err) {
				t.Fatalf("forbid started %s while %s runs: %v", j2, j1, err)
			}
		})
	}
}
