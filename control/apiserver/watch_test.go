package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

const podsPath = "/api/v1/namespaces/default/pods"

func (e *env) createPod(name string, lbl map[string]string) api.Pod {
	e.t.Helper()
	var p api.Pod
	e.must(http.StatusCreated, "POST", podsPath, pod(name, lbl)).decode(e.t, &p)
	return p
}

func (e *env) patchPod(name, mergePatch string) api.Pod {
	e.t.Helper()
	var p api.Pod
	e.must(http.StatusOK, "PATCH", podsPath+"/"+name, mergePatch, contentType("application/merge-patch+json")).decode(e.t, &p)
	return p
}

// expect checks the next events' types and names.
func (w *watch) expect(want ...string) []watchEvent {
	w.t.Helper()
	var got []watchEvent
	for _, wt := range want {
		ev := w.next(false)
		got = append(got, ev)
		if s := ev.Type + " " + ev.meta().Name; s != wt {
			w.t.Fatalf("event %d: got %s (%s), want %s", len(got), s, ev.Object, wt)
		}
	}
	return got
}

func TestWatchReplayFromRevision(t *testing.T) {
	e := start(t)
	a := e.createPod("a", nil)
	e.createPod("b", nil)
	e.patchPod("a", `{"metadata":{"labels":{"x":"1"}}}`)
	e.must(http.StatusOK, "DELETE", podsPath+"/b", nil)

	w := e.watch(podsPath + "?watch=true&resourceVersion=" + a.ResourceVersion)
	evs := w.expect("ADDED b", "MODIFIED a", "DELETED b")
	prev := int64(0)
	for _, ev := range evs {
		rv, err := strconv.ParseInt(ev.meta().ResourceVersion, 10, 64)
		if err != nil || rv <= prev {
			t.Fatalf("resourceVersions not increasing: %s after %d", ev.meta().ResourceVersion, prev)
		}
		prev = rv
	}
	e.createPod("c", nil)
	w.expect("ADDED c")
}

func TestWatchInitialState(t *testing.T) {
	for _, rv := range []string{"", "0"} {
		t.Run("resourceVersion="+rv, func(t *testing.T) {
			e := start(t)
			e.createPod("a", nil)
			e.createPod("b", nil)
			w := e.watch(podsPath + "?watch=1&resourceVersion=" + rv)
			w.expect("ADDED a", "ADDED b")
			e.patchPod("a", `{"metadata":{"labels":{"x":"1"}}}`)
			w.expect("MODIFIED a")
		})
	}
}

func TestWatchNamespaceAndName(t *testing.T) {
	e := start(t)
	e.must(http.StatusCreated, "POST", "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": "other"}})
	all := e.watch("/api/v1/pods?watch=1")
	one := e.watch(podsPath + "/b?watch=1")
	e.must(http.StatusCreated, "POST", "/api/v1/namespaces/other/pods", pod("b", nil))
	e.createPod("a", nil)
	e.createPod("b", nil)
	all.expect("ADDED b", "ADDED a", "ADDED b")
	ev := one.expect("ADDED b")[0]
	if ev.meta().Namespace != "default" {
		t.Fatalf("watch of default/b saw %s/b", ev.meta().Namespace)
	}
}

func TestWatchSelectorTransitions(t *testing.T) {
	e := start(t)
	w := e.watch(podsPath + "?watch=1&labelSelector=app%3Dweb")
	e.createPod("other", map[string]string{"app": "db"})
	e.createPod("p", map[string]string{"app": "web"})
	w.expect("ADDED p")
	e.patchPod("p", `{"metadata":{"labels":{"app":"db"}}}`)
	ev := w.expect("DELETED p")[0]
	if ev.meta().Labels["app"] != "db" {
		t.Errorf("DELETED on leaving the selector carries %v, want the new labels", ev.meta().Labels)
	}
	e.patchPod("other", `{"metadata":{"labels":{"app":"web"}}}`)
	w.expect("ADDED other")
	e.patchPod("other", `{"metadata":{"labels":{"v":"2"}}}`)
	w.expect("MODIFIED other")
	e.must(http.StatusOK, "DELETE", podsPath+"/p", nil)
	e.must(http.StatusOK, "DELETE", podsPath+"/other", nil)
	w.expect("DELETED other")

	// Field selectors: a pod that gets bound enters spec.nodeName=n1.
	fw := e.watch("/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1")
	e.createPod("q", nil)
	e.must(http.StatusCreated, "POST", podsPath+"/q/binding",
		map[string]any{"apiVersion": "v1", "kind": "Binding", "metadata": map[string]any{"name": "q"}, "target": map[string]any{"kind": "Node", "name": "n1"}})
	fw.expect("ADDED q")
}

