package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/printer"
)

func newGetCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get TYPE[,TYPE...] [NAME...] | TYPE/NAME...",
		Short: "Display one or many resources",
		Long: `Display one or many resources as tables the server prints, or as YAML, JSON or names.
Types may be given by plural, singular or short name (po, deploy, rs, svc, ns, no, ev, ep), and
"all" names every resource in the category all.`,
		Example: `  wk get pods
  wk get deploy hello -o yaml
  wk get all -A
  wk get pods -l app=hello -w`,
		RunE: clientAction(s, runGet),
	}
	f := cmd.Flags()
	f.StringP("output", "o", "", "output format: wide, yaml, json or name")
	f.StringP("selector", "l", "", "label selector to filter on (e.g. -l key1=value1,key2=value2)")
	f.String("field-selector", "", "field selector to filter on (e.g. --field-selector status.phase=Running)")
	f.BoolP("all-namespaces", "A", false, "list the requested objects across all namespaces")
	f.BoolP("watch", "w", false, "after listing, watch for changes")
	f.Bool("watch-only", false, "watch for changes without listing first")
	f.Bool("show-labels", false, "show all labels as the last column")
	f.Bool("no-headers", false, "do not print headers")
	f.Bool("ignore-not-found", false, "treat objects that are not found as a success")
	f.Bool("show-managed-fields", false, "keep metadata.managedFields in -o yaml and -o json output")
	return cmd
}

// typeRequest is one resource type asked for and the names asked for in it (none: all).
type typeRequest struct {
	ri    *api.ResourceInfo
	names []string
}

// parseTypeArgs resolves `TYPE[,TYPE] [NAME...]` or `TYPE/NAME...` into requests, in the
// order given, with "all" expanded to the resources of category all.
func parseTypeArgs(ctx context.Context, sess *session, args []string) ([]typeRequest, error) {
	if len(args) == 0 {
		return nil, errors.New("you must specify the type of resource to get. Use \"wk api-resources\" for a complete list of supported resources")
	}
	slashed := 0
	for _, a := range args {
		if strings.Contains(a, "/") {
			slashed++
		}
	}
	if slashed > 0 {
		if slashed != len(args) {
			return nil, errors.New("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'wk get resource/<resource_name>' instead of 'wk get resource resource/<resource_name>')")
		}
		var reqs []typeRequest
		for _, a := range args {
			typ, name, ok := splitTypeName(a)
			if !ok {
				return nil, fmt.Errorf("arguments in resource/name form must have a single resource and name, got %q", a)
			}
			ri, err := sess.res.lookup(ctx, typ)
			if err != nil {
				return nil, err
			}
			found := false
			for i := range reqs {
				if reqs[i].ri.GroupResource() == ri.GroupResource() {
					reqs[i].names = append(reqs[i].names, name)
					found = true
				}
			}
			if !found {
				reqs = append(reqs, typeRequest{ri: ri, names: []string{name}})
			}
		}
		return reqs, nil
	}
	var reqs []typeRequest
	seen := map[api.GroupResource]bool{}
	add := func(ri *api.ResourceInfo) {
		if !seen[ri.GroupResource()] {
			seen[ri.GroupResource()] = true
			reqs = append(reqs, typeRequest{ri: ri, names: args[1:]})
		}
	}
	for _, typ := range strings.Split(args[0], ",") {
		if typ == "" {
			continue
		}
		if typ == "all" {
			all, err := sess.res.category(ctx, "all")
			if err != nil {
				return nil, err
			}
			for _, ri := range all {
				add(ri)
			}
			continue
		}
		ri, err := sess.res.lookup(ctx, typ)
		if err != nil {
			return nil, err
		}
		add(ri)
	}
	if len(reqs) == 0 {
		return nil, errors.New("you must specify the type of resource to get")
	}
	return reqs, nil
}

// getOptions are the flags of get, read through viper.
type getOptions struct {
	output         string
	selector       string
	fieldSelector  string
	allNamespaces  bool
	watch          bool
	watchOnly      bool
	showLabels     bool
	noHeaders      bool
	ignoreNotFound bool
	showManaged    bool
}

