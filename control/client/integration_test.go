package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/pki"
)

// start runs a real API server (embedded etcd) and returns a client of it.
func start(t testing.TB, opts ...clustertest.Option) (*client.Client, *clustertest.API) {
	t.Helper()
	a := clustertest.StartAPI(t, opts...)
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c, a
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ensureNamespace(t testing.TB, c *client.Client, name string) {
	t.Helper()
	_, err := client.Namespaces(c).Create(ctxFor(t), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}})
	if err != nil && !api.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

func newPod(name string, lbl map[string]string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Labels: lbl},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}},
	}
}

func newDeployment(name string, replicas int32) *api.Deployment {
	lbl := map[string]string{"app": name}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: name},
		Spec: api.DeploymentSpec{
			Replicas: api.Ptr(replicas),
			Selector: &api.LabelSelector{MatchLabels: lbl},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: lbl},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}},
			},
		},
	}
}

func TestTypedVerbs(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "verbs")
	pods := client.Pods(c).Namespace("verbs")

	created, err := pods.Create(ctx, newPod("web", map[string]string{"app": "web"}))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" || created.Namespace != "verbs" {
		t.Fatalf("created pod lacks server fields: %+v", created.ObjectMeta)
	}
	if _, err := pods.Create(ctx, newPod("web", nil)); !api.IsAlreadyExists(err) {
		t.Fatalf("second create: err = %v, want AlreadyExists", err)
	}
	if _, err := pods.Create(ctx, newPod("other", map[string]string{"app": "other"})); err != nil {
		t.Fatalf("create other: %v", err)
	}

	got, err := pods.Get(ctx, "web")
	if err != nil || got.UID != created.UID {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := pods.Get(ctx, "missing"); !api.IsNotFound(err) {
		t.Fatalf("get missing: err = %v, want NotFound", err)
	}

	list, err := pods.List(ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "web" || list.ResourceVersion == "" {
		t.Fatalf("list by label: %d items, rv %q", len(list.Items), list.ResourceVersion)
	}
	all, err := client.Pods(c).List(ctx, client.ListOptions{})
	if err != nil || len(all.Items) != 2 {
		t.Fatalf("list across namespaces: %v, %v", all, err)
	}
	byName, err := pods.List(ctx, client.ListOptions{FieldSelector: "metadata.name=other"})
	if err != nil || len(byName.Items) != 1 {
		t.Fatalf("list by field: %v, %v", byName, err)
	}

	// Update with the current revision succeeds; with the old one it conflicts.
	upd := *got
	upd.Labels = map[string]string{"app": "web", "tier": "front"}
	updated, err := pods.Update(ctx, &upd)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Labels["tier"] != "front" || updated.ResourceVersion == got.ResourceVersion {
		t.Fatalf("update did not take: %+v", updated.ObjectMeta)
	}
	stale := *got
	stale.Labels = map[string]string{"app": "stale"}
	if _, err := pods.Update(ctx, &stale); !api.IsConflict(err) {
		t.Fatalf("stale update: err = %v, want Conflict", err)
	}

	st := *updated
	st.Status.Phase = api.PodRunning
	st.Status.Message = "up"
	withStatus, err := pods.UpdateStatus(ctx, &st)
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if withStatus.Status.Message != "up" {
		t.Fatalf("status not written: %+v", withStatus.Status)
	}

	if err := pods.Delete(ctx, "other", nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := pods.Delete(ctx, "other", nil); !api.IsNotFound(err) {
		t.Fatalf("delete again: err = %v, want NotFound", err)
	}
	if err := pods.Delete(ctx, "web", &api.DeleteOptions{Preconditions: &api.Preconditions{UID: api.Ptr("wrong")}}); !api.IsConflict(err) {
		t.Fatalf("delete with a wrong UID precondition: err = %v, want Conflict", err)
	}

	for i := range 3 {
		if _, err := pods.Create(ctx, newPod(fmt.Sprintf("batch-%d", i), map[string]string{"batch": "yes"})); err != nil {
			t.Fatal(err)
		}
	}
	if err := pods.DeleteCollection(ctx, client.ListOptions{LabelSelector: "batch=yes"}, nil); err != nil {
		t.Fatalf("delete collection: %v", err)
	}
	left, err := pods.List(ctx, client.ListOptions{LabelSelector: "batch=yes"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range left.Items {
		if p.DeletionTimestamp == nil {
			t.Fatalf("pod %s survived delete collection", p.Name)
		}
	}
}

func TestListPaging(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "paging")
	pods := client.Pods(c).Namespace("paging")
	for i := range 5 {
		if _, err := pods.Create(ctx, newPod(fmt.Sprintf("p%d", i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := client.ListOptions{Limit: 2}
	pages := 0
	for {
		page, err := pods.List(ctx, opts)
		if err != nil {
			t.Fatalf("list page %d: %v", pages, err)
		}
		pages++
		for _, p := range page.Items {
			names = append(names, p.Name)
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	if pages != 3 || !slices.Equal(names, []string{"p0", "p1", "p2", "p3", "p4"}) {
		t.Fatalf("%d pages: %v", pages, names)
	}
}

func TestNamespaceRequired(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	if _, err := client.Pods(c).Get(ctx, "x"); !errors.Is(err, client.ErrNamespaceRequired) {
		t.Fatalf("get without namespace: %v", err)
	}
	if _, err := client.Pods(c).Create(ctx, newPod("x", nil)); !errors.Is(err, client.ErrNamespaceRequired) {
		t.Fatalf("create without namespace: %v", err)
	}
	// The object's own namespace is used when the Resource has none.
	ensureNamespace(t, c, "own")
	p := newPod("x", nil)
	p.Namespace = "own"
	if _, err := client.Pods(c).Create(ctx, p); err != nil {
		t.Fatalf("create in the object's namespace: %v", err)
	}
}

func TestPatchTypes(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "patch")
	deps := client.Deployments(c).Namespace("patch")
	if _, err := deps.Create(ctx, newDeployment("web", 1)); err != nil {
		t.Fatalf("create: %v", err)
	}
	tests := []struct {
		name  string
		pt    client.PatchType
		patch string
		sub   []string
		check func(*api.Deployment) error
	}{
		{"merge", client.MergePatch, `{"metadata":{"labels":{"merge":"yes"}},"spec":{"replicas":2}}`, nil,
			func(d *api.Deployment) error {
				if d.Labels["merge"] != "yes" || *d.Spec.Replicas != 2 {
					return fmt.Errorf("labels %v replicas %d", d.Labels, *d.Spec.Replicas)
				}
				return nil
			}},
		{"json", client.JSONPatch, `[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/annotations","value":{"json":"yes"}}]`, nil,
			func(d *api.Deployment) error {
				if *d.Spec.Replicas != 3 || d.Annotations["json"] != "yes" {
					return fmt.Errorf("replicas %d annotations %v", *d.Spec.Replicas, d.Annotations)
				}
				return nil
			}},
		{"strategic merges containers by name", client.StrategicMergePatch,
			`{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"side:1"}]}}}}`, nil,
			func(d *api.Deployment) error {
				var names []string
				for _, ct := range d.Spec.Template.Spec.Containers {
					names = append(names, ct.Name)
				}
				slices.Sort(names)
				if !slices.Equal(names, []string{"app", "side"}) {
					return fmt.Errorf("containers %v, want app and side", names)
				}
				return nil
			}},
		{"status subresource", client.MergePatch, `{"status":{"observedGeneration":7}}`, []string{"status"},
			func(d *api.Deployment) error {
				if d.Status.ObservedGeneration != 7 {
					return fmt.Errorf("observedGeneration %d", d.Status.ObservedGeneration)
				}
				return nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := deps.Patch(ctx, "web", tc.pt, []byte(tc.patch), tc.sub...)
			if err != nil {
				t.Fatalf("patch: %v", err)
			}
			if err := tc.check(d); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("invalid json patch is refused", func(t *testing.T) {
		_, err := deps.Patch(ctx, "web", client.JSONPatch, []byte(`[{"op":"test","path":"/spec/replicas","value":99}]`))
		if err == nil || api.CodeOf(err) < 400 {
			t.Fatalf("err = %v, want a 4xx Status", err)
		}
	})
}

func TestApply(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "apply")
	deps := client.Deployments(c).Namespace("apply")
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {owner: alice}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: hello:1
`
	d, err := deps.Apply(ctx, "web", []byte(manifest), "alice", false)
	if err != nil {
		t.Fatalf("apply (create): %v", err)
	}
	if *d.Spec.Replicas != 2 || d.Labels["owner"] != "alice" {
		t.Fatalf("applied deployment: replicas %d labels %v", *d.Spec.Replicas, d.Labels)
	}
	if !slices.ContainsFunc(d.ManagedFields, func(m api.ManagedFieldsEntry) bool { return m.Manager == "alice" }) {
		t.Fatalf("no managedFields entry for alice: %+v", d.ManagedFields)
	}
	// Bob changes a field alice owns: a conflict without force, a takeover with it.
	bob := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":5}}`)
	if _, err := deps.Apply(ctx, "web", bob, "bob", false); !api.IsConflict(err) {
		t.Fatalf("conflicting apply: err = %v, want Conflict", err)
	}
	d, err = deps.Apply(ctx, "web", bob, "bob", true)
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if *d.Spec.Replicas != 5 {
		t.Fatalf("forced apply: replicas %d", *d.Spec.Replicas)
	}
	if _, err := deps.Apply(ctx, "web", bob, "", true); err == nil {
		t.Fatal("apply without a field manager succeeded")
	}
}

func TestScaleAndBind(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "sub")
	deps := client.Deployments(c).Namespace("sub")
	if _, err := deps.Create(ctx, newDeployment("web", 1)); err != nil {
		t.Fatal(err)
	}
	s, err := deps.GetScale(ctx, "web")
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if s.Spec.Replicas != 1 {
		t.Fatalf("scale replicas %d, want 1", s.Spec.Replicas)
	}
	s.Spec.Replicas = 4
	if _, err := deps.UpdateScale(ctx, "web", s); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	d, _ := deps.Get(ctx, "web")
	if *d.Spec.Replicas != 4 {
		t.Fatalf("deployment replicas %d after scale, want 4", *d.Spec.Replicas)
	}
	if _, err := client.Pods(c).Namespace("sub").GetScale(ctx, "x"); !errors.Is(err, client.ErrNoSubresource) {
		t.Fatalf("scale of pods: err = %v, want ErrNoSubresource", err)
	}

	pods := client.Pods(c).Namespace("sub")
	if _, err := pods.Create(ctx, newPod("p", nil)); err != nil {
		t.Fatal(err)
	}
	b := &api.Binding{ObjectMeta: api.ObjectMeta{Name: "p"}, Target: api.ObjectReference{Kind: "Node", Name: "node-1"}}
	if err := pods.Bind(ctx, b); err != nil {
		t.Fatalf("bind: %v", err)
	}
	p, _ := pods.Get(ctx, "p")
	if p.Spec.NodeName != "node-1" {
		t.Fatalf("nodeName %q after bind", p.Spec.NodeName)
	}
	if err := pods.Bind(ctx, b); !api.IsConflict(err) {
		t.Fatalf("second bind: err = %v, want Conflict", err)
	}
}

func TestLogsError(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "logs")
	// The test API server has no log source (no runner), so any log request is a Status error,
	// which must come back decoded.
	_, err := c.Logs(ctx, "logs", "nope", client.LogOptions{Follow: true, TailLines: api.Ptr(int64(5))})
	if err == nil || api.CodeOf(err) < 400 {
		t.Fatalf("logs of a missing pod: err = %v, want a Status", err)
	}
}

func TestDynamicAndTable(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "dyn")
	table := api.NewResourceTable(api.Resources())
	ri, _ := table.Lookup("po")
	pods := client.Dynamic(c, ri, "dyn")

	body := []byte(`{"metadata":{"name":"raw","labels":{"app":"raw"}},"spec":{"containers":[{"name":"app","image":"hello:1"}]}}`)
	out, err := pods.Create(ctx, body)
	if err != nil {
		t.Fatalf("dynamic create (no kind given): %v", err)
	}
	var p api.Pod
	if err := json.Unmarshal(out, &p); err != nil || p.Name != "raw" || p.UID == "" {
		t.Fatalf("dynamic create answer: %s (%v)", out, err)
	}
	if _, err := pods.Create(ctx, []byte(`{"metadata":{"name":"bad"},"spec":{"containers":[{"name":"a","image":"x:1","tty":true}]}}`)); !api.IsInvalid(err) {
		t.Fatalf("unknown field: err = %v, want 422 Invalid", err)
	}
	got, err := pods.Get(ctx, "raw")
	if err != nil || !strings.Contains(string(got), `"uid"`) {
		t.Fatalf("dynamic get: %s %v", got, err)
	}
	if _, err := pods.Patch(ctx, "raw", client.MergePatch, []byte(`{"metadata":{"labels":{"x":"y"}}}`)); err != nil {
		t.Fatalf("dynamic patch: %v", err)
	}
	applied, err := pods.Apply(ctx, "raw2", []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: raw2}\nspec:\n  containers: [{name: app, image: 'hello:2'}]\n"), "wk", false)
	if err != nil || !strings.Contains(string(applied), "hello:2") {
		t.Fatalf("dynamic apply: %s %v", applied, err)
	}

	tbl, err := pods.Table(ctx, client.ListOptions{})
	if err != nil {
		t.Fatalf("table: %v", err)
	}
	if len(tbl.ColumnDefinitions) == 0 || tbl.ColumnDefinitions[0].Name != "Name" || len(tbl.Rows) != 2 {
		t.Fatalf("table: %d columns (first %v), %d rows", len(tbl.ColumnDefinitions), tbl.ColumnDefinitions, len(tbl.Rows))
	}
	one, err := pods.GetTable(ctx, "raw")
	if err != nil || len(one.Rows) != 1 || one.Rows[0].Cells[0] != "raw" {
		t.Fatalf("get table: %+v %v", one, err)
	}
	list, err := pods.List(ctx, client.ListOptions{LabelSelector: "app=raw"})
	if err != nil || !strings.Contains(string(list), `"PodList"`) {
		t.Fatalf("dynamic list: %s %v", list, err)
	}
	if _, err := pods.Delete(ctx, "raw", nil); err != nil {
		t.Fatalf("dynamic delete: %v", err)
	}

	w, err := pods.Watch(ctx, client.ListOptions{TimeoutSeconds: 1})
	if err != nil {
		t.Fatalf("dynamic watch: %v", err)
	}
	var seen []string
	for ev := range w.Events() {
		if ev.Err != nil {
			t.Fatalf("dynamic watch: %v", ev.Err)
		}
		var m api.PartialObjectMetadata
		if err := json.Unmarshal(ev.Object, &m); err != nil {
			t.Fatalf("raw event object: %s", ev.Object)
		}
		seen = append(seen, ev.Type+" "+m.Name)
	}
	if !slices.Equal(seen, []string{"ADDED raw2"}) {
		t.Fatalf("dynamic watch events %v", seen)
	}
}

func TestDiscovery(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	v, err := c.ServerVersion(ctx)
	if err != nil || v.GitVersion == "" {
		t.Fatalf("version: %+v %v", v, err)
	}
	core, err := c.CoreVersions(ctx)
	if err != nil || !slices.Contains(core.Versions, "v1") {
		t.Fatalf("/api: %+v %v", core, err)
	}
	groups, err := c.Groups(ctx)
	if err != nil || !slices.ContainsFunc(groups.Groups, func(g api.APIGroup) bool { return g.Name == "apps" }) {
		t.Fatalf("/apis: %+v %v", groups, err)
	}
	for _, gv := range []struct{ gv, resource string }{{"v1", "pods"}, {"apps/v1", "deployments"}, {"coordination.k8s.io/v1", "leases"}} {
		rl, err := c.ServerResources(ctx, gv.gv)
		if err != nil || !slices.ContainsFunc(rl.APIResources, func(r api.APIResource) bool { return r.Name == gv.resource }) {
			t.Fatalf("resources of %s: %+v %v", gv.gv, rl, err)
		}
	}
}

func TestAuthAndKubeconfig(t *testing.T) {
	_, a := start(t)
	ctx := ctxFor(t)

	bad, _ := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: "wrong"})
	defer bad.Close()
	if _, err := client.Namespaces(bad).List(ctx, client.ListOptions{}); api.ReasonOf(err) != api.ReasonUnauthorized {
		t.Fatalf("wrong token: err = %v, want Unauthorized", err)
	}

	path := filepath.Join(t.TempDir(), "config")
	if err := pki.WriteKubeconfig(path, pki.AdminKubeconfig("test", a.URL, a.CAPEM, a.Token)); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.FromKubeconfig(path, "")
	if err != nil {
		t.Fatalf("FromKubeconfig: %v", err)
	}
	if cfg.Namespace != "default" {
		t.Fatalf("namespace %q", cfg.Namespace)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatalf("client from kubeconfig: %v", err)
	}
	if _, err := client.FromKubeconfig(path, "missing"); !errors.Is(err, pki.ErrNotFound) {
		t.Fatalf("missing context: err = %v", err)
	}
}

// next reads one event or fails.
func next[T any](t *testing.T, w *client.Watcher[T]) client.Event[T] {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatal("watch closed early")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event")
	}
	panic("unreachable")
}

func TestWatchResume(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "watch")
	pods := client.Pods(c).Namespace("watch")
	list, err := pods.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	p, err := pods.Create(ctx, newPod("a", nil))
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"v": "2"}
	if _, err := pods.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "a", &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	var types []string
	last := ""
	for len(types) == 0 || types[len(types)-1] != api.Deleted {
		ev := next(t, w)
		if ev.Err != nil {
			t.Fatalf("watch error: %v", ev.Err)
		}
		if ev.Object.Name != "a" {
			t.Fatalf("event for %q", ev.Object.Name)
		}
		types = append(types, ev.Type)
		last = ev.Object.ResourceVersion
	}
	if types[0] != api.Added || types[1] != api.Modified {
		t.Fatalf("events %v, want ADDED, MODIFIED..., DELETED", types)
	}
	w.Stop()
	for range w.Events() { // buffered events may remain; the channel must be closed
	}

	// Changes made while not watching arrive when the watch resumes from the last revision.
	if _, err := pods.Create(ctx, newPod("b", nil)); err != nil {
		t.Fatal(err)
	}
	w2, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: last})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	ev := next(t, w2)
	if ev.Type != api.Added || ev.Object.Name != "b" {
		t.Fatalf("resumed watch: first event %s %s, want ADDED b", ev.Type, ev.Object.Name)
	}
}

