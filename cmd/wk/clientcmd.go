package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"sigs.k8s.io/yaml"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/pki"
)

// addClientCommands adds the commands that drive a running cluster through its API, as kubectl
// does: apply, get, describe, delete, scale, rollout, create, run, expose, logs, version,
// api-resources, cluster-info, cordon, uncordon, drain, push and build.
func addClientCommands(root *cobra.Command, s *streams) {
	root.AddCommand(
		newApplyCmd(s), newGetCmd(s), newDescribeCmd(s), newDeleteCmd(s), newScaleCmd(s),
		newRolloutCmd(s), newCreateCmd(s), newRunCmd(s), newExposeCmd(s), newLogsCmd(s),
		newVersionCmd(s), newAPIResourcesCmd(s), newClusterInfoCmd(s),
	)
	root.AddCommand(newNodeCommands(s)...)
	root.AddCommand(newModuleCommands(s)...)
}

// errNoKubeconfig is returned when no kubeconfig file can be found.
var errNoKubeconfig = errors.New("no kubeconfig: set --kubeconfig, $KUBECONFIG or ~/.wk/config (wk server writes one into its data directory)")

// errReported marks a failure whose messages were already printed; the command only has to
// exit non-zero.
var errReported = errors.New("errors were reported")

// session is what one client command works with: its settings, its output streams, and (once
// connect is called) the API client, the namespace and the resource mapper.
type session struct {
	s   *streams
	cmd *cobra.Command
	v   *viper.Viper

	c      *client.Client
	cfg    *client.Config
	ns     string // the namespace of the request: -n, else the kubeconfig context's, else default
	nsFlag bool   // whether the namespace was given explicitly (-n or WK_NAMESPACE)
	res    *resourceMapper

	failed bool // some error was printed
}

// clientAction wraps a client command's body: it builds the session, runs fn, prints fn's error
// the way kubectl does, and turns any failure into exit code 1.
func clientAction(s *streams, fn func(ctx context.Context, sess *session, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		v, err := settings(cmd)
		if err != nil {
			return err
		}
		sess := &session{s: s, cmd: cmd, v: v}
		defer func() {
			if sess.c != nil {
				sess.c.Close()
			}
		}()
		err = fn(cmd.Context(), sess, args)
		if err != nil && !errors.Is(err, errReported) {
			sess.report(err)
		}
		if sess.failed || err != nil {
			return exitError{code: 1}
		}
		return nil
	}
}

// report prints err the way kubectl does and remembers that the command failed.
func (sess *session) report(err error) {
	sess.failed = true
	msg := errorMessage(err)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	io.WriteString(sess.s.err, msg)
}

// connect builds the API client from the kubeconfig (--kubeconfig, $KUBECONFIG, ~/.wk/config,
// ~/.kube/config) and the context (--context), and settles the namespace.
func (sess *session) connect() error {
	if sess.c != nil {
		return nil
	}
	home, _ := os.UserHomeDir()
	path := pki.ResolvePath(sess.v.GetString("kubeconfig"), os.Getenv, home)
	if path == "" {
		return errNoKubeconfig
	}
	cfg, err := client.FromKubeconfig(path, sess.v.GetString("context"))
	if err != nil {
		return err
	}
	cfg.UserAgent = "wk/" + clientVersion() + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")"
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	sess.c, sess.cfg = c, cfg
	sess.ns = sess.v.GetString("namespace")
	sess.nsFlag = sess.ns != ""
	if sess.ns == "" {
		sess.ns = cfg.Namespace
	}
	if sess.ns == "" {
		sess.ns = api.NamespaceDefault
	}
	sess.res = &resourceMapper{c: c}
	return nil
}