func runGet(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	o := getOptions{
		output: v.GetString("output"), selector: v.GetString("selector"),
		fieldSelector: v.GetString("field-selector"), allNamespaces: v.GetBool("all-namespaces"),
		watch: v.GetBool("watch"), watchOnly: v.GetBool("watch-only"), showLabels: v.GetBool("show-labels"),
		noHeaders: v.GetBool("no-headers"), ignoreNotFound: v.GetBool("ignore-not-found"),
		showManaged: v.GetBool("show-managed-fields"),
	}
	switch o.output {
	case "", "wide", "yaml", "json", "name":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", o.output)
	}
	if err := sess.connect(); err != nil {
		return err
	}
	reqs, err := parseTypeArgs(ctx, sess, args)
	if err != nil {
		return err
	}
	ns := sess.ns
	if o.allNamespaces {
		ns = ""
		for _, r := range reqs {
			if len(r.names) > 0 {
				return errors.New("a resource cannot be retrieved by name across all namespaces")
			}
		}
	}
	if o.watch || o.watchOnly {
		if len(reqs) != 1 {
			return errors.New("you may only specify a single resource type")
		}
		if len(reqs[0].names) > 1 {
			return fmt.Errorf("watch is only supported on individual resources and resource collections, but %d resources were found", len(reqs[0].names))
		}
		return watchGet(ctx, sess, o, reqs[0], ns)
	}
	if o.output == "yaml" || o.output == "json" || o.output == "name" {
		return getObjects(ctx, sess, o, reqs, ns)
	}
	return getTables(ctx, sess, o, reqs, ns)
}

// notFound reports a missing object unless --ignore-not-found.
func (o getOptions) notFound(sess *session, err error) {
	if !(o.ignoreNotFound && api.IsNotFound(err)) {
		sess.report(err)
	}
}

// getTables prints the server's tables, one block per type.
func getTables(ctx context.Context, sess *session, o getOptions, reqs []typeRequest, ns string) error {
	lo := client.ListOptions{LabelSelector: o.selector, FieldSelector: o.fieldSelector}
	printed := false
	for _, r := range reqs {
		dyn := client.Dynamic(sess.c, r.ri, ns)
		var t *api.Table
		if len(r.names) == 0 {
			var err error
			if t, err = dyn.Table(ctx, lo); err != nil {
				return err
			}
		} else {
			for _, name := range r.names {
				one, err := dyn.GetTable(ctx, name)
				if err != nil {
					o.notFound(sess, err)
					continue
				}
				if t == nil {
					t = one
				} else {
					t.Rows = append(t.Rows, one.Rows...)
				}
			}
		}
		if t == nil || len(t.Rows) == 0 {
			continue
		}
		if printed && !o.noHeaders {
			fmt.Fprintln(sess.s.out)
		}
		popts := printer.PrintOptions{
			Wide: o.output == "wide", NoHeaders: o.noHeaders, ShowLabels: o.showLabels,
			WithNamespace: o.allNamespaces && r.ri.Namespaced,
		}
		if len(reqs) > 1 {
			popts.KindPrefix = kindName(r.ri)
		}
		if err := printer.Print(sess.s.out, t, popts); err != nil {
			return err
		}
		printed = true
	}
	if !printed && !sess.failed && !o.ignoreNotFound {
		noResources(sess, reqs, ns)
	}
	return nil
}

// noResources says, on stderr, that nothing was found, as kubectl does.
func noResources(sess *session, reqs []typeRequest, ns string) {
	namespaced := ns != ""
	for _, r := range reqs {
		if !r.ri.Namespaced {
			namespaced = false
		}
	}
	if namespaced {
		fmt.Fprintf(sess.s.err, "No resources found in %s namespace.\n", ns)
	} else {
		fmt.Fprintln(sess.s.err, "No resources found")
	}
}

