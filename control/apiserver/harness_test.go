package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

// patience bounds every wait, so a bug fails a test instead of hanging it; no test asserts
// on how long anything takes.
const patience = 30 * time.Second

// env is a running API server and a plain HTTPS client of it.
type env struct {
	t      testing.TB
	api    *clustertest.API
	client *http.Client
}

func start(t testing.TB, opts ...clustertest.Option) *env {
	t.Helper()
	a := clustertest.StartAPI(t, opts...)
	c := a.HTTPClient()
	t.Cleanup(c.CloseIdleConnections)
	return &env{t: t, api: a, client: c}
}

// response is a finished request.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) status(t testing.TB) api.Status {
	t.Helper()
	var st api.Status
	if err := json.Unmarshal(r.body, &st); err != nil || st.Kind != "Status" {
		t.Fatalf("want a Status, got %d %s (%v)", r.code, r.body, err)
	}
	return st
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// reqOpt changes a request.
type reqOpt func(*http.Request)

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func contentType(v string) reqOpt { return header("Content-Type", v) }

func noToken() reqOpt { return func(r *http.Request) { r.Header.Del("Authorization") } }

func (e *env) do(method, path string, body any, opts ...reqOpt) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.api.URL+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+e.api.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "apiserver-test/v1.0")
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// must does a request and fails the test unless it answers code.
func (e *env) must(code int, method, path string, body any, opts ...reqOpt) response {
	e.t.Helper()
	r := e.do(method, path, body, opts...)
	if r.code != code {
		e.t.Fatalf("%s %s: got %d %s, want %d", method, path, r.code, r.body, code)
	}
	return r
}

// watch is an open watch stream.
type watch struct {
	t      testing.TB
	resp   *http.Response
	events chan watchEvent
	cancel context.CancelFunc
}

type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// meta reads the name and resourceVersion of an event's object.
func (ev watchEvent) meta() api.ObjectMeta {
	var o struct {
		Metadata api.ObjectMeta `json:"metadata"`
	}
	json.Unmarshal(ev.Object, &o)
	return o.Metadata
}

func (e *env) watch(path string, opts ...reqOpt) *watch {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.api.URL+path, nil)
	if err != nil {
		cancel()
		e.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+e.api.Token)
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		e.t.Fatalf("watch %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		e.t.Fatalf("watch %s: %d %s", path, resp.StatusCode, b)
	}
	w := &watch{t: e.t, resp: resp, events: make(chan watchEvent, 1024), cancel: cancel}
	go func() {
		defer close(w.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			var ev watchEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = watchEvent{Type: "UNDECODABLE", Object: append([]byte(nil), sc.Bytes()...)}
			}
			w.events <- ev
		}
	}()
	e.t.Cleanup(w.stop)
	return w
}

func (w *watch) stop() {
	w.cancel()
	w.resp.Body.Close()
	for range w.events {
	}
}

// next returns the next event, skipping bookmarks unless wanted.
func (w *watch) next(bookmarks bool) watchEvent {
	w.t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case ev, ok := <-w.events:
			if !ok {
				w.t.Fatalf("watch stream ended, want an event")
			}
			if ev.Type == api.Bookmark && !bookmarks {
				continue
			}
			return ev
		case <-timeout:
			w.t.Fatalf("no watch event within %v", patience)
		}
	}
}

// closed waits for the stream to end and returns the events before the end.
func (w *watch) closed() []watchEvent {
	w.t.Helper()
	var evs []watchEvent
	timeout := time.After(patience)
	for {
		select {
		case ev, ok := <-w.events:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-timeout:
			w.t.Fatalf("watch stream still open after %v", patience)
		}
	}
}

func pod(name string, lbl map[string]string) map[string]any {
	l := map[string]any{}
	for k, v := range lbl {
		l[k] = v
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "labels": l},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "hello:1"}}},
	}
}

func deployment(name string, replicas int) map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "hello:1"}}},
			},
		},
	}
}
