package printer

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// DaemonSet column descriptions, Kubernetes' own.
const (
	descDaemonSetDesired      = "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
	descDaemonSetCurrent      = "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
	descDaemonSetReady        = "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition."
	descDaemonSetUpToDate     = "The total number of nodes that are running updated daemon pod"
	descDaemonSetAvailable    = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"
	descDaemonSetNodeSelector = "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"
	descDaemonSetSelector     = "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
)

func daemonSetColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{
		nameCol(),
		col("Desired", typeInteger, descDaemonSetDesired, 0),
		col("Current", typeInteger, descDaemonSetCurrent, 0),
		col("Ready", typeInteger, descDaemonSetReady, 0),
		col("Up-to-date", typeInteger, descDaemonSetUpToDate, 0),
		col("Available", typeInteger, descDaemonSetAvailable, 0),
		col("Node Selector", typeString, descDaemonSetNodeSelector, 0),
		ageCol(),
		col("Containers", typeString, descContainers, 1),
		col("Images", typeString, descImages, 1),
		col("Selector", typeString, descDaemonSetSelector, 1),
	}
}

// daemonSetRow is kubectl's printDaemonSet.
func daemonSetRow(ds *api.DaemonSet, now time.Time) []any {
	st := ds.Status
	names, images := containerCells(ds.Spec.Template.Spec.Containers)
	return []any{
		ds.Name,
		int64(st.DesiredNumberScheduled),
		int64(st.CurrentNumberScheduled),
		int64(st.NumberReady),
		int64(st.UpdatedNumberScheduled),
		int64(st.NumberAvailable),
		formatLabels(ds.Spec.Template.Spec.NodeSelector),
		age(ds.CreationTimestamp, now),
		names, images, formatLabelSelector(ds.Spec.Selector),
	}
}
