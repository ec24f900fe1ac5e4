package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/printer"
)

func newDescribeCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe TYPE [NAME_PREFIX] | TYPE/NAME",
		Short: "Show details of a specific resource or group of resources",
		Long: `Show details of a resource, or of every resource of a type (with a name prefix, a label
selector, or none), with the events that concern it: pods, deployments, replicasets, services,
nodes and namespaces in kubectl's layout, other kinds as a generic dump.`,
		Example: `  wk describe pod hello-7d9c8b-x2x4z
  wk describe deployment hello
  wk describe nodes`,
		RunE: clientAction(s, runDescribe),
	}
	f := cmd.Flags()
	f.StringP("selector", "l", "", "label selector to filter on")
	f.BoolP("all-namespaces", "A", false, "describe the requested objects across all namespaces")
	f.Bool("show-events", true, "show the events related to the described object")
	return cmd
}

func runDescribe(ctx context.Context, sess *session, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("you must specify the type of resource to describe. Use \"wk api-resources\" for a complete list of supported resources")
	}
	if err := sess.connect(); err != nil {
		return err
	}
	var ri *api.ResourceInfo
	var names []string
	if typ, name, ok := splitTypeName(args[0]); ok {
		if len(args) > 1 {
			return fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
		}
		var err error
		if ri, err = sess.res.lookup(ctx, typ); err != nil {
			return err
		}
		names = []string{name}
	} else {
		var err error
		if ri, err = sess.res.lookup(ctx, args[0]); err != nil {
			return err
		}
		names = args[1:]
	}
	ns := nsFor(ri, sess.ns)
	if sess.v.GetBool("all-namespaces") && ri.Namespaced {
		ns = ""
	}
	dyn := client.Dynamic(sess.c, ri, ns)
	var objs []json.RawMessage
	if len(names) == 0 {
		raw, err := dyn.List(ctx, client.ListOptions{LabelSelector: sess.v.GetString("selector")})
		if err != nil {
			return err
		}
		if objs, _, err = listItems(ri, raw); err != nil {
			return err
		}
		if len(objs) == 0 {
			noResources(sess, []typeRequest{{ri: ri}}, ns)
			return nil
		}
	}
	for _, name := range names {
		raw, err := dyn.Get(ctx, name)
		if err == nil {
			objs = append(objs, raw)
			continue
		}
		if !api.IsNotFound(err) {
			return err
		}
		// kubectl describes every object whose name starts with what was given.
		list, lerr := dyn.List(ctx, client.ListOptions{})
		if lerr != nil {
			return lerr
		}
		items, _, lerr := listItems(ri, list)
		if lerr != nil {
			return lerr
		}
		matched := false
		for _, it := range items {
			if m, merr := readMeta(it); merr == nil && strings.HasPrefix(m.Metadata.Name, name) {
				objs = append(objs, it)
				matched = true
			}
		}
		if !matched {
			sess.report(err)
		}
	}
	d := &describer{c: sess.c, now: time.Now(), events: sess.v.GetBool("show-events")}
	for i, raw := range objs {
		text, err := d.describe(ctx, ri, raw)
		if err != nil {
			return err
		}
		if i > 0 {
			io.WriteString(sess.s.out, "\n\n")
		}
		io.WriteString(sess.s.out, text)
	}
	return nil
}

// describer renders objects in kubectl describe's layout. now is the instant ages are
// measured from.
type describer struct {
	c      *client.Client
	now    time.Time
	events bool
}

