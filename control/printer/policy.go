package printer

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// podDisruptionBudgetColumns follow Kubernetes' PodDisruptionBudget columns.
func podDisruptionBudgetColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Min Available", typeString, "The minimum number of pods that must be available.", 0),
		col("Max Unavailable", typeString, "The maximum number of pods that may be unavailable.", 0),
		col("Allowed Disruptions", typeInteger, "Calculated number of pods that may be disrupted at this time.", 0),
		ageCol()}
}

// podDisruptionBudgetRow prints N/A for the bound that is not set, as Kubernetes does.
func podDisruptionBudgetRow(p *api.PodDisruptionBudget, now time.Time) []any {
	minAvail, maxUnavail := "N/A", "N/A"
	if p.Spec.MinAvailable != nil {
		minAvail = p.Spec.MinAvailable.String()
	}
	if p.Spec.MaxUnavailable != nil {
		maxUnavail = p.Spec.MaxUnavailable.String()
	}
	return []any{p.Name, minAvail, maxUnavail, int64(p.Status.DisruptionsAllowed), age(p.CreationTimestamp, now)}
}
