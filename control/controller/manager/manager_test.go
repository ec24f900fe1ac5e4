package manager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/controller/manager"
	"github.com/wasmkube/wasmkube/control/nodelifecycle"
)

// startManager runs every controller against c until the test ends, and checks that Run
// returns once its context is cancelled.
func startManager(t testing.TB, c *client.Client) {
	t.Helper()
	m, err := manager.New(manager.Config{Client: c, Identity: "test",
		NodeLifecycle: nodelifecycle.Config{GracePeriod: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

func deploymentOf(name, ns string, replicas int32) *api.Deployment {
	l := map[string]string{"app": name}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: ns},
		Spec: api.DeploymentSpec{
			Replicas: api.Ptr(replicas),
			Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1",
					Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}},
		},
	}
}

func TestManager(t *testing.T) {
	if _, err := manager.New(manager.Config{}); err == nil {
		t.Fatal("config without a client accepted")
	}
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{Node: "node-a", Bind: true, Renew: 500 * time.Millisecond})
	startManager(t, c)
	ctx := context.Background()

	d, err := client.Deployments(c).Namespace("default").Create(ctx, deploymentOf("hello", "default", 3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Services(c).Namespace("default").Create(ctx, &api.Service{
		ObjectMeta: api.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: api.ServiceSpec{Selector: map[string]string{"app": "hello"},
			Ports: []api.ServicePort{{Port: 80, TargetPort: api.FromString("http")}}},
	}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "3 available and 3 endpoints", func() (bool, string) {
		got, err := client.Deployments(c).Namespace("default").Get(ctx, "hello")
		if err != nil {
			return false, err.Error()
		}
		ep, err := client.Endpoints(c).Namespace("default").Get(ctx, "hello")
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, s := range ep.Subsets {
			n += len(s.Addresses)
		}
		return got.Status.AvailableReplicas == 3 && n == 3, fmt.Sprintf("status %+v, %d endpoints", got.Status, n)
	})

	t.Run("deleting the deployment collects its replicasets and pods", func(t *testing.T) {
		if err := client.Deployments(c).Namespace("default").Delete(ctx, "hello", nil); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "replicasets and pods gone", func() (bool, string) {
			rss, err := client.ReplicaSets(c).Namespace("default").List(ctx, client.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			pods, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "app=hello"})
			if err != nil {
				return false, err.Error()
			}
			owned := 0
			for _, rs := range rss.Items {
				if api.IsControlledBy(&rs.ObjectMeta, d.UID) {
					owned++
				}
			}
			return owned == 0 && len(pods.Items) == 0, fmt.Sprintf("%d replicasets, %d pods", owned, len(pods.Items))
		})
		controllertest.Eventually(t, "endpoints empty", func() (bool, string) {
			ep, err := client.Endpoints(c).Namespace("default").Get(ctx, "hello")
			if err != nil {
				return false, err.Error()
			}
			return len(ep.Subsets) == 0, fmt.Sprintf("%+v", ep.Subsets)
		})
	})

	t.Run("foreground deletion of a deployment", func(t *testing.T) {
		if _, err := client.Deployments(c).Namespace("default").Create(ctx, deploymentOf("fg", "default", 2)); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "fg available", func() (bool, string) {
			got, err := client.Deployments(c).Namespace("default").Get(ctx, "fg")
			return err == nil && got.Status.AvailableReplicas == 2, fmt.Sprint(err)
		})
		err := client.Deployments(c).Namespace("default").Delete(ctx, "fg",
			&api.DeleteOptions{PropagationPolicy: api.Ptr(api.DeletePropagationForeground)})
		if err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "fg, its replicaset and pods gone", func() (bool, string) {
			_, derr := client.Deployments(c).Namespace("default").Get(ctx, "fg")
			pods, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "app=fg"})
			if err != nil {
				return false, err.Error()
			}
			if api.IsNotFound(derr) && len(pods.Items) > 0 {
				t.Fatalf("deployment gone before its %d pods", len(pods.Items))
			}
			return api.IsNotFound(derr), fmt.Sprintf("deployment %v, %d pods", derr, len(pods.Items))
		})
	})

	t.Run("namespace deletion empties it", func(t *testing.T) {
		if _, err := client.Namespaces(c).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Deployments(c).Namespace("team").Create(ctx, deploymentOf("web", "team", 2)); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "team/web available", func() (bool, string) {
			got, err := client.Deployments(c).Namespace("team").Get(ctx, "web")
			return err == nil && got.Status.AvailableReplicas == 2, fmt.Sprint(err)
		})
		if err := client.Namespaces(c).Delete(ctx, "team", nil); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, "namespace team gone", func() (bool, string) {
			_, err := client.Namespaces(c).Get(ctx, "team")
			return api.IsNotFound(err), fmt.Sprint(err)
		})
	})
}

// BenchmarkDeployment1000 measures how long the controllers take to bring a Deployment of
// 1,000 replicas to 1,000 available pods, against a real API server and etcd, with a test
// runner marking each pod Running and Ready as soon as it appears. Run with -benchtime=1x.
func BenchmarkDeployment1000(b *testing.B) {
	a := clustertest.StartAPI(b)
	c := controllertest.Client(b, a)
	controllertest.StartRunner(b, c, controllertest.RunnerConfig{Workers: 32})
	startManager(b, c)
	ctx := context.Background()
	dAPI := client.Deployments(c).Namespace("default")
	n := 0
	for b.Loop() {
		n++
		name := fmt.Sprintf("big-%d", n)
		start := time.Now()
		if _, err := dAPI.Create(ctx, deploymentOf(name, "default", 1000)); err != nil {
			b.Fatal(err)
		}
		for {
			got, err := dAPI.Get(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			if got.Status.AvailableReplicas == 1000 {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("not converged: %+v", got.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/1000-pods")
		b.StopTimer()
		if err := dAPI.Delete(ctx, name, nil); err != nil {
			b.Fatal(err)
		}
		for {
			pods, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "app=" + name})
			if err != nil {
				b.Fatal(err)
			}
			if len(pods.Items) == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.StartTimer()
	}
}
