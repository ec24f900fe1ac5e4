package printer

import (
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestJobAndModuleRows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ago time.Duration) *api.Time { return &api.Time{Time: now.Add(-ago)} }
	jobs := api.NewResourceTable(api.Resources())
	jobRI, _ := jobs.Lookup("jobs")
	modRI, _ := jobs.Lookup("modules")
	running := &api.Job{ObjectMeta: api.ObjectMeta{Name: "wc", UID: "u1", CreationTimestamp: *at(time.Minute)}}
	running.Spec.Completions, running.Spec.Parallelism = api.Ptr[int32](3), api.Ptr[int32](2)
	running.Status = api.JobStatus{StartTime: at(50 * time.Second), Succeeded: 1, Active: 2}
	done := &api.Job{ObjectMeta: api.ObjectMeta{Name: "done", UID: "u2", CreationTimestamp: *at(time.Hour)}}
	done.Spec.Completions = api.Ptr[int32](1)
	done.Status = api.JobStatus{StartTime: at(time.Hour), CompletionTime: at(time.Hour - 12*time.Second), Succeeded: 1,
		Conditions: []api.JobCondition{{Type: api.JobComplete, Status: api.ConditionTrue}}}
	mod := &api.Module{ObjectMeta: api.ObjectMeta{Name: "hello", CreationTimestamp: *at(2 * time.Minute)}}
	mod.SetTag(api.ModuleTag{Name: "v2", Digest: "sha256:bbbbbbbbbbbbbbbbbbbbbbbb", Pushed: *at(time.Second)})
	mod.SetTag(api.ModuleTag{Name: "v1", Digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaa", Pushed: *at(time.Minute)})
	for _, tc := range []struct {
		name string
		ri   *api.ResourceInfo
		obj  api.Object
		want string
	}{
		{"running job", jobRI, running, "[wc Running 1/3 50s 60s]"},
		{"complete job", jobRI, done, "[done Complete 1/1 12s 60m]"},
		{"module", modRI, mod, "[hello v1,v2 sha256:bbbbbbbbbbbb 2m]"},
		{"module without tags", modRI, &api.Module{ObjectMeta: api.ObjectMeta{Name: "empty", CreationTimestamp: *at(time.Second)}},
			"[empty <none> <none> 1s]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := Table(tc.ri, []api.Object{tc.obj}, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			cells := tbl.Rows[0].Cells
			var shown []any
			for i, c := range tbl.ColumnDefinitions {
				if c.Priority == 0 {
					shown = append(shown, cells[i])
				}
			}
			if got := fmt.Sprint(shown); got != tc.want {
				t.Errorf("row %s, want %s", got, tc.want)
			}
		})
	}
}
