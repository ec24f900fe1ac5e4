package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// newNodeCommands returns cordon, uncordon and drain.
func newNodeCommands(s *streams) []*cobra.Command {
	return []*cobra.Command{newCordonCmd(s), newUncordonCmd(s), newDrainCmd(s)}
}

func newCordonCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:     "cordon NODE",
		Short:   "Mark a node as unschedulable",
		Long:    "Mark a node as unschedulable (spec.unschedulable): the scheduler places no new pods on it; pods already there stay.",
		Example: "  wk cordon runner-2",
		Args:    cobra.ExactArgs(1),
		RunE: clientAction(s, func(ctx context.Context, sess *session, args []string) error {
			return setUnschedulable(ctx, sess, args[0], true)
		}),
	}
}

func newUncordonCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:     "uncordon NODE",
		Short:   "Mark a node as schedulable",
		Example: "  wk uncordon runner-2",
		Args:    cobra.ExactArgs(1),
		RunE: clientAction(s, func(ctx context.Context, sess *session, args []string) error {
			return setUnschedulable(ctx, sess, args[0], false)
		}),
	}
}

// setUnschedulable cordons or uncordons a node, printing what kubectl prints.
func setUnschedulable(ctx context.Context, sess *session, name string, on bool) error {
	if err := sess.connect(); err != nil {
		return err
	}
	nodes := client.Nodes(sess.c)
	n, err := nodes.Get(ctx, name)
	if err != nil {
		return err
	}
	verb := "cordoned"
	if !on {
		verb = "uncordoned"
	}
	if n.Spec.Unschedulable == on {
		fmt.Fprintf(sess.s.out, "node/%s already %s\n", name, verb)
		return nil
	}
	patch := `{"spec":{"unschedulable":true}}`
	if !on {
		patch = `{"spec":{"unschedulable":null}}`
	}
	if _, err := nodes.Patch(ctx, name, client.MergePatch, []byte(patch)); err != nil {
		return err
	}
	fmt.Fprintf(sess.s.out, "node/%s %s\n", name, verb)
	return nil
}

func newDrainCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Cordon a node and delete its pods, so their controllers recreate them elsewhere",
		Long: `Cordon a node, then delete every pod bound to it that a controller (a ReplicaSet, a Job)
will recreate elsewhere. Pods that no controller owns would be lost: drain refuses to delete
them unless --force is given. It waits for the pods to be gone, up to --timeout (0: forever).`,
		Example: "  wk drain runner-2\n  wk drain runner-2 --force",
		Args:    cobra.ExactArgs(1),
		RunE:    clientAction(s, runDrain),
	}
	f := cmd.Flags()
	f.Bool("force", false, "also delete pods that no controller owns")
	f.Duration("timeout", 0, "how long to wait for the pods to go (0: no limit)")
	f.Int("grace-period", -1, "seconds each pod is given to stop (-1: the pod's own terminationGracePeriodSeconds)")
	return cmd
}

func runDrain(ctx context.Context, sess *session, args []string) error {
	name := args[0]
	if err := setUnschedulable(ctx, sess, name, true); err != nil {
		return err
	}
	pods := client.Pods(sess.c)
	list, err := pods.List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return err
	}
	var bare, victims []*api.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
			continue
		}
		victims = append(victims, p)
		if api.ControllerOf(&p.ObjectMeta) == nil {
			bare = append(bare, p)
		}
	}
	if len(bare) > 0 {
		names := make([]string, len(bare))
		for i, p := range bare {
			names[i] = p.Namespace + "/" + p.Name
		}
		if !sess.v.GetBool("force") {
			return fmt.Errorf("cannot delete Pods that declare no controller (use --force to override): %s", strings.Join(names, ", "))
		}
		fmt.Fprintf(sess.s.err, "Warning: deleting Pods that declare no controller: %s\n", strings.Join(names, ", "))
	}
	var opts *api.DeleteOptions
	if g := sess.v.GetInt("grace-period"); g >= 0 {
		opts = &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(g))}
	}
	for _, p := range victims {
		fmt.Fprintf(sess.s.out, "evicting pod %s/%s\n", p.Namespace, p.Name)
		if err := pods.Namespace(p.Namespace).Delete(ctx, p.Name, opts); err != nil && !api.IsNotFound(err) {
			return err
		}
	}
	if t := sess.v.GetDuration("timeout"); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	for _, p := range victims {
		if err := waitPodGone(ctx, pods.Namespace(p.Namespace), p); err != nil {
			return fmt.Errorf("drain node %s: wait for pod %s/%s: %w", name, p.Namespace, p.Name, err)
		}
		fmt.Fprintf(sess.s.out, "pod/%s evicted\n", p.Name)
	}
	fmt.Fprintf(sess.s.out, "node/%s drained\n", name)
	return nil
}

// waitPodGone polls until the pod is deleted (or replaced by one with another UID).
func waitPodGone(ctx context.Context, pods *client.Resource[*api.Pod], p *api.Pod) error {
	for {
		cur, err := pods.Get(ctx, p.Name)
		if api.IsNotFound(err) || (err == nil && cur.UID != p.UID) {
			return nil
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
