package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
)

func newDeleteCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete (-f FILENAME | TYPE [NAME...] | TYPE/NAME... | TYPE -l SELECTOR | TYPE --all)",
		Short: "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		Long: `Delete resources by file names, stdin, type and names, or type and label selector. By
default wk waits until every deleted object is gone; --wait=false returns once the deletes are
accepted.`,
		Example: `  wk delete -f hello.yaml
  wk delete deployment hello
  wk delete pods -l app=hello
  wk delete pod web --now`,
		RunE: clientAction(s, runDelete),
	}
	f := cmd.Flags()
	f.StringSliceP("filename", "f", nil, "the files, directories or - (stdin) that contain the resources to delete")
	f.BoolP("recursive", "R", false, "process the directories given with -f recursively")
	f.StringP("selector", "l", "", "label selector of the objects to delete")
	f.Bool("all", false, "delete every object of the given types in the namespace")
	f.BoolP("all-namespaces", "A", false, "with --all or -l, delete across all namespaces")
	f.Bool("wait", true, "wait until the objects are gone before returning")
	f.String("cascade", "background", `"background", "foreground" or "orphan": how dependents are deleted`)
	f.Int("grace-period", -1, "seconds given to the object to terminate gracefully; -1 uses the object's default")
	f.Bool("now", false, "signal the object to stop at once (same as --grace-period=1)")
	f.Bool("force", false, "with --grace-period=0, remove the object at once without waiting for its runner")
	f.Bool("ignore-not-found", false, "treat objects that are not found as deleted")
	f.Duration("timeout", 0, "how long to wait for the deletion; 0 waits as long as it takes")
	f.StringP("output", "o", "", "output format: name, or empty for the default")
	return cmd
}

// deleteTarget is one object to delete.
type deleteTarget struct {
	ri     *api.ResourceInfo
	ns     string
	name   string
	source string // the -f file it came from, if any
}

func runDelete(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	opts := &api.DeleteOptions{}
	switch c := v.GetString("cascade"); c {
	case "background", "true":
		opts.PropagationPolicy = api.Ptr(api.DeletePropagationBackground)
	case "foreground":
		opts.PropagationPolicy = api.Ptr(api.DeletePropagationForeground)
	case "orphan", "false":
		opts.PropagationPolicy = api.Ptr(api.DeletePropagationOrphan)
	default:
		return fmt.Errorf(`invalid cascade value (%s). Must be "background", "foreground", or "orphan"`, c)
	}
	grace := v.GetInt("grace-period")
	if v.GetBool("now") {
		if grace != -1 {
			return errors.New("--now and --grace-period cannot be specified together")
		}
		grace = 1
	}
	if v.GetBool("force") && grace < 0 {
		grace = 0
	}
	if grace == 0 && !v.GetBool("force") {
		grace = 1 // as kubectl: an immediate delete needs --force
	}
	if grace >= 0 {
		opts.GracePeriodSeconds = api.Ptr(int64(grace))
	}
	output := v.GetString("output")
	if output != "" && output != "name" {
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: name", output)
	}
	files := v.GetStringSlice("filename")
	selector, all := v.GetString("selector"), v.GetBool("all")
	if len(files) > 0 && len(args) > 0 {
		return errors.New("when paths are provided, no resources may be specified as arguments")
	}
	var manifests []manifestFile
	if len(files) > 0 {
		var err error
		if manifests, err = readManifestFiles(files, v.GetBool("recursive"), sess.s.in); err != nil {
			return err
		}
	} else if len(args) == 0 {
		return errors.New("you must provide one or more resources by argument or filename")
	}
	if err := sess.connect(); err != nil {
		return err
	}

	var targets []deleteTarget
	for _, f := range manifests {
		if f.err != nil {
			sess.report(f.err)
			continue
		}
		for _, m := range f.objects {
			ri, err := sess.res.forKind(ctx, m.apiVersion, m.kind)
			if errors.Is(err, errNoKindMatch) {
				sess.report(fmt.Errorf("resource mapping not found for name: %q namespace: %q from %q: %w", m.name, m.namespace, m.source, err))
				continue
			}
			if err != nil {
				return err
			}
			ns := m.namespace
			switch {
			case !ri.Namespaced:
			case ns == "":
				ns = sess.ns
			case sess.nsFlag && ns != sess.ns:
				sess.report(fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", ns, sess.ns, ns))
				continue
			}
			targets = append(targets, deleteTarget{ri: ri, ns: nsFor(ri, ns), name: m.name, source: m.source})
		}
	}
	if len(args) > 0 {
		reqs, err := parseTypeArgs(ctx, sess, args)
		if err != nil {
			return err
		}
		named := false
		for _, r := range reqs {
			if len(r.names) > 0 {
				named = true
			}
		}
		switch {
		case named && (selector != "" || all):
			return errors.New("name cannot be provided when a selector or --all is specified")
		case !named && selector == "" && !all:
			return errors.New(`resource(s) were provided, but no name was specified`)
		}
		ns := sess.ns
		if v.GetBool("all-namespaces") {
			ns = ""
		}
		for _, r := range reqs {
			if named {
				for _, name := range r.names {
					targets = append(targets, deleteTarget{ri: r.ri, ns: nsFor(r.ri, ns), name: name})
				}
				continue
			}
			raw, err := client.Dynamic(sess.c, r.ri, ns).List(ctx, client.ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			items, _, err := listItems(r.ri, raw)
			if err != nil {
				return err
			}
			for _, it := range items {
				m, err := readMeta(it)
				if err != nil {
					return err
				}
				targets = append(targets, deleteTarget{ri: r.ri, ns: nsFor(r.ri, m.Metadata.Namespace), name: m.Metadata.Name})
			}
		}
		if len(targets) == 0 && !sess.failed {
			noResources(sess, reqs, ns)
			return nil
		}
	}

	type pending struct {
		t   deleteTarget
		uid string
	}
	var waits []pending
	for _, t := range targets {
		dyn := client.Dynamic(sess.c, t.ri, t.ns)
		raw, err := dyn.Delete(ctx, t.name, opts)
		if err != nil {
			if api.IsNotFound(err) && v.GetBool("ignore-not-found") {
				continue
			}
			sess.report(withSource("deleting", t.source, err))
			continue
		}
		uid := ""
		if m, err := readMeta(raw); err == nil && m.Kind != "Status" {
			uid = m.Metadata.UID
		}
		if output == "name" {
			fmt.Fprintf(sess.s.out, "%s/%s\n", kindName(t.ri), t.name)
		} else {
			fmt.Fprintf(sess.s.out, "%s %q deleted\n", kindName(t.ri), t.name)
		}
		waits = append(waits, pending{t, uid})
	}
	if !v.GetBool("wait") {
		return nil
	}
	wctx := ctx
	if d := v.GetDuration("timeout"); d > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	for _, w := range waits {
		if err := waitGone(wctx, sess.c, w.t.ri, w.t.ns, w.t.name, w.uid); err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				return fmt.Errorf("timed out waiting for the condition on %s/%s", w.t.ri.Resource, w.t.name)
			}
			return err
		}
	}
	return nil
}

// waitGone waits until the object is gone (or replaced by one with another UID), watching it
// from its current resourceVersion and re-reading it whenever the watch ends.
func waitGone(ctx context.Context, c *client.Client, ri *api.ResourceInfo, ns, name, uid string) error {
	dyn := client.Dynamic(c, ri, ns)
	for {
		raw, err := dyn.Get(ctx, name)
		if api.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		m, err := readMeta(raw)
		if err != nil {
			return err
		}
		if uid != "" && m.Metadata.UID != uid {
			return nil
		}
		w, err := dyn.Watch(ctx, client.ListOptions{
			FieldSelector:   "metadata.name=" + labels.EscapeFieldValue(name),
			ResourceVersion: m.Metadata.ResourceVersion,
		})
		if err != nil && !api.IsGone(err) {
			return err
		}
		if w != nil {
			for ev := range w.Events() {
				if ev.Type == api.Deleted {
					if dm, err := readMeta(ev.Object); err == nil && (uid == "" || dm.Metadata.UID == uid) {
						w.Stop()
						return nil
					}
				}
			}
			w.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !pause(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
}