func TestWatchInitialStateAndTimeout(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "w0")
	pods := client.Pods(c).Namespace("w0")
	for _, n := range []string{"x", "y"} {
		if _, err := pods.Create(ctx, newPod(n, nil)); err != nil {
			t.Fatal(err)
		}
	}
	// No resourceVersion: the current objects come first as ADDED; the server ends the stream
	// after timeoutSeconds and the channel closes.
	w, err := pods.Watch(ctx, client.ListOptions{TimeoutSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for ev := range w.Events() {
		if ev.Err != nil {
			t.Fatalf("watch error: %v", ev.Err)
		}
		names = append(names, ev.Type+" "+ev.Object.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"ADDED x", "ADDED y"}) {
		t.Fatalf("events %v", names)
	}
}

func TestWatchGone(t *testing.T) {
	c, _ := start(t, clustertest.WithConfig(func(cfg *apiserver.Config) { cfg.WatchCacheSize = 8 }))
	ctx := ctxFor(t)
	ensureNamespace(t, c, "gone")
	pods := client.Pods(c).Namespace("gone")
	list, err := pods.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := pods.Create(ctx, newPod(fmt.Sprintf("p%d", i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	w, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: list.ResourceVersion})
	if api.IsGone(err) {
		return // refused before the stream started: as good as an ERROR event
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := next(t, w)
	if ev.Type != api.Error || !api.IsGone(ev.Err) {
		t.Fatalf("watch from a compacted revision: %s %v, want ERROR 410", ev.Type, ev.Err)
	}
	if api.ReasonOf(ev.Err) != api.ReasonExpired {
		t.Fatalf("reason %q, want Expired", api.ReasonOf(ev.Err))
	}
}

func TestHTTP2(t *testing.T) {
	c, _ := start(t)
	resp, err := c.Do(ctxFor(t), client.Request{Path: "/version"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Proto != "HTTP/2.0" {
		t.Fatalf("protocol %s, want HTTP/2.0", resp.Proto)
	}
}

func TestTimeoutSparesStreams(t *testing.T) {
	_, a := start(t)
	ctx := ctxFor(t)
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ensureNamespace(t, c, "slow")
	// The server ends this watch after a second, ten times the request timeout: the stream
	// must end cleanly, not be cut by the timeout.
	w, err := client.Pods(c).Namespace("slow").Watch(ctx, client.ListOptions{TimeoutSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	for ev := range w.Events() {
		if ev.Err != nil {
			t.Fatalf("watch cut: %v", ev.Err)
		}
	}
}

func TestWatchCancel(t *testing.T) {
	c, _ := start(t)
	ensureNamespace(t, c, "wc")
	ctx, cancel := context.WithCancel(context.Background())
	w, err := client.Pods(c).Namespace("wc").Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for ev := range w.Events() {
		if ev.Err != nil {
			t.Fatalf("a cancelled watch reported %v", ev.Err)
		}
	}
	<-w.Done()
}

func TestRecorderAggregates(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "rec")
	ensureNamespace(t, c, api.NamespaceDefault)
	p, err := client.Pods(c).Namespace("rec").Create(ctx, newPod("p", nil))
	if err != nil {
		t.Fatal(err)
	}
	rec := client.NewRecorder(c, client.RecorderConfig{Component: "test-controller", Host: "h1"})
	rec.Start(ctx)
	defer rec.Stop()
	for range 3 {
		rec.Eventf(p, api.EventWarning, "BackOff", "restarting module %s", "app")
	}
	rec.Eventf(p, api.EventNormal, "Started", "started")
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1", UID: "node-uid"}}
	rec.Eventf(node, api.EventNormal, "Ready", "node is ready")

	events := client.Events(c)
	var list *api.List[*api.Event]
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Written first, then the list: a list taken before the last write is acknowledged
		// may lack it.
		if rec.Written() == 5 {
			if list, err = events.List(ctx, client.ListOptions{}); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recorder wrote %d of 5 (failed %d, dropped %d)", rec.Written(), rec.Failed(), rec.Dropped())
		}
		time.Sleep(10 * time.Millisecond) // polling the recorder, not a timing assertion
	}
	byReason := map[string]*api.Event{}
	for _, e := range list.Items {
		if _, dup := byReason[e.Reason]; dup {
			t.Fatalf("two events with reason %s: repeats were not aggregated", e.Reason)
		}
		byReason[e.Reason] = e
	}
	b := byReason["BackOff"]
	if b == nil || b.Count != 3 || b.Message != "restarting module app" || b.Type != api.EventWarning {
		t.Fatalf("BackOff event: %+v", b)
	}
	if b.InvolvedObject.Kind != "Pod" || b.InvolvedObject.UID != p.UID || b.Namespace != "rec" ||
		b.Source.Component != "test-controller" || b.Source.Host != "h1" {
		t.Fatalf("BackOff event reference/source: %+v %+v", b.InvolvedObject, b.Source)
	}
	if s := byReason["Started"]; s == nil || s.Count != 1 {
		t.Fatalf("Started event: %+v", s)
	}
	if r := byReason["Ready"]; r == nil || r.Namespace != api.NamespaceDefault || r.InvolvedObject.Kind != "Node" {
		t.Fatalf("node event: %+v", r)
	}
}

// BenchmarkCreatePods measures Create throughput against a real API server from 32 goroutines.
func BenchmarkCreatePods(b *testing.B) {
	c, _ := start(b)
	ensureNamespace(b, c, "bench")
	pods := client.Pods(c).Namespace("bench")
	var n atomic.Int64
	ctx := context.Background()
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := pods.Create(ctx, newPod(fmt.Sprintf("p-%d", n.Add(1)), nil)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// TestListThroughInterface lists a resource through For[api.Object], as generic informers do:
// every item decodes into the resource's own type.
func TestListThroughInterface(t *testing.T) {
	c, _ := start(t)
	ctx := ctxFor(t)
	if _, err := client.Namespaces(c).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "generic"}}); err != nil {
		t.Fatal(err)
	}
	list, err := client.For[api.Object](c, "namespaces").List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range list.Items {
		ns, ok := o.(*api.Namespace)
		if !ok {
			t.Fatalf("item of type %T, want *api.Namespace", o)
		}
		found = found || ns.Name == "generic"
	}
	if !found || list.ResourceVersion == "" {
		t.Fatalf("list = %d items, resourceVersion %q; want the new namespace", len(list.Items), list.ResourceVersion)
	}
}