// errorMessage renders err as kubectl's cmdutil.CheckErr does: API errors as "Error from
// server (Reason): message", invalid objects with their field causes, a 401 as "You must be
// logged in", connection failures as such, and anything else as "error: message".
func errorMessage(err error) string {
	var se *api.StatusError
	if errors.As(err, &se) {
		st := se.Status
		switch {
		case st.Reason == api.ReasonUnauthorized || st.Code == 401:
			return "error: You must be logged in to the server (Unauthorized)"
		case st.Reason == api.ReasonInvalid:
			return invalidMessage(st)
		case st.Reason != "":
			return fmt.Sprintf("Error from server (%s): %s", st.Reason, st.Message)
		default:
			return "Error from server: " + st.Message
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if strings.Contains(ue.Err.Error(), "connection refused") {
			host := ue.URL
			if u, perr := url.Parse(ue.URL); perr == nil {
				host = u.Host
			}
			return fmt.Sprintf("The connection to the server %s was refused - did you specify the right host or port?", host)
		}
		return fmt.Sprintf("Unable to connect to the server: %v", ue.Err)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "error: ") {
		return msg
	}
	return "error: " + msg
}

// invalidMessage is kubectl's rendering of a 422: `The Deployment "hello" is invalid: path: msg`,
// one cause per line when there are several.
func invalidMessage(st api.Status) string {
	d := st.Details
	if d == nil {
		if st.Message != "" {
			return "The request is invalid: " + st.Message
		}
		return "The request is invalid"
	}
	s := "The request is invalid"
	if d.Kind != "" || d.Name != "" {
		s = fmt.Sprintf("The %s %q is invalid", d.Kind, d.Name)
	} else if st.Message != "" && len(d.Causes) == 0 {
		s += ": " + st.Message
	}
	switch len(d.Causes) {
	case 0:
		return s
	case 1:
		return s + ": " + causeText(d.Causes[0])
	}
	var b strings.Builder
	b.WriteString(s + ": \n")
	for _, c := range d.Causes {
		b.WriteString("* " + causeText(c) + "\n")
	}
	return b.String()
}

func causeText(c api.StatusCause) string {
	if c.Field == "" {
		return c.Message
	}
	return c.Field + ": " + c.Message
}

// withSource rewrites an API error's message as kubectl's AddSourceToErr does:
// `error when deleting "f.yaml": deployments.apps "x" not found`. Other errors are wrapped.
func withSource(verb, source string, err error) error {
	if source == "" {
		return err
	}
	var se *api.StatusError
	if errors.As(err, &se) {
		st := se.Status
		st.Message = fmt.Sprintf("error when %s %q: %s", verb, source, st.Message)
		return &api.StatusError{Status: st}
	}
	return fmt.Errorf("error when %s %q: %w", verb, source, err)
}

// clientVersion is this binary's version: the module version it was built at, or a
// development marker.
func clientVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "v0.0.0-dev"
}

// resourceMapper resolves the names users type (plural, singular, short name, Kind,
// "plural.group") and the apiVersion/kind of manifests to resources, from the server's
// discovery documents, falling back to the built-in table when the server has no discovery.
type resourceMapper struct {
	c     *client.Client
	table *api.ResourceTable
	verbs map[string][]string // "group/resource" -> verbs, from discovery
}

// load reads discovery once.
func (m *resourceMapper) load(ctx context.Context) error {
	if m.table != nil {
		return nil
	}
	infos, verbs, err := discover(ctx, m.c)
	if err != nil {
		return err
	}
	m.table = api.NewResourceTable(infos)
	m.verbs = verbs
	return nil
}

// all returns every resource, in discovery order.
func (m *resourceMapper) all(ctx context.Context) ([]api.ResourceInfo, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	return m.table.All(), nil
}

// lookup resolves a resource name as typed on the command line.
func (m *resourceMapper) lookup(ctx context.Context, name string) (*api.ResourceInfo, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if ri, ok := m.table.Lookup(name); ok {
		return ri, nil
	}
	return nil, fmt.Errorf("the server doesn't have a resource type %q", name)
}

// category returns the resources in a category ("all"), in discovery order.
func (m *resourceMapper) category(ctx context.Context, cat string) ([]*api.ResourceInfo, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	var out []*api.ResourceInfo
	all := m.table.All()
	for i := range all {
		for _, c := range all[i].Categories {
			if c == cat {
				out = append(out, &all[i])
			}
		}
	}
	return out, nil
}

// errNoKindMatch is wrapped when a manifest's apiVersion and kind name no served resource.
var errNoKindMatch = errors.New("no matches for kind")

// forKind resolves a manifest's apiVersion and kind.
func (m *resourceMapper) forKind(ctx context.Context, apiVersion, kind string) (*api.ResourceInfo, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if ri, ok := m.table.ForKind(apiVersion, kind); ok {
		return ri, nil
	}
	return nil, fmt.Errorf("%w %q in version %q", errNoKindMatch, kind, apiVersion)
}

