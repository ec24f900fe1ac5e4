package disruption_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/deployment"
	"github.com/wasmkube/wasmkube/control/disruption"
	"github.com/wasmkube/wasmkube/control/replicaset"
)

func startControllers(t *testing.T, c *client.Client) {
	t.Helper()
	inf := controller.NewInformers(c)
	rsc, err := replicaset.New(replicaset.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := deployment.New(deployment.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := disruption.New(disruption.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 4)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = rsc.Run(ctx); done <- struct{}{} }()
	go func() { _ = dc.Run(ctx); done <- struct{}{} }()
	go func() { _ = pc.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done; <-done })
}

// TestDisruptionIntegration: budgets over a Deployment's pods, as the controller computes
// them from the live cluster.
func TestDisruptionIntegration(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := controllertest.Client(t, a)
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{})
	startControllers(t, c)
	ctx := context.Background()
	l := map[string]string{"app": "web"}
	_, err := client.Deployments(c).Namespace("default").Create(ctx, &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.DeploymentSpec{Replicas: api.Ptr[int32](4), Selector: &api.LabelSelector{MatchLabels: l},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	pdbs := client.For[*api.PodDisruptionBudget](c, "poddisruptionbudgets").Namespace("default")
	i, s := func(v int32) *api.IntOrString { return api.Ptr(api.FromInt(v)) }, func(v string) *api.IntOrString { return api.Ptr(api.FromString(v)) }
	cases := []struct {
		name                              string
		spec                              api.PodDisruptionBudgetSpec
		expected, healthy, desired, allow int32
	}{
		{"min-int", api.PodDisruptionBudgetSpec{MinAvailable: i(3)}, 4, 4, 3, 1},
		{"min-percent", api.PodDisruptionBudgetSpec{MinAvailable: s("50%")}, 4, 4, 2, 2},
		{"max-int", api.PodDisruptionBudgetSpec{MaxUnavailable: i(1)}, 4, 4, 3, 1},
		{"max-percent", api.PodDisruptionBudgetSpec{MaxUnavailable: s("25%")}, 4, 4, 3, 1},
		{"max-all", api.PodDisruptionBudgetSpec{MaxUnavailable: s("100%")}, 4, 4, 0, 4},
	}
	for _, tc := range cases {
		tc.spec.Selector = &api.LabelSelector{MatchLabels: l}
		if _, err := pdbs.Create(ctx, &api.PodDisruptionBudget{ObjectMeta: api.ObjectMeta{Name: tc.name, Namespace: "default"}, Spec: tc.spec}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, expected, healthy, desired, allow int32) {
		t.Helper()
		controllertest.Eventually(t, "status of "+name, func() (bool, string) {
			p, err := pdbs.Get(ctx, name)
			if err != nil {
				return false, err.Error()
			}
			st := p.Status
			cond := api.FindCondition(st.Conditions, api.DisruptionAllowedCondition)
			ok := st.ObservedGeneration == p.Generation && st.ExpectedPods == expected && st.CurrentHealthy == healthy &&
				st.DesiredHealthy == desired && st.DisruptionsAllowed == allow && cond != nil &&
				(cond.Status == api.ConditionTrue) == (allow > 0)
			return ok, fmt.Sprintf("%+v", st)
		})
	}
	for _, tc := range cases {
		check(tc.name, tc.expected, tc.healthy, tc.desired, tc.allow)
	}
	// One pod stops being ready: every budget has one healthy pod fewer.
	list, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("pods: %v", err)
	}
	if err := controllertest.SetReady(ctx, c, "default", list.Items[0].Name, false); err != nil {
		t.Fatal(err)
	}
	check("min-int", 4, 3, 3, 0)
	check("max-percent", 4, 3, 3, 0)
	check("max-all", 4, 3, 0, 3)
}
