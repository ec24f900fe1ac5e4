package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestSetReady(t *testing.T) {
	old := api.NewTime(t0.Add(-time.Hour))
	tests := []struct {
		name           string
		conds          []api.NodeCondition
		wantTransition time.Time
		wantLen        int
	}{
		{"missing", nil, t0, 1},
		{"unknown", []api.NodeCondition{
			{Type: NodeMemoryPressure, Status: api.ConditionFalse},
			{Type: api.NodeReady, Status: api.ConditionUnknown, Reason: "NodeStatusUnknown", LastTransitionTime: old},
		}, t0, 2},
		{"already true", []api.NodeCondition{
			{Type: api.NodeReady, Status: api.ConditionTrue, LastTransitionTime: old, LastHeartbeatTime: old},
		}, old.Time, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.conds)
			got := setReady(tt.conds, t0)
			if fmt.Sprint(tt.conds) != before {
				t.Error("setReady mutated its input")
			}
			if len(got) != tt.wantLen {
				t.Fatalf("len = %d, want %d: %+v", len(got), tt.wantLen, got)
			}
			n := &api.Node{Status: api.NodeStatus{Conditions: got}}
			if !IsReady(n) {
				t.Fatalf("not ready: %+v", got)
			}
			for _, c := range got {
				if c.Type != api.NodeReady {
					continue
				}
				if c.Reason != ReasonKubeletReady || c.Message != MessageReady || !c.LastHeartbeatTime.Equal(t0) ||
					!c.LastTransitionTime.Equal(tt.wantTransition) {
					t.Errorf("ready condition = %+v", c)
				}
			}
		})
	}
}

func TestReadyConditions(t *testing.T) {
	want := map[string]api.ConditionStatus{api.NodeReady: api.ConditionTrue, NodeMemoryPressure: api.ConditionFalse,
		NodeDiskPressure: api.ConditionFalse, NodePIDPressure: api.ConditionFalse}
	got := readyConditions(t0)
	if len(got) != len(want) {
		t.Fatalf("conditions: %+v", got)
	}
	for _, c := range got {
		if want[c.Type] != c.Status || c.Reason == "" || !c.LastHeartbeatTime.Equal(t0) {
			t.Errorf("condition %+v", c)
		}
	}
}
