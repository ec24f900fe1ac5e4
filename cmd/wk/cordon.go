package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
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
		Short: "Cordon a node and evict its pods, so their controllers recreate them elsewhere",
		Long: `Cordon a node, then evict every pod bound to it through the pods/eviction subresource, as
kubectl drain does: an eviction that would violate a PodDisruptionBudget is refused (429) and
retried every few seconds until the budget allows it or --timeout passes. Pods that no
controller owns would be lost: drain refuses them unless --force is given; DaemonSet pods
would come back at once: drain refuses them unless --ignore-daemonsets is given, and then
leaves them. It waits for the pods to be gone, up to --timeout (0: forever).`,
		Example: "  wk drain runner-2 --ignore-daemonsets\n  wk drain runner-2 --force --timeout 2m",
		Args:    cobra.ExactArgs(1),
		RunE:    clientAction(s, runDrain),
	}
	f := cmd.Flags()
	f.Bool("force", false, "also evict pods that no controller owns")
	f.Bool("ignore-daemonsets", false, "leave DaemonSet-managed pods on the node")
	f.Bool("disable-eviction", false, "delete pods instead of evicting them, bypassing PodDisruptionBudgets")
	f.Duration("timeout", 0, "how long to wait for the pods to go (0: no limit)")
	f.Int("grace-period", -1, "seconds each pod is given to stop (-1: the pod's own terminationGracePeriodSeconds)")
	f.Duration("eviction-retry-interval", 5*time.Second, "how long to wait before retrying an eviction a disruption budget refused")
	_ = f.MarkHidden("eviction-retry-interval")
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
	var bare, daemons, victims []*api.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
			continue
		}
		switch ref := api.ControllerOf(&p.ObjectMeta); {
		case ref == nil:
			bare = append(bare, p)
		case ref.Kind == "DaemonSet":
			daemons = append(daemons, p)
			continue
		}
		victims = append(victims, p)
	}
	names := func(ps []*api.Pod) string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Namespace + "/" + p.Name
		}
		return strings.Join(out, ", ")
	}
	var refuse []string
	if len(bare) > 0 && !sess.v.GetBool("force") {
		refuse = append(refuse, "cannot delete Pods that declare no controller (use --force to override): "+names(bare))
	}
	if len(daemons) > 0 && !sess.v.GetBool("ignore-daemonsets") {
		refuse = append(refuse, "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "+names(daemons))
	}
	if len(refuse) > 0 {
		return errors.New(strings.Join(refuse, "; "))
	}
	var warn []string
	if len(bare) > 0 {
		warn = append(warn, "deleting Pods that declare no controller: "+names(bare))
	}
	if len(daemons) > 0 {
		warn = append(warn, "ignoring DaemonSet-managed Pods: "+names(daemons))
	}
	if len(warn) > 0 {
		fmt.Fprintf(sess.s.err, "Warning: %s\n", strings.Join(warn, "; "))
	}
	var opts *api.DeleteOptions
	if g := sess.v.GetInt("grace-period"); g >= 0 {
		opts = &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(g))}
	}
	if t := sess.v.GetDuration("timeout"); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	d := &drainer{out: sess.s.out, errOut: sess.s.err, pods: pods, opts: opts,
		evict: !sess.v.GetBool("disable-eviction"), retry: sess.v.GetDuration("eviction-retry-interval")}
	errs := make([]error, len(victims))
	var wg sync.WaitGroup
	for i, p := range victims {
		wg.Go(func() { errs[i] = d.drainPod(ctx, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unable to drain node %q: %w", name, err)
	}
	fmt.Fprintf(sess.s.out, "node/%s drained\n", name)
	return nil
}

// drainer evicts (or deletes) pods of a node in parallel, as kubectl drain does.
type drainer struct {
	mu          sync.Mutex // serializes writes to out and errOut
	out, errOut io.Writer
	pods        *client.Resource[*api.Pod]
	opts        *api.DeleteOptions
	evict       bool
	retry       time.Duration
}

func (d *drainer) printf(w io.Writer, format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// drainPod evicts p, retrying while a disruption budget refuses it (429), then waits for it to
// be gone.
func (d *drainer) drainPod(ctx context.Context, p *api.Pod) error {
	pods := d.pods.Namespace(p.Namespace)
	for {
		d.printf(d.out, "evicting pod %s/%s\n", p.Namespace, p.Name)
		var err error
		if d.evict {
			err = pods.Evict(ctx, p.Name, d.opts)
		} else {
			err = pods.Delete(ctx, p.Name, d.opts)
		}
		if err == nil || api.IsNotFound(err) {
			break
		}
		if api.ReasonOf(err) != api.ReasonTooManyRequests {
			return fmt.Errorf("error when evicting pods/%q -n %q: %s", p.Name, p.Namespace, statusMessage(err))
		}
		d.printf(d.errOut, "error when evicting pods/%q -n %q (will retry after %v): %s\n", p.Name, p.Namespace, d.retry, statusMessage(err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("error when evicting pods/%q -n %q: global timeout reached: %w", p.Name, p.Namespace, ctx.Err())
		case <-time.After(d.retry):
		}
	}
	if err := waitPodGone(ctx, pods, p); err != nil {
		return fmt.Errorf("error when waiting for pod %q in namespace %q to terminate: %w", p.Name, p.Namespace, err)
	}
	d.printf(d.out, "pod/%s evicted\n", p.Name)
	return nil
}

// statusMessage is the API's message of err, without the client's context.
func statusMessage(err error) string {
	var se *api.StatusError
	if errors.As(err, &se) {
		return se.Status.Message
	}
	return err.Error()
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
