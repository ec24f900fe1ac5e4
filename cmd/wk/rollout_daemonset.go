package main

import (
	"fmt"

	"github.com/wasmkube/wasmkube/control/api"
)

var daemonSetKind = api.GroupKind{Group: "apps", Kind: "DaemonSet"}

// daemonSetStatus is kubectl's DaemonSetStatusViewer: the message to show and whether the
// rollout is done.
func daemonSetStatus(ds *api.DaemonSet) (string, bool, error) {
	if ds.Spec.UpdateStrategy.Type != api.RollingUpdateStrategy {
		return "", true, fmt.Errorf("rollout status is only available for %s strategy type", api.RollingUpdateStrategy)
	}
	if ds.Generation <= ds.Status.ObservedGeneration {
		st := ds.Status
		if st.UpdatedNumberScheduled < st.DesiredNumberScheduled {
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...\n", ds.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled), false, nil
		}
		if st.NumberAvailable < st.DesiredNumberScheduled {
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...\n", ds.Name, st.NumberAvailable, st.DesiredNumberScheduled), false, nil
		}
		return fmt.Sprintf("daemon set %q successfully rolled out\n", ds.Name), true, nil
	}
	return "Waiting for daemon set spec update to be observed...\n", false, nil
}

// noDaemonSetRollout refuses the rollout subcommands wk implements only for deployments:
// pause and resume, as kubectl ("pausing is not supported"), and history and undo, which
// need the ControllerRevisions wk does not keep for daemonsets.
func noDaemonSetRollout(ri *api.ResourceInfo, names []string, verb string) error {
	if ri == nil || ri.GroupKind() != daemonSetKind {
		return nil
	}
	switch verb {
	case "pause", "resume":
		return fmt.Errorf("daemonsets.apps %q %s is not supported", names[0], map[string]string{"pause": "pausing", "resume": "resuming"}[verb])
	}
	return fmt.Errorf("%s of daemonsets is not supported: wk keeps no ControllerRevisions for them (the controller-revision-hash label tells revisions apart)", verb)
}
