package client_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

// countingHandler counts the requests its handler is serving, so tests can check that
// closing a stream returned only after its handler had.
type countingHandler struct {
	h      http.Handler
	active atomic.Int64
	served atomic.Int64
	// seen records the identity-bearing parts of the last request.
	mu   sync.Mutex
	seen *http.Request
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.active.Add(1)
	defer c.active.Add(-1)
	c.served.Add(1)
	c.mu.Lock()
	c.seen = r
	c.mu.Unlock()
	c.h.ServeHTTP(w, r)
}

// startInProcess runs a real API server and returns a TLS client and an in-process client of
// it, the latter through a countingHandler.
func startInProcess(t testing.TB, opts ...clustertest.Option) (tlsc, inproc *client.Client, h *countingHandler) {
	t.Helper()
	tlsc, a := start(t, opts...)
	h = &countingHandler{h: a.Server.Handler()}
	inproc, err := client.New(&client.Config{Server: a.URL, Handler: h, Token: a.Token, UserAgent: "inprocess-test"})
	if err != nil {
		t.Fatalf("client.New in-process: %v", err)
	}
	t.Cleanup(inproc.Close)
	return tlsc, inproc, h
}

func TestInProcessCRUD(t *testing.T) {
	_, c, h := startInProcess(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "inproc")
	pods := client.Pods(c).Namespace("inproc")

	created, err := pods.Create(ctx, newPod("web", map[string]string{"app": "web"}))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" {
		t.Fatalf("created pod lacks server fields: %+v", created.ObjectMeta)
	}
	h.mu.Lock()
	r := h.seen
	h.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/namespaces/inproc/pods" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.UserAgent() != "inprocess-test" ||
		r.ContentLength <= 0 || r.RemoteAddr == "" || r.ProtoMajor != 2 {
		t.Fatalf("handler saw %s %s UA %q CL %d remote %q proto %s", r.Method, r.URL, r.UserAgent(), r.ContentLength, r.RemoteAddr, r.Proto)
	}
	got, err := pods.Get(ctx, "web")
	if err != nil || got.UID != created.UID {
		t.Fatalf("get: %v %v", got, err)
	}
	list, err := pods.List(ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list by label (query string): %v %v", list, err)
	}
	upd := *got
	upd.Labels = map[string]string{"app": "web", "tier": "front"}
	updated, err := pods.Update(ctx, &upd)
	if err != nil || updated.Labels["tier"] != "front" {
		t.Fatalf("update: %v %v", updated, err)
	}
	patched, err := pods.Patch(ctx, "web", client.MergePatch, []byte(`{"metadata":{"labels":{"tier":"back"}}}`))
	if err != nil || patched.Labels["tier"] != "back" {
		t.Fatalf("patch: %v %v", patched, err)
	}
	if err := pods.Delete(ctx, "web", nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := pods.Get(ctx, "web"); !api.IsNotFound(err) {
		t.Fatalf("get after delete: err = %v, want NotFound", err)
	}
	if n := h.active.Load(); n != 0 {
		t.Fatalf("%d handlers still running after their answers were read", n)
	}
}