// getObjects prints the objects themselves (-o yaml|json) or their names (-o name).
func getObjects(ctx context.Context, sess *session, o getOptions, reqs []typeRequest, ns string) error {
	lo := client.ListOptions{LabelSelector: o.selector, FieldSelector: o.fieldSelector}
	var objs []json.RawMessage
	var kinds []*api.ResourceInfo
	asList := len(reqs) > 1
	for _, r := range reqs {
		dyn := client.Dynamic(sess.c, r.ri, ns)
		if len(r.names) == 0 {
			asList = true
			raw, err := dyn.List(ctx, lo)
			if err != nil {
				return err
			}
			items, _, err := listItems(r.ri, raw)
			if err != nil {
				return err
			}
			for _, it := range items {
				objs = append(objs, it)
				kinds = append(kinds, r.ri)
			}
			continue
		}
		if len(r.names) > 1 {
			asList = true
		}
		for _, name := range r.names {
			raw, err := dyn.Get(ctx, name)
			if err != nil {
				o.notFound(sess, err)
				continue
			}
			objs = append(objs, raw)
			kinds = append(kinds, r.ri)
		}
	}
	if o.output == "name" {
		for i, raw := range objs {
			m, err := readMeta(raw)
			if err != nil {
				return err
			}
			if err := printer.PrintName(sess.s.out, kindName(kinds[i]), m.Metadata.Name); err != nil {
				return err
			}
		}
		if len(objs) == 0 && !sess.failed && !o.ignoreNotFound {
			noResources(sess, reqs, ns)
		}
		return nil
	}
	if len(objs) == 0 && sess.failed {
		return nil
	}
	return printObjects(sess.s.out, o.output, objs, asList, o.showManaged)
}

// watchGet lists (unless --watch-only) and then watches one type, printing every change as
// a row (or an object, or a name), until the command's context ends. A stream that breaks or
// ends is resumed from the last resourceVersion seen; a 410 Gone answer relists.
func watchGet(ctx context.Context, sess *session, o getOptions, r typeRequest, ns string) error {
	lo := client.ListOptions{LabelSelector: o.selector, FieldSelector: o.fieldSelector}
	if len(r.names) == 1 {
		sel := "metadata.name=" + r.names[0]
		if lo.FieldSelector != "" {
			sel = lo.FieldSelector + "," + sel
		}
		lo.FieldSelector = sel
	}
	popts := printer.PrintOptions{
		Wide: o.output == "wide", NoHeaders: o.noHeaders, ShowLabels: o.showLabels,
		WithNamespace: o.allNamespaces && r.ri.Namespaced,
	}
	wp := printer.NewWatchPrinter(sess.s.out, popts)
	tables := o.output == "" || o.output == "wide"
	dyn := client.Dynamic(sess.c, r.ri, ns)
	first := true

	// list prints the current state and returns the resourceVersion to watch from.
	list := func() (string, error) {
		if tables {
			t, err := dyn.Table(ctx, lo)
			if err != nil {
				return "", err
			}
			if !(first && o.watchOnly) {
				if err := wp.Print(t); err != nil {
					return "", err
				}
			}
			return t.ResourceVersion, nil
		}
		raw, err := dyn.List(ctx, lo)
		if err != nil {
			return "", err
		}
		items, rv, err := listItems(r.ri, raw)
		if err != nil {
			return "", err
		}
		if !(first && o.watchOnly) {
			for _, it := range items {
				if err := printWatched(sess.s.out, o, r.ri, it); err != nil {
					return "", err
				}
			}
		}
		return rv, nil
	}

	rv, err := list()
	first = false
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for ctx.Err() == nil {
		newRV, gone, err := watchStream(ctx, sess.c, r.ri, ns, lo, rv, tables, func(ev api.WatchEvent) error {
			if tables {
				t, err := eventTable(r.ri, ev.Object)
				if err != nil {
					return err
				}
				return wp.Print(t)
			}
			return printWatched(sess.s.out, o, r.ri, ev.Object)
		})
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case gone:
			if rv, err = list(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		case err != nil:
			var se *api.StatusError
			if errors.As(err, &se) {
				return err // the server refused the watch: retrying will not help
			}
			rv = newRV
			if !pause(ctx, time.Second) {
				return nil
			}
		default: // the server ended the stream (its request timeout): resume where it stopped
			rv = newRV
			if !pause(ctx, 100*time.Millisecond) {
				return nil
			}
		}
	}
	return nil
}

