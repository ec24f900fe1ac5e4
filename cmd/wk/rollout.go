package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
)

// AnnotationRestartedAt is the pod template annotation `rollout restart` sets, as kubectl does.
const annotationRestartedAt = "kubectl.kubernetes.io/restartedAt"

func newRolloutCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout SUBCOMMAND",
		Short: "Manage the rollout of a deployment or daemonset",
		Long: "Manage the rollout of a deployment: watch its status, list its history, undo, restart, pause and resume it; " +
			"or of a daemonset: watch its status and restart it.",
		Example: `  wk rollout status deployment hello
  wk rollout undo deployment/hello --to-revision=1`,
	}
	status := &cobra.Command{
		Use:   "status (deployment|daemonset) NAME | TYPE/NAME",
		Short: "Show the status of the rollout",
		Long:  "Show the status of the rollout, watching it until it completes unless --watch=false.",
		RunE:  clientAction(s, runRolloutStatus),
	}
	status.Flags().BoolP("watch", "w", true, "watch the status of the rollout until it is done")
	status.Flags().Duration("timeout", 0, "how long to wait before giving up; 0 waits forever")
	status.Flags().Int64("revision", 0, "pin to a specific revision for showing its status (0: the latest)")

	history := &cobra.Command{
		Use:   "history deployment NAME | deployment/NAME",
		Short: "View rollout history",
		RunE:  clientAction(s, runRolloutHistory),
	}
	history.Flags().Int64("revision", 0, "see the details, including the pod template, of this revision")

	undo := &cobra.Command{
		Use:   "undo deployment NAME | deployment/NAME",
		Short: "Undo a previous rollout",
		RunE:  clientAction(s, runRolloutUndo),
	}
	undo.Flags().Int64("to-revision", 0, "the revision to roll back to (0: the previous one)")

	restart := &cobra.Command{
		Use:   "restart (deployment|daemonset) NAME | TYPE/NAME",
		Short: "Restart a deployment's or daemonset's pods with a new rollout",
		RunE:  clientAction(s, runRolloutRestart),
	}
	pause := &cobra.Command{
		Use:   "pause deployment NAME | deployment/NAME",
		Short: "Mark a deployment as paused: template changes do not roll out",
		RunE: clientAction(s, func(ctx context.Context, sess *session, args []string) error {
			return runRolloutPause(ctx, sess, args, true)
		}),
	}
	resume := &cobra.Command{
		Use:   "resume deployment NAME | deployment/NAME",
		Short: "Resume a paused deployment",
		RunE: clientAction(s, func(ctx context.Context, sess *session, args []string) error {
			return runRolloutPause(ctx, sess, args, false)
		}),
	}
	cmd.AddCommand(status, history, undo, restart, pause, resume)
	return cmd
}

// rolloutTargets resolves `deployment NAME...` or `deployment/NAME...` to deployment names.
func rolloutTargets(ctx context.Context, sess *session, args []string) (*api.ResourceInfo, []string, error) {
	if len(args) == 0 {
		return nil, nil, errors.New("required resource not specified")
	}
	if err := sess.connect(); err != nil {
		return nil, nil, err
	}
	reqs, err := parseTypeArgs(ctx, sess, args)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	var ri *api.ResourceInfo
	for _, r := range reqs {
		switch gk := r.ri.GroupKind(); {
		case gk != (api.GroupKind{Group: "apps", Kind: "Deployment"}) && gk != daemonSetKind:
			return nil, nil, fmt.Errorf("no rollout support for %s: wk implements rollouts of deployments and daemonsets", kindName(r.ri))
		case ri != nil && ri.GroupKind() != gk:
			return nil, nil, fmt.Errorf("give deployments and daemonsets to separate rollout commands, not %s and %s", kindName(ri), kindName(r.ri))
		}
		if len(r.names) == 0 {
			return nil, nil, errors.New("resource(s) were provided, but no name was specified")
		}
		ri = r.ri
		names = append(names, r.names...)
	}
	return ri, names, nil
}