// TestInProcessStatusErrors checks that error answers decode to the same Status in memory as
// over TLS.
func TestInProcessStatusErrors(t *testing.T) {
	tlsc, inproc, _ := startInProcess(t)
	ctx := ctxFor(t)
	ensureNamespace(t, tlsc, "errs")
	if _, err := client.Pods(tlsc).Namespace("errs").Create(ctx, newPod("taken", nil)); err != nil {
		t.Fatal(err)
	}
	stale, err := client.Pods(tlsc).Namespace("errs").Get(ctx, "taken")
	if err != nil {
		t.Fatal(err)
	}
	stale.ResourceVersion = "1"
	tests := []struct {
		name string
		code int
		do   func(c *client.Client) error
	}{
		{"not found", 404, func(c *client.Client) error {
			_, err := client.Pods(c).Namespace("errs").Get(ctx, "missing")
			return err
		}},
		{"already exists", 409, func(c *client.Client) error {
			_, err := client.Pods(c).Namespace("errs").Create(ctx, newPod("taken", nil))
			return err
		}},
		{"conflict", 409, func(c *client.Client) error {
			_, err := client.Pods(c).Namespace("errs").Update(ctx, stale)
			return err
		}},
		{"invalid", 422, func(c *client.Client) error {
			_, err := client.Pods(c).Namespace("errs").Create(ctx, newPod("Not_A_Name", nil))
			return err
		}},
		{"no such path", 404, func(c *client.Client) error {
			_, err := c.Do(ctx, client.Request{Path: "/api/v1/nothing-here"})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var overTLS, inMemory *api.StatusError
			if !errors.As(tc.do(tlsc), &overTLS) || !errors.As(tc.do(inproc), &inMemory) {
				t.Fatalf("want *api.StatusError from both clients")
			}
			if int(inMemory.Status.Code) != tc.code {
				t.Fatalf("code %d, want %d", inMemory.Status.Code, tc.code)
			}
			if !reflect.DeepEqual(overTLS.Status, inMemory.Status) {
				t.Fatalf("in-process Status differs:\n tls: %+v\n mem: %+v", overTLS.Status, inMemory.Status)
			}
		})
	}
	// The client's own timeout and a cancelled context end a request as over TLS.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.Pods(inproc).Namespace("errs").Get(cctx, "taken"); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with a cancelled context: err = %v, want context.Canceled", err)
	}
}

// TestInProcessLargeBody sends a request body over 1 MiB and reads an answer of about the
// same size.
func TestInProcessLargeBody(t *testing.T) {
	_, c, _ := startInProcess(t, clustertest.WithConfig(func(cfg *apiserver.Config) { cfg.MaxObjectBytes = 1536 << 10 }))
	ctx := ctxFor(t)
	ensureNamespace(t, c, "big")
	p := newPod("big", nil)
	p.Spec.Containers[0].Args = []string{strings.Repeat("x", 1100<<10)}
	created, err := client.Pods(c).Namespace("big").Create(ctx, p)
	if err != nil {
		t.Fatalf("create a pod of %d KiB: %v", 1100, err)
	}
	if got := len(created.Spec.Containers[0].Args[0]); got != 1100<<10 {
		t.Fatalf("answer carried %d bytes of args, want %d", got, 1100<<10)
	}
	// A body over the API server's limit is refused with the same Status as over TLS.
	huge := newPod("huge", nil)
	huge.Spec.Containers[0].Args = []string{strings.Repeat("y", 2<<20)}
	if _, err := client.Pods(c).Namespace("big").Create(ctx, huge); api.CodeOf(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("create a 2 MiB pod: err = %v, want RequestEntityTooLarge", err)
	}
}

func TestInProcessWatch(t *testing.T) {
	_, c, h := startInProcess(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "iw")
	pods := client.Pods(c).Namespace("iw")
	w, err := pods.Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, newPod("a", nil)); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Type != api.Added || ev.Object.Name != "a" {
		t.Fatalf("first event %s %v (%v), want ADDED a", ev.Type, ev.Object, ev.Err)
	}
	if err := pods.Delete(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	for ev := next(t, w); ev.Type != api.Deleted; ev = next(t, w) {
		if ev.Type == api.Error {
			t.Fatalf("watch error: %v", ev.Err)
		}
	}
	if h.active.Load() != 1 {
		t.Fatalf("%d handlers running, want the watch's", h.active.Load())
	}
	w.Stop()
	if n := h.active.Load(); n != 0 {
		t.Fatalf("Stop returned with %d handlers still running", n)
	}
	for ev := range w.Events() {
		if ev.Err != nil {
			t.Fatalf("a stopped watch reported %v", ev.Err)
		}
	}
}