// describe renders one object of resource ri.
func (d *describer) describe(ctx context.Context, ri *api.ResourceInfo, raw json.RawMessage) (string, error) {
	switch ri.GroupKind() {
	case api.GroupKind{Kind: "Pod"}:
		var p api.Pod
		if err := json.Unmarshal(raw, &p); err != nil {
			return "", fmt.Errorf("decode pod: %w", err)
		}
		evs, err := d.eventsFor(ctx, "Pod", &p.ObjectMeta)
		if err != nil {
			return "", err
		}
		return d.pod(&p, evs), nil
	case api.GroupKind{Group: "apps", Kind: "Deployment"}:
		var dep api.Deployment
		if err := json.Unmarshal(raw, &dep); err != nil {
			return "", fmt.Errorf("decode deployment: %w", err)
		}
		return d.deployment(ctx, &dep)
	case api.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		var rs api.ReplicaSet
		if err := json.Unmarshal(raw, &rs); err != nil {
			return "", fmt.Errorf("decode replicaset: %w", err)
		}
		return d.replicaSet(ctx, &rs)
	case daemonSetKind:
		var ds api.DaemonSet
		if err := json.Unmarshal(raw, &ds); err != nil {
			return "", fmt.Errorf("decode daemonset: %w", err)
		}
		return d.daemonSet(ctx, &ds)
	case api.GroupKind{Kind: "Service"}:
		var svc api.Service
		if err := json.Unmarshal(raw, &svc); err != nil {
			return "", fmt.Errorf("decode service: %w", err)
		}
		return d.service(ctx, &svc)
	case api.GroupKind{Kind: "Node"}:
		var n api.Node
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("decode node: %w", err)
		}
		return d.node(ctx, &n)
	case api.GroupKind{Kind: "Namespace"}:
		var n api.Namespace
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("decode namespace: %w", err)
		}
		return d.namespace(&n), nil
	case api.GroupKind{Kind: "ConfigMap"}:
		return d.configMap(ctx, raw)
	case api.GroupKind{Kind: "Secret"}:
		return d.secret(raw)
	}
	return d.generic(ctx, ri, raw)
}

// eventsFor lists the events about an object, oldest first; nil when events are not shown.
func (d *describer) eventsFor(ctx context.Context, kind string, m *api.ObjectMeta) ([]api.Event, error) {
	if !d.events {
		return nil, nil
	}
	sel := "involvedObject.name=" + labels.EscapeFieldValue(m.Name)
	if m.Namespace != "" {
		sel += ",involvedObject.namespace=" + labels.EscapeFieldValue(m.Namespace)
	}
	if m.UID != "" {
		sel += ",involvedObject.uid=" + labels.EscapeFieldValue(m.UID)
	}
	evs := client.Events(d.c)
	if m.Namespace != "" {
		evs = evs.Namespace(m.Namespace)
	}
	list, err := evs.List(ctx, client.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, err
	}
	out := make([]api.Event, 0, len(list.Items))
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "" || e.InvolvedObject.Kind == kind {
			out = append(out, *e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(&out[i]).Before(eventTime(&out[j])) })
	if out == nil {
		out = []api.Event{}
	}
	return out, nil
}