// pause waits for d or until ctx ends, and reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// printWatched prints one object of a watch in a non-table format; YAML documents are
// separated by "---" lines.
func printWatched(w io.Writer, o getOptions, ri *api.ResourceInfo, raw json.RawMessage) error {
	switch o.output {
	case "name":
		m, err := readMeta(raw)
		if err != nil {
			return err
		}
		return printer.PrintName(w, kindName(ri), m.Metadata.Name)
	case "yaml":
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return err
		}
	}
	return printObjects(w, o.output, []json.RawMessage{raw}, false, o.showManaged)
}

// watchStream runs one watch from rv and calls fn for every added, modified or deleted object.
// It returns the last resourceVersion seen, whether the server answered 410 Gone, and why the
// stream ended (nil when the server closed it cleanly).
func watchStream(ctx context.Context, c *client.Client, ri *api.ResourceInfo, ns string, lo client.ListOptions,
	rv string, table bool, fn func(api.WatchEvent) error) (string, bool, error) {
	q := url.Values{"watch": {"true"}, "allowWatchBookmarks": {"true"}}
	if rv != "" {
		q.Set("resourceVersion", rv)
	}
	if lo.LabelSelector != "" {
		q.Set("labelSelector", lo.LabelSelector)
	}
	if lo.FieldSelector != "" {
		q.Set("fieldSelector", lo.FieldSelector)
	}
	req := client.Request{Path: collectionPath(ri, ns), Query: q}
	if table {
		req.Accept = client.AcceptTable
	}
	body, _, err := c.Stream(ctx, req)
	if err != nil {
		return rv, api.IsGone(err), err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var ev api.WatchEvent
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return rv, false, nil
			}
			return rv, false, fmt.Errorf("watch %s: read stream: %w", ri.Resource, err)
		}
		switch ev.Type {
		case api.Error:
			var st api.Status
			if json.Unmarshal(ev.Object, &st) == nil && st.Code == 410 {
				return rv, true, nil
			}
			return rv, false, &api.StatusError{Status: st}
		case api.Bookmark:
			if m, err := readMeta(ev.Object); err == nil && m.Metadata.ResourceVersion != "" {
				rv = m.Metadata.ResourceVersion
			}
			continue
		}
		if next := eventResourceVersion(ev.Object); next != "" {
			rv = next
		}
		if err := fn(ev); err != nil {
			return rv, false, err
		}
	}
}

// eventResourceVersion finds the resourceVersion of a watch event's object, which is either
// the object itself or a Table whose row carries the object's metadata.
func eventResourceVersion(raw json.RawMessage) string {
	var probe struct {
		Kind     string `json:"kind"`
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Rows []api.TableRow `json:"rows"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return ""
	}
	if probe.Kind == "Table" {
		for _, r := range probe.Rows {
			if m, err := readMeta(r.Object); err == nil && m.Metadata.ResourceVersion != "" {
				return m.Metadata.ResourceVersion
			}
		}
	}
	return probe.Metadata.ResourceVersion
}

// eventTable turns a watch event's object into a Table: the server sends one when asked; a
// server that sends the bare object instead gets it printed here with the same printer.
func eventTable(ri *api.ResourceInfo, raw json.RawMessage) (*api.Table, error) {
	var probe struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("decode watch event: %w", err)
	}
	if probe.Kind == "Table" {
		t := &api.Table{}
		if err := json.Unmarshal(raw, t); err != nil {
			return nil, fmt.Errorf("decode watch event table: %w", err)
		}
		return t, nil
	}
	if ri.New == nil {
		return nil, fmt.Errorf("the server sent a %s, not a Table, for a watch of %s", probe.Kind, ri.Resource)
	}
	obj := ri.New()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("decode watched %s: %w", ri.Singular, err)
	}
	return printer.Table(ri, []api.Object{obj}, printer.Options{})
}
