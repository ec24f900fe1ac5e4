package informer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
)

func pod(ns, name, rv, node string, lbl map[string]string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv, Labels: lbl},
		Spec:       api.PodSpec{NodeName: node},
	}
}

// recorder is a handler that logs what it is told as "add ns/name@rv" lines.
type recorder struct {
	mu  sync.Mutex
	log []string
	ch  chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1000)} }

func (r *recorder) note(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *recorder) handler() Handler[*api.Pod] {
	id := func(p *api.Pod) string { return KeyOf(p) + "@" + p.ResourceVersion }
	return Handler[*api.Pod]{
		OnAdd:    func(p *api.Pod) { r.note("add " + id(p)) },
		OnUpdate: func(o, n *api.Pod) { r.note("update " + id(o) + "->" + n.ResourceVersion) },
		OnDelete: func(p *api.Pod) { r.note("delete " + id(p)) },
	}
}

// take waits for n notes and returns them.
func (r *recorder) take(t *testing.T, n int) []string {
	t.Helper()
	for range n {
		<-r.ch
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = nil
	return out
}

func newTestInformer(t *testing.T) (*Informer[*api.Pod], *recorder) {
	inf := New[*api.Pod](nil, clientListOptions(), map[string]IndexFunc[*api.Pod]{NodeNameIndex: PodsByNodeName})
	rec := newRecorder()
	inf.AddHandler(rec.handler())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { inf.dispatch(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return inf, rec
}

func TestReplaceEmitsDifferences(t *testing.T) {
	inf, rec := newTestInformer(t)
	inf.replace([]*api.Pod{pod("ns", "a", "1", "", nil), pod("ns", "b", "2", "", nil), pod("ns", "c", "3", "", nil)}, "3")
	if got, want := rec.take(t, 3), []string{"add ns/a@1", "add ns/b@2", "add ns/c@3"}; !slices.Equal(got, want) {
		t.Fatalf("first list: %v, want %v", got, want)
	}
	if !inf.WaitForSync(context.Background()) {
		t.Fatal("not synced")
	}
	// Second list: a unchanged, b changed, c gone, d new.
	inf.replace([]*api.Pod{pod("ns", "a", "1", "", nil), pod("ns", "b", "5", "", nil), pod("ns", "d", "6", "", nil)}, "6")
	want := []string{"delete ns/c@3", "update ns/b@2->5", "add ns/d@6"}
	if got := rec.take(t, 3); !slices.Equal(got, want) {
		t.Fatalf("relist: %v, want %v", got, want)
	}
	if inf.LastResourceVersion() != "6" || inf.Len() != 3 {
		t.Fatalf("rv %s len %d", inf.LastResourceVersion(), inf.Len())
	}
}

func TestApplyEvents(t *testing.T) {
	tests := []struct {
		name   string
		events []struct{ typ, name, rv string }
		want   []string
	}{
		{"add modify delete", []struct{ typ, name, rv string }{
			{api.Added, "a", "2"}, {api.Modified, "a", "3"}, {api.Deleted, "a", "4"}},
			[]string{"add ns/a@2", "update ns/a@2->3", "delete ns/a@4"}},
		{"duplicate revision is dropped", []struct{ typ, name, rv string }{
			{api.Added, "a", "2"}, {api.Modified, "a", "2"}, {api.Modified, "a", "3"}},
			[]string{"add ns/a@2", "update ns/a@2->3"}},
		{"modified of unknown is an add", []struct{ typ, name, rv string }{
			{api.Modified, "a", "2"}}, []string{"add ns/a@2"}},
		{"delete of unknown is ignored", []struct{ typ, name, rv string }{
			{api.Deleted, "x", "2"}, {api.Added, "a", "3"}}, []string{"add ns/a@3"}},
		{"bookmark moves revision only", []struct{ typ, name, rv string }{
			{api.Bookmark, "", "9"}, {api.Added, "a", "10"}}, []string{"add ns/a@10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inf, rec := newTestInformer(t)
			for _, e := range tc.events {
				inf.apply(e.typ, pod("ns", e.name, e.rv, "", nil))
			}
			if got := rec.take(t, len(tc.want)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			last := tc.events[len(tc.events)-1].rv
			if inf.LastResourceVersion() != last {
				t.Fatalf("last rv %s, want %s", inf.LastResourceVersion(), last)
			}
		})
	}
}

func TestLateHandlerSeesExistingObjects(t *testing.T) {
	inf, rec := newTestInformer(t)
	inf.replace([]*api.Pod{pod("ns", "a", "1", "", nil), pod("ns", "b", "2", "", nil)}, "2")
	rec.take(t, 2)
	late := newRecorder()
	inf.AddHandler(late.handler())
	inf.apply(api.Modified, pod("ns", "a", "3", "", nil))
	want := []string{"add ns/a@1", "add ns/b@2", "update ns/a@1->3"}
	if got := late.take(t, 3); !slices.Equal(got, want) {
		t.Fatalf("late handler: %v, want %v", got, want)
	}
}

func TestListers(t *testing.T) {
	inf, rec := newTestInformer(t)
	inf.replace([]*api.Pod{
		pod("a", "p1", "1", "n1", map[string]string{"app": "web"}),
		pod("a", "p2", "2", "n2", map[string]string{"app": "db"}),
		pod("b", "p3", "3", "n1", map[string]string{"app": "web"}),
		pod("b", "p4", "4", "", nil),
	}, "4")
	rec.take(t, 4)
	names := func(ps []*api.Pod) string {
		var s []string
		for _, p := range ps {
			s = append(s, KeyOf(p))
		}
		slices.Sort(s)
		return strings.Join(s, ",")
	}
	web, _ := labels.Parse("app=web")
	tests := []struct {
		name string
		got  []*api.Pod
		want string
	}{
		{"list", inf.List(), "a/p1,a/p2,b/p3,b/p4"},
		{"by node", inf.ByIndex(NodeNameIndex, "n1"), "a/p1,b/p3"},
		{"unscheduled", inf.ByIndex(NodeNameIndex, ""), "b/p4"},
		{"by namespace", inf.ByIndex(NamespaceIndex, "a"), "a/p1,a/p2"},
		{"unknown index", inf.ByIndex("nope", "x"), ""},
		{"selector", inf.ListSelector(web), "a/p1,b/p3"},
		{"namespace and selector", inf.ListNamespace("b", web), "b/p3"},
		{"namespace, nil selector", inf.ListNamespace("b", nil), "b/p3,b/p4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.got); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	// Re-indexing on update: p1 moves to n2.
	inf.apply(api.Modified, pod("a", "p1", "5", "n2", nil))
	rec.take(t, 1)
	if got := names(inf.ByIndex(NodeNameIndex, "n1")); got != "b/p3" {
		t.Fatalf("after move, n1 holds %s", got)
	}
	if got := names(inf.ByIndex(NodeNameIndex, "n2")); got != "a/p1,a/p2" {
		t.Fatalf("after move, n2 holds %s", got)
	}
	if p, ok := inf.Get("a", "p1"); !ok || p.ResourceVersion != "5" {
		t.Fatalf("Get a/p1 = %v %v", p, ok)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct{ ns, name, key string }{{"ns", "a", "ns/a"}, {"", "node1", "node1"}}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if k := Key(tc.ns, tc.name); k != tc.key {
				t.Fatalf("Key = %s", k)
			}
			if ns, name := SplitKey(tc.key); ns != tc.ns || name != tc.name {
				t.Fatalf("SplitKey = %s %s", ns, name)
			}
		})
	}
}

func TestDeepCopy(t *testing.T) {
	p := pod("ns", "a", "1", "n1", map[string]string{"x": "y"})
	c := DeepCopy(p)
	c.Labels["x"] = "z"
	c.Spec.NodeName = "n2"
	if p.Labels["x"] != "y" || p.Spec.NodeName != "n1" {
		t.Fatal("DeepCopy shares memory with its source")
	}
	if fmt.Sprint(DeepCopy(p)) != fmt.Sprint(p) {
		t.Fatal("DeepCopy changed the object")
	}
}

func BenchmarkApplyEvents(b *testing.B) {
	inf := New[*api.Pod](nil, clientListOptions(), map[string]IndexFunc[*api.Pod]{
		NodeNameIndex: PodsByNodeName, ControllerUIDIndex: ByControllerUID[*api.Pod]()})
	done := make(chan struct{})
	var n int
	inf.AddHandler(Handler[*api.Pod]{OnUpdate: func(_, _ *api.Pod) {
		if n++; n == b.N {
			close(done)
		}
	}})
	const objects = 1000
	pods := make([]*api.Pod, objects)
	for i := range pods {
		pods[i] = pod("ns", fmt.Sprintf("p%d", i), "1", fmt.Sprintf("n%d", i%10), nil)
	}
	inf.replace(pods, "1")
	updates := make([]*api.Pod, objects)
	for i := range updates {
		updates[i] = pod("ns", fmt.Sprintf("p%d", i), "", fmt.Sprintf("n%d", i%10), nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inf.dispatch(ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		u := updates[i%objects]
		u.ResourceVersion = fmt.Sprint(i + 2)
		inf.apply(api.Modified, copyPod(u))
	}
	<-done
}

// copyPod copies the few fields the benchmark sets, so that the benchmark measures the
// informer and not JSON.
func copyPod(p *api.Pod) *api.Pod {
	c := *p
	return &c
}

func clientListOptions() client.ListOptions { return client.ListOptions{} }
