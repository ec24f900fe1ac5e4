package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func newApplyCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply -f FILENAME",
		Short: "Apply a configuration to resources by file name or stdin (server-side apply)",
		Long: `Apply a configuration to resources by file name or stdin. JSON and YAML are accepted, several
documents to a file, and List kinds are expanded. wk apply always uses server-side apply with
field manager "wk"; it reports each object as created, configured or unchanged.`,
		Example: `  wk apply -f hello.yaml
  wk apply -f manifests/ -R
  cat hello.yaml | wk apply -f -`,
		Args: cobra.NoArgs,
		RunE: clientAction(s, runApply),
	}
	f := cmd.Flags()
	f.StringSliceP("filename", "f", nil, "the files, directories or - (stdin) that contain the configuration to apply")
	f.BoolP("recursive", "R", false, "process the directories given with -f recursively")
	f.Bool("server-side", true, "use server-side apply (the only mode wk implements)")
	f.Bool("force-conflicts", false, "take over fields that other field managers own instead of failing with a conflict")
	f.String("field-manager", "wk", "the name of the manager that owns the applied fields")
	f.StringP("output", "o", "", "output format: name, or empty for the default")
	return cmd
}

func runApply(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	if !v.GetBool("server-side") {
		return errors.New("--server-side=false is not supported: wk apply always uses server-side apply")
	}
	output := v.GetString("output")
	if output != "" && output != "name" {
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: name", output)
	}
	files, err := readManifestFiles(v.GetStringSlice("filename"), v.GetBool("recursive"), sess.s.in)
	if err != nil {
		return err
	}
	if err := sess.connect(); err != nil {
		return err
	}
	applied := 0
	for _, f := range files {
		if f.err != nil {
			sess.report(f.err)
			continue
		}
		for _, m := range f.objects {
			if err := applyOne(ctx, sess, m, output); err != nil {
				sess.report(err)
				if ctx.Err() != nil {
					return errReported
				}
				continue
			}
			applied++
		}
	}
	if applied == 0 && !sess.failed {
		return errors.New("no objects passed to apply")
	}
	return nil
}

// applyOne applies one object with server-side apply and prints what happened, using
// kubectl's client-side words: created (it did not exist), configured (its resourceVersion
// moved) or unchanged.
func applyOne(ctx context.Context, sess *session, m *manifest, output string) error {
	ri, err := sess.res.forKind(ctx, m.apiVersion, m.kind)
	if errors.Is(err, errNoKindMatch) {
		return fmt.Errorf("resource mapping not found for name: %q namespace: %q from %q: %w",
			m.name, m.namespace, m.source, err)
	}
	if err != nil {
		return err
	}
	ns := ""
	if ri.Namespaced {
		switch {
		case m.namespace == "":
			ns = sess.ns
		case sess.nsFlag && m.namespace != sess.ns:
			return fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.",
				m.namespace, sess.ns, m.namespace)
		default:
			ns = m.namespace
		}
	}
	if err := m.setNamespace(ns); err != nil {
		return err
	}
	dyn := client.Dynamic(sess.c, ri, ns)
	before := ""
	if cur, err := dyn.Get(ctx, m.name); err == nil {
		meta, err := readMeta(cur)
		if err != nil {
			return err
		}
		before = meta.Metadata.ResourceVersion
	} else if !api.IsNotFound(err) {
		return withSource("retrieving current configuration of", m.source, err)
	}
	out, err := dyn.Apply(ctx, m.name, m.raw, sess.v.GetString("field-manager"), sess.v.GetBool("force-conflicts"))
	if err != nil {
		if api.IsConflict(err) {
			var se *api.StatusError
			errors.As(err, &se)
			return fmt.Errorf("%s\nPlease review the fields above--they currently have other managers. To take them over,\nre-run the apply command with the `--force-conflicts` flag", se.Status.Message)
		}
		return withSource("applying", m.source, err)
	}
	after, err := readMeta(out)
	if err != nil {
		return err
	}
	word := "configured"
	switch {
	case before == "":
		word = "created"
	case before == after.Metadata.ResourceVersion:
		word = "unchanged"
	}
	if output == "name" {
		_, err = fmt.Fprintf(sess.s.out, "%s/%s\n", kindName(ri), m.name)
		return err
	}
	_, err = fmt.Fprintf(sess.s.out, "%s/%s %s\n", kindName(ri), m.name, word)
	return err
}
