package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
)

// annotationDefaultContainer names the container logs picks when none is given, as in kubectl.
const annotationDefaultContainer = "kubectl.kubernetes.io/default-container"

func newLogsCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs POD | TYPE/NAME [-c CONTAINER]",
		Short: "Print the logs for a container in a pod",
		Long: `Print the logs of a module in a pod. For TYPE/NAME (deployment/hello, rs/hello-x) one of its
pods is picked, preferring running and ready ones.`,
		Example: `  wk logs hello-7d9c8b-x2x4z
  wk logs deployment/hello -f --tail=20`,
		Args: cobra.RangeArgs(1, 2),
		RunE: clientAction(s, runLogs),
	}
	f := cmd.Flags()
	f.StringP("container", "c", "", "print the logs of this container")
	f.BoolP("follow", "f", false, "stream new log lines as they are written")
	f.BoolP("previous", "p", false, "print the logs of the previous, terminated run of the container")
	f.Int64("tail", -1, "lines of recent log to show; -1 shows all")
	f.Bool("timestamps", false, "prefix each line with its timestamp")
	f.Int64("limit-bytes", 0, "maximum bytes of log to return; 0 means no limit")
	return cmd
}

func runLogs(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	if err := sess.connect(); err != nil {
		return err
	}
	container := v.GetString("container")
	if len(args) == 2 {
		if container != "" {
			return errors.New("only one of -c or an inline [CONTAINER] arg is allowed")
		}
		container = args[1]
	}
	pod, err := logsPod(ctx, sess, args[0])
	if err != nil {
		return err
	}
	if container == "" && len(pod.Spec.Containers) > 1 {
		container = pod.Annotations[annotationDefaultContainer]
		if container == "" {
			container = pod.Spec.Containers[0].Name
			names := make([]string, len(pod.Spec.Containers))
			for i, c := range pod.Spec.Containers {
				names[i] = c.Name
			}
			fmt.Fprintf(sess.s.err, "Defaulted container %q out of: %s\n", container, strings.Join(names, ", "))
		}
	}
	opts := client.LogOptions{
		Container: container, Follow: v.GetBool("follow"), Previous: v.GetBool("previous"),
		Timestamps: v.GetBool("timestamps"),
	}
	if t := v.GetInt64("tail"); t >= 0 {
		opts.TailLines = &t
	}
	if lb := v.GetInt64("limit-bytes"); lb > 0 {
		opts.LimitBytes = &lb
	}
	rc, err := sess.c.Logs(ctx, pod.Namespace, pod.Name, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(sess.s.out, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read logs of pod %s: %w", pod.Name, err)
	}
	return nil
}

// logsPod resolves the pod to read: a pod name, pod/NAME, or a workload whose pods are chosen
// from by activity (running and ready first, then running, then oldest).
func logsPod(ctx context.Context, sess *session, arg string) (*api.Pod, error) {
	typ, name, ok := splitTypeName(arg)
	if !ok {
		if strings.Contains(arg, "/") {
			return nil, fmt.Errorf("arguments in resource/name form must have a single resource and name, got %q", arg)
		}
		return client.Pods(sess.c).Namespace(sess.ns).Get(ctx, arg)
	}
	ri, err := sess.res.lookup(ctx, typ)
	if err != nil {
		return nil, err
	}
	if ri.GroupKind() == (api.GroupKind{Kind: "Pod"}) {
		return client.Pods(sess.c).Namespace(sess.ns).Get(ctx, name)
	}
	raw, err := client.Dynamic(sess.c, ri, sess.ns).Get(ctx, name)
	if err != nil {
		return nil, err
	}
	var sel string
	switch ri.GroupKind() {
	case api.GroupKind{Group: "apps", Kind: "Deployment"}, api.GroupKind{Group: "apps", Kind: "ReplicaSet"}, daemonSetKind:
		var w struct {
			Spec struct {
				Selector *api.LabelSelector `json:"selector"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", ri.Singular, name, err)
		}
		sel = selectorText(w.Spec.Selector)
	case api.GroupKind{Kind: "Service"}:
		var s api.Service
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("decode service %s: %w", name, err)
		}
		sel = labels.Set(s.Spec.Selector).String()
	default:
		return nil, fmt.Errorf("cannot get the logs of a %s: name a pod, deployment, replicaset, daemonset or service", ri.Kind)
	}
	if sel == "" || sel == "<none>" || sel == "<error>" {
		return nil, fmt.Errorf("%s %s has no usable selector to find its pods", ri.Singular, name)
	}
	list, err := client.Pods(sess.c).Namespace(sess.ns).List(ctx, client.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	pods := list.Items
	if len(pods) == 0 {
		return nil, fmt.Errorf("no pods found for %s/%s", kindName(ri), name)
	}
	rank := func(p *api.Pod) int {
		switch {
		case p.Status.Phase == api.PodRunning && podReady(p):
			return 0
		case p.Status.Phase == api.PodRunning:
			return 1
		case p.Status.Phase == api.PodPending:
			return 2
		}
		return 3
	}
	sort.SliceStable(pods, func(i, j int) bool {
		if ri, rj := rank(pods[i]), rank(pods[j]); ri != rj {
			return ri < rj
		}
		return pods[i].CreationTimestamp.Before(pods[j].CreationTimestamp.Time)
	})
	if len(pods) > 1 {
		fmt.Fprintf(sess.s.err, "Found %d pods, using pod/%s\n", len(pods), pods[0].Name)
	}
	return pods[0], nil
}

func podReady(p *api.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}
