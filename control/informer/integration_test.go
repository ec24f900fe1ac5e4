package informer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

func startClient(t *testing.T, opts ...clustertest.Option) *client.Client {
	t.Helper()
	a := clustertest.StartAPI(t, opts...)
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func mkNamespace(t *testing.T, c *client.Client, name string) {
	t.Helper()
	if _, err := client.Namespaces(c).Create(context.Background(), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}}); err != nil && !api.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func apiPod(name string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}},
	}
}

// runInformer runs inf until the test ends.
func runInformer[T api.Object](t *testing.T, inf *Informer[T]) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := inf.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	stop = func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	syncCtx, cancelSync := context.WithTimeout(ctx, 30*time.Second)
	defer cancelSync()
	if !inf.WaitForSync(syncCtx) {
		t.Fatal("informer did not sync")
	}
	return stop
}

// expect waits for the handler's next notes and compares them.
func expect(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	got := make([]string, 0, len(want))
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case <-rec.ch:
			rec.mu.Lock()
			got = append(got, rec.log[0])
			rec.log = rec.log[1:]
			rec.mu.Unlock()
		case <-deadline:
			t.Fatalf("got %v, still waiting for %v", got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// nameRecorder notes "add NAME" style lines, without revisions (they are not predictable).
func nameHandler(rec *recorder) Handler[*api.Pod] {
	return Handler[*api.Pod]{
		OnAdd:    func(p *api.Pod) { rec.note("add " + KeyOf(p)) },
		OnUpdate: func(o, n *api.Pod) { rec.note("update " + KeyOf(n) + " " + n.Labels["v"]) },
		OnDelete: func(p *api.Pod) { rec.note("delete " + KeyOf(p)) },
	}
}

func TestInformerSyncAndEvents(t *testing.T) {
	c := startClient(t)
	ctx := context.Background()
	mkNamespace(t, c, "inf")
	mkNamespace(t, c, "elsewhere")
	pods := client.Pods(c).Namespace("inf")
	for _, n := range []string{"a", "b"} {
		if _, err := pods.Create(ctx, apiPod(n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Pods(c).Namespace("elsewhere").Create(ctx, apiPod("z")); err != nil {
		t.Fatal(err)
	}
	inf := New(pods, client.ListOptions{}, map[string]IndexFunc[*api.Pod]{NodeNameIndex: PodsByNodeName})
	rec := newRecorder()
	inf.AddHandler(nameHandler(rec))
	runInformer(t, inf)
	expect(t, rec, "add inf/a", "add inf/b") // synced means delivered
	if inf.Len() != 2 {
		t.Fatalf("cache holds %d pods, want 2 (namespace-scoped)", inf.Len())
	}

	if _, err := pods.Create(ctx, apiPod("c")); err != nil {
		t.Fatal(err)
	}
	expect(t, rec, "add inf/c")
	if _, err := pods.Patch(ctx, "a", client.MergePatch, []byte(`{"metadata":{"labels":{"v":"2"}}}`)); err != nil {
		t.Fatal(err)
	}
	expect(t, rec, "update inf/a 2")
	if err := pods.Bind(ctx, &api.Binding{ObjectMeta: api.ObjectMeta{Name: "b"}, Target: api.ObjectReference{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	expect(t, rec, "update inf/b ")
	if got := inf.ByIndex(NodeNameIndex, "n1"); len(got) != 1 || got[0].Name != "b" {
		t.Fatalf("pods on n1: %v", got)
	}
	if err := pods.Delete(ctx, "c", &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	expect(t, rec, "delete inf/c")
	if _, ok := inf.Get("inf", "c"); ok {
		t.Fatal("deleted pod still cached")
	}
	if p, ok := inf.Get("inf", "a"); !ok || p.Labels["v"] != "2" {
		t.Fatalf("cached a: %v %v", p, ok)
	}

	// A second run of the same informer is refused while the first runs.
	if err := inf.Run(ctx); err != ErrAlreadyRunning {
		t.Fatalf("second Run: %v", err)
	}
}

func TestInformerPagedList(t *testing.T) {
	c := startClient(t)
	ctx := context.Background()
	mkNamespace(t, c, "paged")
	pods := client.Pods(c).Namespace("paged")
	for i := range 5 {
		if _, err := pods.Create(ctx, apiPod(fmt.Sprintf("p%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	inf := New(pods, client.ListOptions{Limit: 2, LabelSelector: "app=web"}, nil)
	runInformer(t, inf)
	if inf.Len() != 5 {
		t.Fatalf("cache holds %d pods after a paged list, want 5", inf.Len())
	}
}

func TestInformerResumesAfterStreamEnds(t *testing.T) {
	c := startClient(t)
	ctx := context.Background()
	mkNamespace(t, c, "resume")
	pods := client.Pods(c).Namespace("resume")
	// The server ends each watch after a second; the informer must resume without losing events.
	inf := New(pods, client.ListOptions{TimeoutSeconds: 1}, nil)
	rec := newRecorder()
	inf.AddHandler(nameHandler(rec))
	runInformer(t, inf)
	for i := range 3 {
		before := inf.watches.Load()
		waitFor(t, "a new watch", func() bool { return inf.watches.Load() > before })
		name := fmt.Sprintf("p%d", i)
		if _, err := pods.Create(ctx, apiPod(name)); err != nil {
			t.Fatal(err)
		}
		expect(t, rec, "add resume/"+name)
	}
	if n := inf.relists.Load(); n != 1 {
		t.Fatalf("%d lists, want 1: a timed-out watch must resume, not relist", n)
	}
}

func TestInformerRelistsWhenGone(t *testing.T) {
	// A small watch window, so that a few writes push a revision out of it.
	c := startClient(t, clustertest.WithConfig(func(cfg *apiserver.Config) { cfg.WatchCacheSize = 32 }))
	ctx := context.Background()
	mkNamespace(t, c, "gone")
	mkNamespace(t, c, "filler")
	pods := client.Pods(c).Namespace("gone")
	for _, n := range []string{"keep", "change", "remove"} {
		if _, err := pods.Create(ctx, apiPod(n)); err != nil {
			t.Fatal(err)
		}
	}
	inf := New(pods, client.ListOptions{}, nil)
	rec := newRecorder()
	inf.AddHandler(nameHandler(rec))
	stop := runInformer(t, inf)
	expect(t, rec, "add gone/change", "add gone/keep", "add gone/remove")
	stop()

	// While the informer is stopped: change, remove and add pods, then push the revision it
	// stopped at out of the server's watch window.
	if _, err := pods.Patch(ctx, "change", client.MergePatch, []byte(`{"metadata":{"labels":{"v":"2"}}}`)); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "remove", &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, apiPod("new")); err != nil {
		t.Fatal(err)
	}
	expireRevision(t, c, inf.LastResourceVersion())

	runInformer(t, inf)
	expect(t, rec, "delete gone/remove", "update gone/change 2", "add gone/new")
	if n := inf.relists.Load(); n != 2 {
		t.Fatalf("%d lists, want 2", n)
	}
	if got := inf.Len(); got != 3 {
		t.Fatalf("cache holds %d pods, want 3", got)
	}
}

// expireRevision writes pods in another namespace until a watch from rv is refused with 410.
func expireRevision(t *testing.T, c *client.Client, rv string) {
	t.Helper()
	ctx := context.Background()
	filler := client.Pods(c).Namespace("filler")
	const writers = 4
	for g := range writers {
		if _, err := filler.Create(ctx, apiPod(fmt.Sprintf("filler-%d", g))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ {
		w, err := client.Pods(c).Watch(ctx, client.ListOptions{ResourceVersion: rv})
		if api.IsGone(err) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// There are changes after rv, so the first event is either one of them or the 410.
		var gone bool
		select {
		case ev := <-w.Events():
			gone = api.IsGone(ev.Err)
		case <-time.After(30 * time.Second):
			t.Fatal("watch sent nothing")
		}
		w.Stop()
		if gone {
			return
		}
		if i > 100 {
			t.Fatalf("revision %s never expired", rv)
		}
		var wg sync.WaitGroup
		for g := range writers {
			wg.Go(func() {
				for k := range 16 {
					_, err := filler.Patch(ctx, fmt.Sprintf("filler-%d", g), client.MergePatch, fmt.Appendf(nil, `{"metadata":{"labels":{"n":"%d-%d-%d"}}}`, i, g, k))
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling, not a timing assertion
	}
}