func TestInProcessWatchCancel(t *testing.T) {
	_, c, h := startInProcess(t)
	ensureNamespace(t, c, "iwc")
	ctx, cancel := context.WithCancel(context.Background())
	w, err := client.Pods(c).Namespace("iwc").Watch(ctx, client.ListOptions{})
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
	// The watcher closes the body on its way out, which waits for the handler.
	if n := h.active.Load(); n != 0 {
		t.Fatalf("cancelled watch left %d handlers running", n)
	}
}

// streamingLogs writes one line and then blocks until the request ends, as a followed log of
// a quiet module does.
type streamingLogs struct{ ended chan error }

func (s *streamingLogs) Logs(ctx context.Context, _ *api.Pod, o apiserver.LogOptions, w io.Writer) error {
	if _, err := fmt.Fprintln(w, "hello"); err != nil {
		return err
	}
	<-ctx.Done()
	s.ended <- ctx.Err()
	return ctx.Err()
}

func TestInProcessFollowLogs(t *testing.T) {
	src := &streamingLogs{ended: make(chan error, 1)}
	_, c, h := startInProcess(t, clustertest.WithConfig(func(cfg *apiserver.Config) { cfg.LogSource = src }))
	ctx := ctxFor(t)
	ensureNamespace(t, c, "logs")
	p := newPod("chatty", nil)
	p.Spec.NodeName = "n1"
	if _, err := client.Pods(c).Namespace("logs").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	body, err := c.Logs(ctx, "logs", "chatty", client.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(body).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	body.Close()
	if err := <-src.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("log source ended with %v, want context.Canceled", err)
	}
	if n := h.active.Load(); n != 0 {
		t.Fatalf("closing the log stream left %d handlers running", n)
	}
}

// TestInProcessHammer runs many clients' requests at once, including clones, for -race.
func TestInProcessHammer(t *testing.T) {
	_, c, h := startInProcess(t)
	ctx := ctxFor(t)
	ensureNamespace(t, c, "hammer")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := range workers {
		cc, err := c.Clone()
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer cc.Close()
			pods := client.Pods(cc).Namespace("hammer")
			for i := range each {
				name := fmt.Sprintf("p-%d-%d", g, i)
				if _, err := pods.Create(ctx, newPod(name, nil)); err != nil {
					errs <- err
					return
				}
				if _, err := pods.Get(ctx, name); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	list, err := client.Pods(c).Namespace("hammer").List(ctx, client.ListOptions{})
	if err != nil || len(list.Items) != workers*each {
		t.Fatalf("list: %d items, %v; want %d", len(list.Items), err, workers*each)
	}
	// Clones stayed in process: every request went through the handler.
	if n := h.served.Load(); n < 2*workers*each {
		t.Fatalf("handler served %d requests, want at least %d", n, 2*workers*each)
	}
}

// TestInProcessHandlerEdges covers what the API server does not exercise: a handler that
// panics, one that answers without writing, and a write deadline passing while the client
// does not read.
func TestInProcessHandlerEdges(t *testing.T) {
	ctx := ctxFor(t)
	deadlineErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/empty", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/stuck", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			deadlineErr <- err
			return
		}
		chunk := make([]byte, 4096)
		for {
			if _, err := w.Write(chunk); err != nil {
				deadlineErr <- err
				return
			}
		}
	})
	c, err := client.New(&client.Config{Handler: mux})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, client.Request{Path: "/panic"}); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("panicking handler: err = %v", err)
	}
	resp, err := c.Do(ctx, client.Request{Path: "/empty"})
	if err != nil || resp.StatusCode != 200 || len(resp.Body) != 0 {
		t.Fatalf("empty handler: %+v, %v", resp, err)
	}
	body, _, err := c.Stream(ctx, client.Request{Path: "/stuck"})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-deadlineErr; err == nil {
		t.Fatal("a write past its deadline succeeded")
	}
	if _, err := io.ReadAll(body); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("reading a stream cut by the deadline: err = %v, want os.ErrDeadlineExceeded", err)
	}
	body.Close()
}
