package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

// startBoth starts a real API server and returns a TLS client and an in-process client of it.
func startBoth(t testing.TB, opts ...clustertest.Option) (tlsc, inproc *Client) {
	t.Helper()
	a := clustertest.StartAPI(t, opts...)
	tlsc, err := New(&Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tlsc.Close)
	inproc, err = New(&Config{Server: a.URL, Handler: a.Server.Handler(), Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inproc.Close)
	return tlsc, inproc
}

// eventJSON is what a test compares of an event: its type, its object's JSON and its error.
func eventJSON(t *testing.T, ev Event[*api.Pod]) string {
	t.Helper()
	v := struct {
		Type   string
		Object *api.Pod    `json:",omitempty"`
		Status *api.Status `json:",omitempty"`
		Err    string      `json:",omitempty"`
	}{Type: ev.Type, Object: ev.Object}
	if ev.Err != nil {
		v.Err = ev.Err.Error()
		if se, ok := ev.Err.(*api.StatusError); ok {
			v.Status = &se.Status
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// collect reads events from w until stop holds for one (included) or the stream ends.
func collect(t *testing.T, w *Watcher[*api.Pod], stop func(Event[*api.Pod]) bool) []Event[*api.Pod] {
	t.Helper()
	var out []Event[*api.Pod]
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return out
			}
			out = append(out, ev)
			if stop(ev) {
				return out
			}
		case <-timeout:
			t.Fatalf("no stop event after %d events", len(out))
		}
	}
}

// TestInProcessWatchObjectsMatchJSON holds the watch events an in-process Watcher takes as
// the watch cache's objects against the JSON a TLS client decodes, event by event.
func TestInProcessWatchObjectsMatchJSON(t *testing.T) {
	// A small ring, so that a few writes make a watch from resourceVersion 1 too old.
	tlsc, inproc := startBoth(t, clustertest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = 8 }))
	ctx := ctxForInternal(t)
	if _, err := Namespaces(inproc).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "eq"}}); err != nil {
		t.Fatal(err)
	}
	pods := Pods(inproc).Namespace("eq")
	newPod := func(name, app string) *api.Pod {
		return &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}
	}
	for _, p := range []*api.Pod{newPod("a", "x"), newPod("b", "y"), newPod("c", "x"), newPod("skip", "x")} {
		if _, err := pods.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	opts := ListOptions{LabelSelector: "app=x", FieldSelector: "metadata.name!=skip",
		AllowWatchBookmarks: true, ResourceVersionMatch: "NotOlderThan"}
	q := opts.query(true)
	q.Set("sendInitialEvents", "true")
	req := Request{Path: pods.collection("eq"), Query: q}
	open := func(c *Client) *Watcher[*api.Pod] {
		t.Helper()
		r := Pods(c).Namespace("eq")
		w, err := startStreamWatch(ctx, c, req, "pods", r.decodeFrom)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		return w
	}
	viaTLS, viaObjects, viaObjects2 := open(tlsc), open(inproc), open(inproc)
	initialEnd := func(ev Event[*api.Pod]) bool {
		return ev.Type == api.Bookmark && ev.Object.Annotations["k8s.io/initial-events-end"] == "true"
	}
	var got [3][]Event[*api.Pod]
	for i, w := range []*Watcher[*api.Pod]{viaTLS, viaObjects, viaObjects2} {
		got[i] = collect(t, w, initialEnd)
	}

	a, err := pods.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	a.Labels["app"] = "y" // leaves the selection: DELETED
	if _, err := pods.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	c, err := pods.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	c.Annotations = map[string]string{"touched": "yes"} // MODIFIED
	if _, err := pods.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, newPod("d", "x")); err != nil { // ADDED
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "skip", nil); err != nil { // filtered out by the field selector
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "d", nil); err != nil { // DELETED
		t.Fatal(err)
	}
	deletedD := func(ev Event[*api.Pod]) bool { return ev.Type == api.Deleted && ev.Object.Name == "d" }
	for i, w := range []*Watcher[*api.Pod]{viaTLS, viaObjects, viaObjects2} {
		got[i] = append(got[i], collect(t, w, deletedD)...)
	}

	// A watch from a revision the cache no longer holds: 410 Expired.
	var before, last string
	for i := range 10 {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"n":"%d"}}}`, i)
		b, err := pods.Patch(ctx, "b", MergePatch, []byte(patch))
		if err != nil {
			t.Fatal(err)
		}
		before, last = last, b.ResourceVersion
	}
	// Both 410s must name the same oldest revision: wait until the cache has the last patch.
	caughtUp, err := pods.Watch(ctx, ListOptions{ResourceVersion: before})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, caughtUp, func(ev Event[*api.Pod]) bool { return ev.Object != nil && ev.Object.ResourceVersion == last })
	caughtUp.Stop()
	gone := Request{Path: pods.collection("eq"), Query: ListOptions{ResourceVersion: "1"}.query(true)}
	for i, c := range []*Client{tlsc, inproc} {
		w, err := startStreamWatch(ctx, c, gone, "pods", Pods(c).decodeFrom)
		if err != nil {
			t.Fatal(err)
		}
		evs := collect(t, w, func(Event[*api.Pod]) bool { return false })
		w.Stop()
		if len(evs) != 1 || !api.IsGone(evs[0].Err) {
			t.Fatalf("client %d: watch from resourceVersion 1: %d events, first %v, want one 410 ERROR", i, len(evs), evs)
		}
		got[i] = append(got[i], evs...)
	}
	got[2] = append(got[2], got[1][len(got[1])-1])

	wantTypes := []string{api.Added, api.Added, api.Bookmark, api.Deleted, api.Modified, api.Added, api.Deleted, api.Error}
	for i := range got {
		if len(got[i]) != len(wantTypes) {
			t.Fatalf("watch %d: %d events, want %d: %v", i, len(got[i]), len(wantTypes), got[i])
		}
		for j, ev := range got[i] {
			if ev.Type != wantTypes[j] {
				t.Errorf("watch %d event %d: type %s, want %s", i, j, ev.Type, wantTypes[j])
			}
			if g, w := eventJSON(t, ev), eventJSON(t, got[0][j]); g != w {
				t.Errorf("watch %d event %d differs from the TLS client's:\n got %s\nwant %s", i, j, g, w)
			}
		}
	}
	// The in-process watchers took the cache's objects, shared, not decoded copies (the
	// initial events come from a consistent read of etcd, new for each watch).
	for j, ev := range got[1] {
		if j > 2 && ev.Type != api.Error && ev.Object != got[2][j].Object {
			t.Errorf("event %d (%s): the in-process watchers got distinct objects, want the cache's shared one", j, ev.Type)
		}
	}
}

// TestInProcessWatchSharedHammer runs in-process watchers reading every object they are
// handed while the API server updates, lists and reads the same cached objects, under -race:
// a write to a shared object by either side is a race.
func TestInProcessWatchSharedHammer(t *testing.T) {
	_, inproc := startBoth(t)
	ctx := ctxForInternal(t)
	if _, err := Namespaces(inproc).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "hh"}}); err != nil {
		t.Fatal(err)
	}
	pods := Pods(inproc).Namespace("hh")
	const nPods, nWriters, nWatchers, rounds = 8, 4, 4, 25
	for i := range nPods {
		p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"n": "0"}},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}}}
		if _, err := pods.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	wctx, stopWatchers := context.WithCancel(ctx)
	var watchers, writers sync.WaitGroup
	for range nWatchers {
		w, err := pods.Watch(wctx, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		watchers.Go(func() {
			defer w.Stop()
			for ev := range w.Events() {
				if ev.Err != nil {
					if wctx.Err() == nil {
						t.Errorf("watch: %v", ev.Err)
					}
					return
				}
				if _, err := json.Marshal(ev.Object); err != nil { // reads every field
					t.Errorf("marshal %s: %v", ev.Object.Name, err)
				}
				_ = len(ev.Object.Labels["n"]) + len(ev.Object.Spec.Containers)
			}
		})
	}
	for i := range nWriters {
		writers.Go(func() {
			for r := range rounds {
				name := fmt.Sprintf("p%d", (i+r)%nPods)
				p, err := pods.Get(ctx, name)
				if err == nil {
					p.Labels["n"] = fmt.Sprint(r)
					_, err = pods.Update(ctx, p)
				}
				if err != nil && !api.IsConflict(err) {
					t.Errorf("update %s: %v", name, err)
					return
				}
				patch := fmt.Sprintf(`{"metadata":{"annotations":{"w%d":"%d"}}}`, i, r)
				if _, err := pods.Patch(ctx, name, MergePatch, []byte(patch)); err != nil {
					t.Errorf("patch %s: %v", name, err)
					return
				}
				if _, err := pods.List(ctx, ListOptions{LabelSelector: "n!=x", ResourceVersion: "0"}); err != nil {
					t.Errorf("list: %v", err)
					return
				}
			}
		})
	}
	writers.Wait()
	stopWatchers()
	watchers.Wait()
}

func ctxForInternal(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestInProcessObjectSink holds the transport's side of object watches: only a Watcher of the
// sample's type takes objects, only before the header, and bytes after that are an error.
func TestInProcessObjectSink(t *testing.T) {
	type sink interface {
		TakeWatchObjects(sample any) bool
		WriteWatchObject(typ string, obj any) error
	}
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "a", ResourceVersion: "7"}}
	took := map[string]bool{}
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := w.(sink)
		if !ok {
			t.Error("the in-process ResponseWriter is no object sink")
			return
		}
		var sample any = &api.Pod{}
		if r.URL.Query().Get("kind") == "node" {
			sample = &api.Node{}
		}
		got := s.TakeWatchObjects(sample)
		mu.Lock()
		took[r.URL.Path] = got
		mu.Unlock()
		if !got {
			w.Write([]byte(`{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"7"}}}` + "\n"))
			return
		}
		w.WriteHeader(http.StatusOK)
		if !s.TakeWatchObjects(sample) {
			t.Error("TakeWatchObjects changed its answer after the header")
		}
		s.WriteWatchObject(api.Added, pod)
		s.WriteWatchObject(api.Error, &api.Status{Code: 410, Reason: api.ReasonExpired, Message: "too old"})
		if _, err := w.Write([]byte("{}")); err == nil {
			t.Error("Write on a stream of objects succeeded")
		}
	})
	c, err := New(&Config{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxForInternal(t)
	pods := Pods(c)
	for _, tc := range []struct {
		name, path, kind string
		shared           bool
		want             bool
	}{
		{"same type", "/objects", "", true, true},
		{"other type", "/other", "node", true, false},
		{"json watcher", "/json", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"kind": {tc.kind}}
			w, err := openWatch(ctx, c, Request{Path: tc.path, Query: q}, "pods", pods.decodeFrom, tc.shared)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			evs := collect(t, w, func(Event[*api.Pod]) bool { return false })
			mu.Lock()
			got := took[tc.path]
			mu.Unlock()
			if got != tc.want {
				t.Fatalf("TakeWatchObjects = %v, want %v", got, tc.want)
			}
			if len(evs) == 0 || evs[0].Type != api.Added || evs[0].Object.Name != "a" {
				t.Fatalf("events %v, want ADDED a first", evs)
			}
			if tc.want {
				if evs[0].Object != pod {
					t.Error("the Watcher got a copy, not the handler's object")
				}
				if len(evs) != 3 || !api.IsGone(evs[1].Err) || evs[2].Type != api.Error {
					t.Fatalf("events %v, want ADDED, 410 ERROR, and the broken stream's error", evs)
				}
			}
		})
	}
}