// discover reads /api/v1 and the preferred version of every group under /apis. A server that
// answers 404 to discovery gets the built-in resource table.
func discover(ctx context.Context, c *client.Client) ([]api.ResourceInfo, map[string][]string, error) {
	builtin := api.Resources()
	core, err := c.ServerResources(ctx, "v1")
	if api.IsNotFound(err) {
		return builtin, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	lists := []*api.APIResourceList{core}
	groups, err := c.Groups(ctx)
	if err != nil && !api.IsNotFound(err) {
		return nil, nil, err
	}
	if groups != nil {
		for _, g := range groups.Groups {
			gv := g.PreferredVersion.GroupVersion
			if gv == "" && len(g.Versions) > 0 {
				gv = g.Versions[0].GroupVersion
			}
			if gv == "" {
				continue
			}
			l, err := c.ServerResources(ctx, gv)
			if err != nil {
				return nil, nil, err
			}
			lists = append(lists, l)
		}
	}
	var infos []api.ResourceInfo
	verbs := map[string][]string{}
	for _, l := range lists {
		group, version := splitGroupVersion(l.GroupVersion)
		subs := map[string][]string{}
		for _, r := range l.APIResources {
			if parent, sub, ok := strings.Cut(r.Name, "/"); ok {
				subs[parent] = append(subs[parent], sub)
			}
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			ri := api.ResourceInfo{
				Group: group, Version: version, Resource: r.Name, Singular: r.SingularName,
				Kind: r.Kind, Namespaced: r.Namespaced, ShortNames: r.ShortNames,
				Categories: r.Categories, Subresources: subs[r.Name],
			}
			if ri.Singular == "" {
				ri.Singular = strings.ToLower(r.Kind)
			}
			for _, b := range builtin {
				if b.Group == group && b.Resource == r.Name {
					ri.New = b.New
				}
			}
			infos = append(infos, ri)
			verbs[group+"/"+r.Name] = r.Verbs
		}
	}
	return infos, verbs, nil
}

func splitGroupVersion(gv string) (group, version string) {
	if g, v, ok := strings.Cut(gv, "/"); ok {
		return g, v
	}
	return "", gv
}

// kindName is how kubectl names a kind in output: "deployment.apps", "pod".
func kindName(ri *api.ResourceInfo) string {
	k := strings.ToLower(ri.Kind)
	if ri.Group != "" {
		k += "." + ri.Group
	}
	return k
}

// collectionPath is the API path of a resource's collection in ns ("" = all namespaces).
func collectionPath(ri *api.ResourceInfo, ns string) string {
	p := "/api/" + ri.Version
	if ri.Group != "" {
		p = "/apis/" + ri.Group + "/" + ri.Version
	}
	if ri.Namespaced && ns != "" {
		p += "/namespaces/" + ns
	}
	return p + "/" + ri.Resource
}

// nsFor is the namespace a request about ri uses: ns for namespaced resources, "" otherwise.
func nsFor(ri *api.ResourceInfo, ns string) string {
	if ri.Namespaced {
		return ns
	}
	return ""
}

// objectMeta is the part of an object's JSON the commands read.
type objectMeta struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               string            `json:"uid"`
		ResourceVersion   string            `json:"resourceVersion"`
		Labels            map[string]string `json:"labels"`
		DeletionTimestamp *string           `json:"deletionTimestamp"`
	} `json:"metadata"`
}

func readMeta(raw []byte) (objectMeta, error) {
	var m objectMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("decode object: %w", err)
	}
	return m, nil
}

// listItems splits a list document into its items, giving each the kind and apiVersion of ri
// when the server left them out, and returns the list's resourceVersion.
func listItems(ri *api.ResourceInfo, raw []byte) ([]json.RawMessage, string, error) {
	var l struct {
		Metadata api.ListMeta     `json:"metadata"`
		Items    []map[string]any `json:"items"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&l); err != nil {
		return nil, "", fmt.Errorf("decode list of %s: %w", ri.Resource, err)
	}
	out := make([]json.RawMessage, 0, len(l.Items))
	for _, it := range l.Items {
		if _, ok := it["kind"]; !ok {
			it["kind"] = ri.Kind
		}
		if _, ok := it["apiVersion"]; !ok {
			it["apiVersion"] = ri.GroupVersion()
		}
		b, err := json.Marshal(it)
		if err != nil {
			return nil, "", fmt.Errorf("encode %s: %w", ri.Singular, err)
		}
		out = append(out, b)
	}
	return out, l.Metadata.ResourceVersion, nil
}

// printObjects writes objects as kubectl's -o json or -o yaml does: one object alone, several
// (or a list request, asList) as a v1 List. Keys are sorted and JSON is indented by four
// spaces, as kubectl prints unstructured objects.
// Unless showManaged, metadata.managedFields is left out, as kubectl does by default.
func printObjects(w io.Writer, format string, objs []json.RawMessage, asList, showManaged bool) error {
	decode := func(raw []byte) (any, error) {
		v, err := decodeAny(raw)
		if err != nil {
			return nil, err
		}
		if m, ok := v.(map[string]any); ok && !showManaged {
			if md, ok := m["metadata"].(map[string]any); ok {
				delete(md, "managedFields")
			}
		}
		return v, nil
	}
	var doc any
	if len(objs) == 1 && !asList {
		v, err := decode(objs[0])
		if err != nil {
			return err
		}
		doc = v
	} else {
		items := make([]any, 0, len(objs))
		for _, o := range objs {
			v, err := decode(o)
			if err != nil {
				return err
			}
			items = append(items, v)
		}
		doc = map[string]any{
			"apiVersion": "v1", "kind": "List", "items": items,
			"metadata": map[string]any{"resourceVersion": ""},
		}
	}
	return printDoc(w, format, doc)
}

// printDoc writes one document as indented JSON or YAML.
func printDoc(w io.Writer, format string, doc any) error {
	data, err := json.MarshalIndent(doc, "", "    ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if format == "yaml" {
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			return fmt.Errorf("encode output as YAML: %w", err)
		}
		_, err = w.Write(y)
		return err
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

func decodeAny(raw []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	return v, nil
}

// splitTypeName parses "TYPE/NAME".
func splitTypeName(arg string) (typ, name string, ok bool) {
	typ, name, ok = strings.Cut(arg, "/")
	return typ, name, ok && typ != "" && name != ""
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