// deploymentStatus is kubectl's DeploymentStatusViewer: the message to show and whether the
// rollout is done.
func deploymentStatus(d *api.Deployment, revision int64) (string, bool, error) {
	if revision > 0 {
		rev, err := strconv.ParseInt(d.Annotations[api.AnnotationRevision], 10, 64)
		if err != nil {
			rev = 0
		}
		if rev != revision {
			return "", false, fmt.Errorf("desired revision (%d) is different from the running revision (%d)", revision, rev)
		}
	}
	if d.Generation <= d.Status.ObservedGeneration {
		for _, c := range d.Status.Conditions {
			if c.Type == api.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
				return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
			}
		}
		want := api.Deref(d.Spec.Replicas, 1)
		st := d.Status
		switch {
		case st.UpdatedReplicas < want:
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", d.Name, st.UpdatedReplicas, want), false, nil
		case st.Replicas > st.UpdatedReplicas:
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", d.Name, st.Replicas-st.UpdatedReplicas), false, nil
		case st.AvailableReplicas < st.UpdatedReplicas:
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", d.Name, st.AvailableReplicas, st.UpdatedReplicas), false, nil
		}
		return fmt.Sprintf("deployment %q successfully rolled out\n", d.Name), true, nil
	}
	return "Waiting for deployment spec update to be observed...\n", false, nil
}

func runRolloutStatus(ctx context.Context, sess *session, args []string) error {
	ri, names, err := rolloutTargets(ctx, sess, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return fmt.Errorf("rollout status is only supported on individual resources and resource collections, but %d resources were found", len(names))
	}
	if d := sess.v.GetDuration("timeout"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if ri.GroupKind() == daemonSetKind {
		return watchRollout(ctx, sess, client.For[*api.DaemonSet](sess.c, "daemonsets").Namespace(sess.ns), names[0], daemonSetStatus)
	}
	revision := sess.v.GetInt64("revision")
	return watchRollout(ctx, sess, client.Deployments(sess.c).Namespace(sess.ns), names[0], func(d *api.Deployment) (string, bool, error) {
		return deploymentStatus(d, revision)
	})
}

// watchRollout prints status(obj) whenever it changes until the rollout is done (or, with
// --watch=false, once).
func watchRollout[T api.Object](ctx context.Context, sess *session, deps *client.Resource[T], name string,
	status func(T) (string, bool, error)) error {
	v := sess.v
	last := ""
	// check prints the status when it changed and reports whether the rollout is over.
	check := func(d T) (bool, error) {
		msg, done, err := status(d)
		if err != nil {
			return false, err
		}
		if msg != last {
			fmt.Fprint(sess.s.out, msg)
			last = msg
		}
		return done, nil
	}
	timedOut := func() error {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errors.New("timed out waiting for the condition")
		}
		return errReported
	}
	for {
		d, err := deps.Get(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return timedOut()
			}
			return err
		}
		done, err := check(d)
		if err != nil || done || !v.GetBool("watch") {
			return err
		}
		w, err := deps.Watch(ctx, client.ListOptions{
			FieldSelector:   "metadata.name=" + labels.EscapeFieldValue(name),
			ResourceVersion: d.GetObjectMeta().ResourceVersion,
		})
		if err != nil && !api.IsGone(err) {
			if ctx.Err() != nil {
				return timedOut()
			}
			return err
		}
		if w != nil {
			for ev := range w.Events() {
				switch ev.Type {
				case api.Added, api.Modified:
					done, err := check(ev.Object)
					if err != nil || done {
						w.Stop()
						return err
					}
				case api.Deleted:
					w.Stop()
					return fmt.Errorf("object has been deleted")
				}
			}
			w.Stop()
		}
		if ctx.Err() != nil {
			return timedOut()
		}
		if !pause(ctx, 100*time.Millisecond) {
			return timedOut()
		}
	}
}

// revisionOf reads an object's deployment.kubernetes.io/revision annotation.
func revisionOf(m *api.ObjectMeta) (int64, bool) {
	v, err := strconv.ParseInt(m.Annotations[api.AnnotationRevision], 10, 64)
	return v, err == nil
}

