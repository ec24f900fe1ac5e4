package main

import (
	"context"

	"github.com/wasmkube/wasmkube/control/api"
)

// daemonSet is kubectl describe daemonset: the node counts of its status, its pods counted by
// phase, its pod template and its events.
func (d *describer) daemonSet(ctx context.Context, ds *api.DaemonSet) (string, error) {
	status, err := d.podsStatus(ctx, &ds.ObjectMeta)
	if err != nil {
		return "", err
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
	p.write(0, "Pods Status:\t%s\n", status)
	d.podTemplate(p, &ds.Spec.Template)
	d.writeEvents(p, evs)
	return p.String(), nil
}
