package printer

import (
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestDaemonSetRow(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ri, ok := api.NewResourceTable(api.Resources()).Lookup("ds")
	if !ok {
		t.Fatal("ds is not a name of daemonsets")
	}
	ds := &api.DaemonSet{ObjectMeta: api.ObjectMeta{Name: "agent", CreationTimestamp: api.Time{Time: now.Add(-3 * time.Minute)}}}
	ds.Spec.Selector = &api.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}
	ds.Spec.Template.Spec.Containers = []api.Container{{Name: "agent", Image: "agent:v1"}, {Name: "log", Image: "log:v2"}}
	ds.Status = api.DaemonSetStatus{DesiredNumberScheduled: 5, CurrentNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 2, NumberAvailable: 1}
	edge := *ds
	edge.Name = "edge"
	edge.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "b", "arch": "arm64"}
	var cols []string
	tbl, err := Table(ri, []api.Object{ds, &edge}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tbl.ColumnDefinitions {
		cols = append(cols, fmt.Sprintf("%s/%d", c.Name, c.Priority))
	}
	if got := fmt.Sprint(cols); got != "[Name/0 Desired/0 Current/0 Ready/0 Up-to-date/0 Available/0 Node Selector/0 Age/0 Containers/1 Images/1 Selector/1]" {
		t.Fatalf("columns %s", got)
	}
	for i, want := range []string{
		"[agent 5 4 3 2 1 <none> 3m agent,log agent:v1,log:v2 app=agent]",
		"[edge 5 4 3 2 1 arch=arm64,zone=b 3m agent,log agent:v1,log:v2 app=agent]",
	} {
		if got := fmt.Sprint(tbl.Rows[i].Cells); got != want {
			t.Errorf("row %s, want %s", got, want)
		}
	}
}