// deploymentAndReplicaSets reads a deployment and the ReplicaSets it controls.
func deploymentAndReplicaSets(ctx context.Context, sess *session, name string) (*api.Deployment, []*api.ReplicaSet, error) {
	d, err := client.Deployments(sess.c).Namespace(sess.ns).Get(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	list, err := client.ReplicaSets(sess.c).Namespace(sess.ns).List(ctx, client.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	var rss []*api.ReplicaSet
	for _, rs := range list.Items {
		if api.IsControlledBy(&rs.ObjectMeta, d.UID) {
			rss = append(rss, rs)
		}
	}
	return d, rss, nil
}

func runRolloutHistory(ctx context.Context, sess *session, args []string) error {
	ri, names, err := rolloutTargets(ctx, sess, args)
	if err != nil {
		return err
	}
	if err := noDaemonSetRollout(ri, names, "history"); err != nil {
		return err
	}
	revision := sess.v.GetInt64("revision")
	for _, name := range names {
		_, rss, err := deploymentAndReplicaSets(ctx, sess, name)
		if err != nil {
			sess.report(err)
			continue
		}
		history := map[int64]*api.PodTemplateSpec{}
		for _, rs := range rss {
			v, ok := revisionOf(&rs.ObjectMeta)
			if !ok {
				continue
			}
			t := rs.Spec.Template
			if cause := rs.Annotations[api.AnnotationChangeCause]; cause != "" {
				ann := map[string]string{}
				for k, v := range t.Annotations {
					ann[k] = v
				}
				ann[api.AnnotationChangeCause] = cause
				t.Annotations = ann
			}
			history[v] = &t
		}
		if revision > 0 {
			t, ok := history[revision]
			if !ok {
				sess.report(errors.New("unable to find the specified revision"))
				continue
			}
			d := &describer{}
			p := newPrefixWriter()
			d.podTemplate(p, t)
			fmt.Fprintf(sess.s.out, "%s/%s with revision #%d\n%s\n", kindName(ri), name, revision, p.String())
			continue
		}
		if len(history) == 0 {
			fmt.Fprintf(sess.s.out, "%s/%s \nNo rollout history found.\n", kindName(ri), name)
			continue
		}
		revs := make([]int64, 0, len(history))
		for r := range history {
			revs = append(revs, r)
		}
		sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "REVISION\tCHANGE-CAUSE\n")
		for _, r := range revs {
			cause := history[r].Annotations[api.AnnotationChangeCause]
			if cause == "" {
				cause = "<none>"
			}
			fmt.Fprintf(tw, "%d\t%s\n", r, cause)
		}
		tw.Flush()
		fmt.Fprintf(sess.s.out, "%s/%s \n%s\n", kindName(ri), name, b.String())
	}
	return nil
}

// rollbackSkipAnnotations are the deployment annotations undo keeps rather than copying them
// from the ReplicaSet, as kubectl's rollbacker does.
var rollbackSkipAnnotations = map[string]bool{
	"kubectl.kubernetes.io/last-applied-configuration": true,
	api.AnnotationRevision:                             true,
	api.AnnotationRevisionHistory:                      true,
	api.AnnotationDesiredReplicas:                      true,
	api.AnnotationMaxReplicas:                          true,
	"deprecated.deployment.rollback.to":                true,
}

// errRaced marks an undo whose guarded patch found the deployment changed since it was read.
var errRaced = errors.New("the deployment changed while it was being rolled back")

func runRolloutUndo(ctx context.Context, sess *session, args []string) error {
	ri, names, err := rolloutTargets(ctx, sess, args)
	if err != nil {
		return err
	}
	if err := noDaemonSetRollout(ri, names, "undo"); err != nil {
		return err
	}
	to := sess.v.GetInt64("to-revision")
	for _, name := range names {
		var msg string
		// The patch only applies to the deployment as it was read; a lost race reads it again.
		for attempt := 0; ; attempt++ {
			msg, err = undoDeployment(ctx, sess, name, to)
			if !errors.Is(err, errRaced) || attempt == 2 {
				break
			}
		}
		if err != nil {
			sess.report(err)
			continue
		}
		fmt.Fprintf(sess.s.out, "%s/%s %s\n", kindName(ri), name, msg)
	}
	return nil
}

// undoDeployment is kubectl's apps/v1 DeploymentRollbacker: find the ReplicaSet of the revision
// (default: the previous one), and write its pod template, without the pod-template-hash
// label, into the deployment with a JSON patch that tests the resourceVersion it read.
func undoDeployment(ctx context.Context, sess *session, name string, to int64) (string, error) {
	if to < 0 {
		return "", fmt.Errorf("unable to find specified revision %d in history", to)
	}
	d, rss, err := deploymentAndReplicaSets(ctx, sess, name)
	if err != nil {
		return "", err
	}
	var target *api.ReplicaSet
	latest, previous := int64(-1), int64(-1)
	var latestRS, previousRS *api.ReplicaSet
	for _, rs := range rss {
		v, ok := revisionOf(&rs.ObjectMeta)
		if !ok {
			continue
		}
		if to > 0 {
			if v == to {
				target = rs
				break
			}
			continue
		}
		if latest < v {
			previous, previousRS = latest, latestRS
			latest, latestRS = v, rs
		} else if previous < v {
			previous, previousRS = v, rs
		}
	}
	if to > 0 && target == nil {
		return "", fmt.Errorf("unable to find specified revision %d in history", to)
	}
	if to == 0 {
		if previousRS == nil {
			return "", fmt.Errorf("no rollout history found for deployment %q", name)
		}
		target, to = previousRS, previous
	}
	if d.Spec.Paused {
		return "", errors.New("you cannot rollback a paused deployment; resume it first with 'wk rollout resume' and try again")
	}
	if templatesEqual(&target.Spec.Template, &d.Spec.Template) {
		return fmt.Sprintf("skipped rollback (current template already matches revision %d)", to), nil
	}
	tmpl := target.Spec.Template
	tmplLabels := map[string]string{}
	for k, v := range tmpl.Labels {
		if k != api.LabelPodTemplateHash {
			tmplLabels[k] = v
		}
	}
	tmpl.Labels = tmplLabels
	annotations := map[string]string{}
	for k := range rollbackSkipAnnotations {
		if v, ok := d.Annotations[k]; ok {
			annotations[k] = v
		}
	}
	for k, v := range target.Annotations {
		if !rollbackSkipAnnotations[k] {
			annotations[k] = v
		}
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": d.ResourceVersion},
		{"op": "add", "path": "/spec/template", "value": tmpl},
		{"op": "add", "path": "/metadata/annotations", "value": annotations},
	})
	if err != nil {
		return "", fmt.Errorf("failed restoring revision %d: %w", to, err)
	}
	if _, err := client.Deployments(sess.c).Namespace(sess.ns).Patch(ctx, name, client.JSONPatch, patch); err != nil {
		if api.IsInvalid(err) && strings.Contains(err.Error(), "/metadata/resourceVersion") {
			return "", fmt.Errorf("failed restoring revision %d of deployment %q: %w; run the command again", to, name, errRaced)
		}
		return "", fmt.Errorf("failed restoring revision %d: %w", to, err)
	}
	return "rolled back", nil
}

