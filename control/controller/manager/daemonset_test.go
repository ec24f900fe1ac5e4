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
	"github.com/wasmkube/wasmkube/control/daemonset"
)

// TestManagerRunsDaemonSets: the manager runs the daemonset controller, and the garbage
// collector removes a DaemonSet's pods with it.
func TestManagerRunsDaemonSets(t *testing.T) {
	c := controllertest.Client(t, clustertest.StartAPI(t))
	controllertest.StartRunner(t, c, controllertest.RunnerConfig{Node: "node-a", Bind: true, Renew: 500 * time.Millisecond})
	startManager(t, c)
	ctx := context.Background()
	l := map[string]string{"app": "agent"}
	dss := daemonset.DaemonSets(c).Namespace("default")
	if _, err := dss.Create(ctx, &api.DaemonSet{ObjectMeta: api.ObjectMeta{Name: "agent"}, Spec: api.DaemonSetSpec{
		Selector: &api.LabelSelector{MatchLabels: l},
		Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: l},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "agent", Image: "agent:v1"}}}}}}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the daemon pod available on node-a", func() (bool, string) {
		ds, err := dss.Get(ctx, "agent")
		if err != nil {
			return false, err.Error()
		}
		st := ds.Status
		return st.DesiredNumberScheduled == 1 && st.NumberAvailable == 1 && st.ObservedGeneration == ds.Generation, fmt.Sprintf("%+v", st)
	})
	if err := dss.Delete(ctx, "agent", &api.DeleteOptions{PropagationPolicy: api.Ptr(api.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the DaemonSet and its pod gone", func() (bool, string) {
		_, derr := dss.Get(ctx, "agent")
		pods, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "app=agent"})
		if err != nil {
			return false, err.Error()
		}
		return api.IsNotFound(derr) && len(pods.Items) == 0, fmt.Sprintf("daemonset %v, %d pods", derr, len(pods.Items))
	})
}