func eventTime(e *api.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

// prefixWriter is kubectl's describe writer: lines at indent levels, aligned in columns by a
// tabwriter (minwidth 0, tabwidth 8, padding 2).
type prefixWriter struct {
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newPrefixWriter() *prefixWriter {
	p := &prefixWriter{}
	p.tw = tabwriter.NewWriter(&p.buf, 0, 8, 2, ' ', 0)
	return p
}

// write writes a line fragment at indent level (two spaces a level).
func (p *prefixWriter) write(level int, format string, args ...any) {
	fmt.Fprintf(p.tw, strings.Repeat("  ", level)+format, args...)
}

func (p *prefixWriter) flush() { p.tw.Flush() }

func (p *prefixWriter) String() string {
	p.tw.Flush()
	return p.buf.String()
}

// rfc1123z formats t as kubectl describe does.
func rfc1123z(t time.Time) string { return t.Format(time.RFC1123Z) }

const maxAnnotationLen = 140

// skipAnnotations are not shown by describe.
var skipAnnotations = map[string]bool{"kubectl.kubernetes.io/last-applied-configuration": true}

// labelsMultiline writes "Title:\tk=v" with one label a line, or <none>.
func (p *prefixWriter) labelsMultiline(title string, m map[string]string) {
	p.write(0, "%s:\t", title)
	if len(m) == 0 {
		p.write(0, "<none>\n")
		return
	}
	for i, k := range sortedKeys(m) {
		if i != 0 {
			p.write(0, "\t")
		}
		p.write(0, "%s=%s\n", k, m[k])
	}
}

// annotationsMultiline writes "Title:\tk: v" with one annotation a line; long or multi-line
// values go below their key, shortened.
func (p *prefixWriter) annotationsMultiline(title string, m map[string]string) {
	p.write(0, "%s:\t", title)
	var keys []string
	for _, k := range sortedKeys(m) {
		if !skipAnnotations[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		p.write(0, "<none>\n")
		return
	}
	for i, k := range keys {
		if i != 0 {
			p.write(0, "\t")
		}
		v := strings.TrimSuffix(m[k], "\n")
		if len(v)+len(k)+2 > maxAnnotationLen || strings.Contains(v, "\n") {
			p.write(0, "%s:\n", k)
			for _, s := range strings.Split(v, "\n") {
				if len(s) > maxAnnotationLen-2 {
					s = s[:maxAnnotationLen-2] + "..."
				}
				p.write(0, "\t  %s\n", s)
			}
			continue
		}
		p.write(0, "%s: %s\n", k, v)
	}
}

// events writes the Events table, or "Events: <none>".
func (d *describer) writeEvents(p *prefixWriter, evs []api.Event) {
	if evs == nil {
		return
	}
	if len(evs) == 0 {
		p.write(0, "Events:\t<none>\n")
		return
	}
	p.flush()
	p.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	p.write(1, "----\t------\t----\t----\t-------\n")
	for i := range evs {
		e := &evs[i]
		first := d.since(e.EventTime.Time)
		if e.EventTime.IsZero() {
			first = d.since(e.FirstTimestamp.Time)
		}
		interval := first
		if e.Count > 1 {
			interval = fmt.Sprintf("%s (x%d over %s)", d.since(e.LastTimestamp.Time), e.Count, first)
		}
		source := e.Source.Component
		if source == "" {
			source = e.ReportingController
		}
		p.write(1, "%v\t%v\t%s\t%v\t%v\n", e.Type, e.Reason, interval, source, strings.TrimSpace(e.Message))
	}
}

// since is kubectl's translateTimestampSince.
func (d *describer) since(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return printer.HumanDuration(d.now.Sub(t))
}

func controlledBy(m *api.ObjectMeta) string {
	if c := api.ControllerOf(m); c != nil {
		return c.Kind + "/" + c.Name
	}
	return ""
}

func boolWord(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func selectorText(s *api.LabelSelector) string {
	if s == nil {
		return "<none>"
	}
	exprs := make([]labels.MatchExpression, 0, len(s.MatchExpressions))
	for _, e := range s.MatchExpressions {
		exprs = append(exprs, labels.MatchExpression{Key: e.Key, Operator: e.Operator, Values: e.Values})
	}
	sel, err := labels.FromMatch(s.MatchLabels, exprs)
	if err != nil {
		return "<error>"
	}
	if str := sel.String(); str != "" {
		return str
	}
	return "<none>"
}

// ownedReplicaSets lists the ReplicaSets a deployment controls.
func (d *describer) ownedReplicaSets(ctx context.Context, dep *api.Deployment) ([]*api.ReplicaSet, error) {
	list, err := client.ReplicaSets(d.c).Namespace(dep.Namespace).List(ctx, client.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*api.ReplicaSet
	for _, rs := range list.Items {
		if api.IsControlledBy(&rs.ObjectMeta, dep.UID) {
			out = append(out, rs)
		}
	}
	return out, nil
}

// splitReplicaSets finds the new ReplicaSet (the one whose template equals the deployment's,
// ignoring the pod-template-hash label) and the old ones, oldest first.
func splitReplicaSets(dep *api.Deployment, rss []*api.ReplicaSet) (newRS *api.ReplicaSet, old []*api.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		return rss[i].CreationTimestamp.Before(rss[j].CreationTimestamp.Time)
	})
	for _, rs := range rss {
		if newRS == nil && templatesEqual(&rs.Spec.Template, &dep.Spec.Template) {
			newRS = rs
			continue
		}
		old = append(old, rs)
	}
	return newRS, old
}

// templatesEqual compares pod templates ignoring the pod-template-hash label, as the
// deployment controller does.
func templatesEqual(a, b *api.PodTemplateSpec) bool {
	strip := func(t *api.PodTemplateSpec) []byte {
		c := *t
		c.Labels = map[string]string{}
		for k, v := range t.Labels {
			if k != api.LabelPodTemplateHash {
				c.Labels[k] = v
			}
		}
		b, _ := json.Marshal(c)
		return b
	}
	return bytes.Equal(strip(a), strip(b))
}

func rsList(rss []*api.ReplicaSet) string {
	parts := make([]string, 0, len(rss))
	for _, rs := range rss {
		parts = append(parts, fmt.Sprintf("%s (%d/%d replicas created)", rs.Name, rs.Status.Replicas, api.Deref(rs.Spec.Replicas, 1)))
	}
	return orNone(strings.Join(parts, ", "))
}

// deployment is kubectl describe deployment, with its old and new ReplicaSets.
func (d *describer) deployment(ctx context.Context, dep *api.Deployment) (string, error) {
	rss, err := d.ownedReplicaSets(ctx, dep)
	if err != nil {
		return "", err
	}
	newRS, old := splitReplicaSets(dep, rss)
	evs, err := d.eventsFor(ctx, "Deployment", &dep.ObjectMeta)
	if err != nil {
		return "", err
	}
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", dep.Name)
	p.write(0, "Namespace:\t%s\n", dep.Namespace)
	p.write(0, "CreationTimestamp:\t%s\n", rfc1123z(dep.CreationTimestamp.Time))
	p.labelsMultiline("Labels", dep.Labels)
	p.annotationsMultiline("Annotations", dep.Annotations)
	p.write(0, "Selector:\t%s\n", selectorText(dep.Spec.Selector))
	st := dep.Status
	p.write(0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable\n",
		api.Deref(dep.Spec.Replicas, 1), st.UpdatedReplicas, st.Replicas, st.AvailableReplicas, st.UnavailableReplicas)
	p.write(0, "StrategyType:\t%s\n", dep.Spec.Strategy.Type)
	p.write(0, "MinReadySeconds:\t%d\n", dep.Spec.MinReadySeconds)
	if ru := dep.Spec.Strategy.RollingUpdate; ru != nil {
		p.write(0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", intOrStringText(ru.MaxUnavailable), intOrStringText(ru.MaxSurge))
	}
	d.podTemplate(p, &dep.Spec.Template)
	if len(st.Conditions) > 0 {
		p.write(0, "Conditions:\n  Type\tStatus\tReason\n")
		p.write(1, "----\t------\t------\n")
		for _, c := range st.Conditions {
			p.write(1, "%v \t%v\t%v\n", c.Type, c.Status, c.Reason)
		}
	}
	if len(old) > 0 || newRS != nil {
		p.write(0, "OldReplicaSets:\t%s\n", rsList(old))
		var news []*api.ReplicaSet
		if newRS != nil {
			news = append(news, newRS)
		}
		p.write(0, "NewReplicaSet:\t%s\n", rsList(news))
	}
	d.writeEvents(p, evs)
	return p.String(), nil
}

func intOrStringText(v *api.IntOrString) string {
	if v == nil {
		return "<nil>"
	}
	return v.String()
}

// podsStatus is the "Pods Status" line of kubectl describe of a ReplicaSet or DaemonSet: the
// pods it controls, counted by phase.
func (d *describer) podsStatus(ctx context.Context, owner *api.ObjectMeta) (string, error) {
	pods, err := client.Pods(d.c).Namespace(owner.Namespace).List(ctx, client.ListOptions{})
	if err != nil {
		return "", err
	}
	var running, waiting, succeeded, failed int
	for _, pod := range pods.Items {
		if !api.IsControlledBy(&pod.ObjectMeta, owner.UID) {
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
	return fmt.Sprintf("%d Running / %d Waiting / %d Succeeded / %d Failed", running, waiting, succeeded, failed), nil
}

// replicaSet is kubectl describe replicaset, with its pods counted by phase.
func (d *describer) replicaSet(ctx context.Context, rs *api.ReplicaSet) (string, error) {
	status, err := d.podsStatus(ctx, &rs.ObjectMeta)
	if err != nil {
		return "", err
	}
	evs, err := d.eventsFor(ctx, "ReplicaSet", &rs.ObjectMeta)
	if err != nil {
		return "", err
	}
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", rs.Name)
	p.write(0, "Namespace:\t%s\n", rs.Namespace)
	p.write(0, "Selector:\t%s\n", selectorText(rs.Spec.Selector))
	p.labelsMultiline("Labels", rs.Labels)
	p.annotationsMultiline("Annotations", rs.Annotations)
	if c := controlledBy(&rs.ObjectMeta); c != "" {
		p.write(0, "Controlled By:\t%s\n", c)
	}
	p.write(0, "Replicas:\t%d current / %d desired\n", rs.Status.Replicas, api.Deref(rs.Spec.Replicas, 1))
	p.write(0, "Pods Status:\t%s\n", status)
	d.podTemplate(p, &rs.Spec.Template)
	if len(rs.Status.Conditions) > 0 {
		p.write(0, "Conditions:\n  Type\tStatus\tReason\n")
		p.write(1, "----\t------\t------\n")
		for _, c := range rs.Status.Conditions {
			p.write(1, "%v \t%v\t%v\n", c.Type, c.Status, c.Reason)
		}
	}
	d.writeEvents(p, evs)
	return p.String(), nil
}

// generic is kubectl's generic describer: the metadata summary, then every field of the
// object under human-readable names, then the events.
func (d *describer) generic(ctx context.Context, ri *api.ResourceInfo, raw json.RawMessage) (string, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return "", fmt.Errorf("decode %s: %w", ri.Singular, err)
	}
	var pm api.PartialObjectMetadata
	if err := json.Unmarshal(raw, &pm); err != nil {
		return "", fmt.Errorf("decode %s metadata: %w", ri.Singular, err)
	}
	evs, err := d.eventsFor(ctx, ri.Kind, &pm.ObjectMeta)
	if err != nil {
		return "", err
	}
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", pm.Name)
	p.write(0, "Namespace:\t%s\n", pm.Namespace)
	p.labelsMultiline("Labels", pm.Labels)
	p.annotationsMultiline("Annotations", pm.Annotations)
	for _, k := range sortedKeys(obj) {
		if k == "metadata" {
			md, _ := obj[k].(map[string]any)
			rest := map[string]any{}
			for mk, mv := range md {
				switch mk {
				case "name", "namespace", "labels", "annotations", "managedFields":
				default:
					rest[mk] = mv
				}
			}
			if len(rest) > 0 {
				p.write(0, "Metadata:\n")
				genericFields(p, 1, rest)
			}
			continue
		}
		switch v := obj[k].(type) {
		case map[string]any, []any:
			p.write(0, "%s:\n", smartLabel(k))
			genericValue(p, 1, v)
		default:
			p.write(0, "%s:\t%v\n", smartLabel(k), v)
		}
	}
	if evs != nil {
		d.writeEvents(p, evs)
	}
	return p.String(), nil
}

func genericFields(p *prefixWriter, level int, m map[string]any) {
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case map[string]any, []any:
			p.write(level, "%s:\n", smartLabel(k))
			genericValue(p, level+1, v)
		default:
			p.write(level, "%s:\t%v\n", smartLabel(k), v)
		}
	}
}

func genericValue(p *prefixWriter, level int, v any) {
	switch v := v.(type) {
	case map[string]any:
		genericFields(p, level, v)
	case []any:
		for _, it := range v {
			switch it := it.(type) {
			case map[string]any:
				genericFields(p, level, it)
			default:
				p.write(level, "%v\n", it)
			}
		}
	default:
		p.write(level, "%v\n", v)
	}
}

// smartLabel turns a field name into kubectl's describe label: "holderIdentity" ->
// "Holder Identity", "apiVersion" -> "API Version".
func smartLabel(s string) string {
	var words []string
	start := 0
	rs := []rune(s)
	for i := 1; i < len(rs); i++ {
		if unicode.IsUpper(rs[i]) && (!unicode.IsUpper(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
			words = append(words, string(rs[start:i]))
			start = i
		}
	}
	words = append(words, string(rs[start:]))
	for i, w := range words {
		switch strings.ToLower(w) {
		case "api", "ip", "ips", "id", "uid", "url", "cidr", "dns", "tls", "http", "cpu":
			if strings.ToLower(w) == "ips" {
				words[i] = "IPs"
			} else {
				words[i] = strings.ToUpper(w)
			}
		default:
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			words[i] = string(r)
		}
	}
	return strings.Join(words, " ")
}