func TestWatchTooOld(t *testing.T) {
	e := start(t, clustertest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = 4 }))
	first := e.createPod("p0", nil)
	var last api.Pod
	for i := 1; i < 10; i++ {
		last = e.createPod(fmt.Sprint("p", i), nil)
	}
	// Once a watcher sees a later event, the cache holds every earlier one.
	syncW := e.watch(podsPath + "?watch=1&resourceVersion=" + last.ResourceVersion)
	e.createPod("sync", nil)
	syncW.expect("ADDED sync")
	w := e.watch(podsPath + "?watch=1&resourceVersion=" + first.ResourceVersion)
	ev := w.next(false)
	if ev.Type != api.Error {
		t.Fatalf("got %s, want ERROR", ev.Type)
	}
	var st api.Status
	json.Unmarshal(ev.Object, &st)
	if st.Code != http.StatusGone || st.Reason != api.ReasonExpired {
		t.Fatalf("error event %+v, want 410 Expired", st)
	}
	want := "too old resource version: " + first.ResourceVersion
	if len(st.Message) < len(want) || st.Message[:len(want)] != want {
		t.Fatalf("message %q, want %q...", st.Message, want)
	}
	w.closed()
}

func TestListContinueCompacted(t *testing.T) {
	e := start(t)
	for i := range 3 {
		e.createPod(fmt.Sprint("p", i), nil)
	}
	var page api.List[api.Pod]
	e.must(http.StatusOK, "GET", podsPath+"?limit=1", nil).decode(t, &page)
	if len(page.Items) != 1 || page.Continue == "" || page.RemainingItemCount == nil || *page.RemainingItemCount != 2 {
		t.Fatalf("first page %+v", page.ListMeta)
	}
	var next api.List[api.Pod]
	e.must(http.StatusOK, "GET", podsPath+"?limit=5&continue="+page.Continue, nil).decode(t, &next)
	if len(next.Items) != 2 || next.Continue != "" || next.ResourceVersion != page.ResourceVersion {
		t.Fatalf("second page %+v with %d items", next.ListMeta, len(next.Items))
	}
	e.createPod("later", nil)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	rev, err := e.api.Store.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.Store.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	st := e.must(http.StatusGone, "GET", podsPath+"?limit=1&continue="+page.Continue, nil).status(t)
	if st.Reason != api.ReasonExpired {
		t.Fatalf("reason %s, want Expired", st.Reason)
	}
}

func TestWatchBookmarksAndTimeout(t *testing.T) {
	e := start(t, clustertest.WithConfig(func(c *apiserver.Config) { c.BookmarkInterval = 20 * time.Millisecond }))
	p := e.createPod("a", nil)
	w := e.watch(podsPath + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + p.ResourceVersion)
	ev := w.next(true)
	if ev.Type != api.Bookmark {
		t.Fatalf("got %s, want BOOKMARK", ev.Type)
	}
	rv, _ := strconv.ParseInt(ev.meta().ResourceVersion, 10, 64)
	start, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
	if rv < start {
		t.Fatalf("bookmark at %d, before the watch's start %d", rv, start)
	}
	var obj map[string]any
	json.Unmarshal(ev.Object, &obj)
	if obj["kind"] != "Pod" || obj["apiVersion"] != "v1" {
		t.Fatalf("bookmark object %s", ev.Object)
	}

	tw := e.watch(podsPath + "?watch=1&timeoutSeconds=1&resourceVersion=" + p.ResourceVersion)
	if evs := tw.closed(); len(evs) != 0 {
		t.Fatalf("timed-out watch sent %v", evs)
	}
}

func TestWatchSendInitialEvents(t *testing.T) {
	e := start(t)
	e.createPod("a", nil)
	w := e.watch(podsPath + "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
	w.expect("ADDED a")
	ev := w.next(true)
	if ev.Type != api.Bookmark || ev.meta().Annotations["k8s.io/initial-events-end"] != "true" {
		t.Fatalf("got %s %s, want the initial-events-end bookmark", ev.Type, ev.Object)
	}
}

// TestWatchFanout has 100 watchers of one resource receive the same events in the same
// order, through one etcd watch.
func TestWatchFanout(t *testing.T) {
	e := start(t)
	p := e.createPod("start", nil)
	const watchers, events = 100, 50
	ws := make([]*watch, watchers)
	for i := range ws {
		ws[i] = e.watch(podsPath + "?watch=1&resourceVersion=" + p.ResourceVersion)
	}
	for i := range events {
		e.createPod(fmt.Sprint("p", i), nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, watchers)
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range events {
				select {
				case ev, ok := <-w.events:
					if !ok {
						errs <- fmt.Errorf("watcher %d: stream ended after %d events", i, j)
						return
					}
					if got, want := ev.Type+" "+ev.meta().Name, fmt.Sprint("ADDED p", j); got != want {
						errs <- fmt.Errorf("watcher %d event %d: %s, want %s", i, j, got, want)
						return
					}
				case <-time.After(patience):
					errs <- fmt.Errorf("watcher %d: no event %d within %v", i, j, patience)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
