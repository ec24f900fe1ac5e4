package main

import (
	"context"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// daemonSet is kubectl describe daemonset: the node counts of its status, its pods counted by
// phase, its pod template and its events.
func (d *describer) daemonSet(ctx context.Context, ds *api.DaemonSet) (string, error) {
	pods, err := client.Pods(d.c).Namespace(ds.Namespace).List(ctx, client.ListOptions{})
	if err != nil {
		return "", err
	}
	var running, waiting, succeeded, failed int
	for _, pod := range pods.Items {
		if !api.IsControlledBy(&pod.ObjectMeta, ds.UID) {
			continue
		}
		switch pod.Status.Phase {
		case api.PodRunning:
			running++
		case api.PodPending:
			waiting++
		case api.PodSucceeded:
			succeeded++
		case api.PodFailed:
			failed++
		}
	}
	evs, err := d.eventsFor(ctx, "DaemonSet", &ds.ObjectMeta)
	if err != nil {
		return "", err
	}
	st := ds.Status
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", ds.Name)
	p.write(0, "Selector:\t%s\n", selectorText(ds.Spec.Selector))
	p.write(0, "Node-Selector:\t%s\n", formatLabels(ds.Spec.Template.Spec.NodeSelector))
	p.labelsMultiline("Labels", ds.Labels)
	p.annotationsMultiline("Annotations", ds.Annotations)
	p.write(0, "Desired Number of Nodes Scheduled: %d\n", st.DesiredNumberScheduled)
	p.write(0, "Current Number of Nodes Scheduled: %d\n", st.CurrentNumberScheduled)
	p.write(0, "Number of Nodes Scheduled with Up-to-date Pods: %d\n", st.UpdatedNumberScheduled)
	p.write(0, "Number of Nodes Scheduled with Available Pods: %d\n", st.NumberAvailable)
	p.write(0, "Number of Nodes Misscheduled: %d\n", st.NumberMisscheduled)
	p.write(0, "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d Failed\n", running, waiting, succeeded, failed)
	d.podTemplate(p, &ds.Spec.Template)
	d.writeEvents(p, evs)
	return p.String(), nil
}
