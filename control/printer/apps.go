package printer

import (
	"strconv"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func deploymentRow(d *api.Deployment, now time.Time) []any {
	desired := api.Deref(d.Spec.Replicas, 1)
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	sel, ok := selectorString(d.Spec.Selector)
	if !ok {
		sel = "<invalid>"
	}
	return []any{
		d.Name,
		strconv.Itoa(int(d.Status.ReadyReplicas)) + "/" + strconv.Itoa(int(desired)),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		age(d.CreationTimestamp, now),
		names, images, sel,
	}
}

func replicaSetRow(rs *api.ReplicaSet, now time.Time) []any {
	names, images := containerCells(rs.Spec.Template.Spec.Containers)
	return []any{
		rs.Name,
		int64(api.Deref(rs.Spec.Replicas, 1)),
		int64(rs.Status.Replicas),
		int64(rs.Status.ReadyReplicas),
		age(rs.CreationTimestamp, now),
		names, images, formatLabelSelector(rs.Spec.Selector),
	}
}

// containerCells lays the containers' names and images each on one comma-separated line.
func containerCells(cs []api.Container) (names, images string) {
	var n, i strings.Builder
	for k, c := range cs {
		if k > 0 {
			n.WriteByte(',')
			i.WriteByte(',')
		}
		n.WriteString(c.Name)
		i.WriteString(c.Image)
	}
	return n.String(), i.String()
}