func runRolloutRestart(ctx context.Context, sess *session, args []string) error {
	ri, names, err := rolloutTargets(ctx, sess, args)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{
			annotationRestartedAt: time.Now().Format(time.RFC3339),
		}}}}})
	if ri.GroupKind() == daemonSetKind {
		dss := client.For[*api.DaemonSet](sess.c, "daemonsets").Namespace(sess.ns)
		for _, name := range names {
			if _, err := dss.Patch(ctx, name, client.StrategicMergePatch, patch); err != nil {
				sess.report(err)
				continue
			}
			fmt.Fprintf(sess.s.out, "%s/%s restarted\n", kindName(ri), name)
		}
		return nil
	}
	deps := client.Deployments(sess.c).Namespace(sess.ns)
	for _, name := range names {
		d, err := deps.Get(ctx, name)
		if err != nil {
			sess.report(err)
			continue
		}
		if d.Spec.Paused {
			sess.report(fmt.Errorf("%s/%s can't restart paused deployment (run rollout resume first)", kindName(ri), name))
			continue
		}
		if _, err := deps.Patch(ctx, name, client.StrategicMergePatch, patch); err != nil {
			sess.report(err)
			continue
		}
		fmt.Fprintf(sess.s.out, "%s/%s restarted\n", kindName(ri), name)
	}
	return nil
}

func runRolloutPause(ctx context.Context, sess *session, args []string, paused bool) error {
	ri, names, err := rolloutTargets(ctx, sess, args)
	if err != nil {
		return err
	}
	if err := noDaemonSetRollout(ri, names, map[bool]string{true: "pause", false: "resume"}[paused]); err != nil {
		return err
	}
	deps := client.Deployments(sess.c).Namespace(sess.ns)
	word, already := "resumed", "already resumed"
	if paused {
		word, already = "paused", "already paused"
	}
	for _, name := range names {
		d, err := deps.Get(ctx, name)
		if err != nil {
			sess.report(err)
			continue
		}
		if d.Spec.Paused == paused {
			fmt.Fprintf(sess.s.out, "%s/%s %s\n", kindName(ri), name, already)
			continue
		}
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"paused": paused}})
		if _, err := deps.Patch(ctx, name, client.StrategicMergePatch, patch); err != nil {
			sess.report(err)
			continue
		}
		fmt.Fprintf(sess.s.out, "%s/%s %s\n", kindName(ri), name, word)
	}
	return nil
}
