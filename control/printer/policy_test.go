package printer

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func podDisruptionBudgets() []*api.PodDisruptionBudget {
	sel := &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	return []*api.PodDisruptionBudget{
		{ObjectMeta: meta("default", "web", 2*day, nil),
			Spec:   api.PodDisruptionBudgetSpec{MinAvailable: api.Ptr(api.FromString("50%")), Selector: sel},
			Status: api.PodDisruptionBudgetStatus{DisruptionsAllowed: 2, CurrentHealthy: 4, DesiredHealthy: 2, ExpectedPods: 4}},
		{ObjectMeta: meta("default", "db", 5*time.Minute, nil),
			Spec: api.PodDisruptionBudgetSpec{MaxUnavailable: api.Ptr(api.FromInt(1)), Selector: sel}},
	}
}
