package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/store"
)

// minWatchTimeout is Kubernetes' --min-request-timeout: a watch without timeoutSeconds
// ends after between one and two of these, so clients spread their re-watches.
const minWatchTimeout = 30 * time.Minute

// watchWriteTimeout bounds how long writing one batch of events to a watcher may take; a
// watcher that does not read is disconnected after it.
const watchWriteTimeout = time.Minute

func (s *Server) serveWatch(rq *request) error {
	r := rq.res
	q := rq.q
	if rq.name != "" {
		// A watch of one name is a watch with fieldSelector metadata.name=NAME.
		q = cloneValues(q)
		fs := "metadata.name=" + labels.EscapeFieldValue(rq.name)
		if old := q.Get("fieldSelector"); old != "" {
			fs = old + "," + fs
		}
		q.Set("fieldSelector", fs)
	}
	sel, err := parseSelectors(r, q)
	if err != nil {
		return err
	}
	rvParam := q.Get("resourceVersion")
	rv, err := decodeRV(rvParam)
	if err != nil {
		return err
	}
	timeout := time.Duration(float64(minWatchTimeout) * (1 + rand.Float64()))
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return api.BadRequest(fmt.Sprintf("invalid timeoutSeconds %q", v))
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	initialEnd := q.Get("sendInitialEvents") == "true"
	if initialEnd && (!bookmarks || q.Get("resourceVersionMatch") != "NotOlderThan") {
		return api.Invalid(api.GroupKind{Group: "meta.k8s.io", Kind: "ListOptions"}, "", api.FieldErrors{
			api.Forbidden("sendInitialEvents", "sendInitialEvents requires setting allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan")})
	}
	tbl, isTable := wantsTable(rq.req)
	if isTable {
		if err := tbl.validate(); err != nil {
			return err
		}
	}
	prefix := listPrefix(r, rq.namespace)

	var initial []*cachedObject
	var cur *cursor
	var startErr error
	switch {
	case rvParam == "":
		// The current state, read consistently from etcd, then every change after it. With
		// sendInitialEvents too: "not older than" no version is the latest state, which the
		// watch cache may not have caught up with yet.
		var rev int64
		initial, rev, err = s.listCached(rq, r, prefix)
		if err != nil {
			return err
		}
		cur, startErr = r.cache.watchFrom(rev)
	case rvParam == "0" || initialEnd:
		initial, cur, startErr = r.cache.watchSnapshot(prefix)
		if startErr == nil && initialEnd && rv > cur.fromRev {
			initial, cur = nil, nil
			var rev int64
			if initial, rev, err = s.listCached(rq, r, prefix); err != nil {
				return err
			}
			cur, startErr = r.cache.watchFrom(rev)
		}
	default:
		cur, startErr = r.cache.watchFrom(rv)
	}

	h := rq.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, private")
	ww := &watchWriter{s: s, r: r, rc: http.NewResponseController(rq.w), w: rq.w, table: tbl, isTable: isTable}
	if sink, ok := rq.w.(objectSink); ok && !isTable && sink.TakeWatchObjects(r.New()) {
		ww.sink = sink
	}
	rq.w.WriteHeader(http.StatusOK)
	if startErr != nil {
		ww.writeError(startErr)
		return nil
	}
	ww.rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
	ww.flush()

	for _, o := range initial {
		if ok, err := ww.matches(sel, o); err != nil || !ok {
			continue
		}
		if err := ww.writeEvent(api.Added, o); err != nil {
			return nil
		}
	}
	lastRV := cur.fromRev
	if initialEnd {
		if err := ww.writeBookmark(lastRV, true); err != nil {
			return nil
		}
	}
	if err := ww.flush(); err != nil {
		return nil
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var tick <-chan time.Time
	if bookmarks && s.cfg.BookmarkInterval > 0 {
		t := time.NewTicker(s.cfg.BookmarkInterval)
		defer t.Stop()
		tick = t.C
	}
	bookmarkDue := false
	var buf []*cacheEvent
	for {
		var crev int64
		var notify <-chan struct{}
		buf, crev, notify, err = cur.read(buf[:0])
		if err != nil {
			// Too slow, restarted or stopped: end the stream; the client watches again
			// from the last resourceVersion it saw.
			return nil
		}
		// A client that stops reading must not hold its handler (and Stop) forever.
		ww.rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
		wrote := false
		for _, e := range buf {
			typ, ok := ww.classify(sel, prefix, e)
			if !ok {
				continue
			}
			if ww.sink == nil && !ww.isTable && typ == e.typ {
				_, err = ww.w.Write(e.encoded())
			} else {
				err = ww.writeEvent(typ, e.obj)
			}
			if err != nil {
				return nil
			}
			wrote = true
			lastRV = max(lastRV, e.rev())
		}
		full := len(buf) == maxBatch
		clear(buf)
		if full {
			continue
		}
		if bookmarkDue {
			bookmarkDue = false
			if err := ww.writeBookmark(max(crev, lastRV), false); err != nil {
				return nil
			}
			lastRV = max(crev, lastRV)
			wrote = true
		}
		if wrote {
			if err := ww.flush(); err != nil {
				return nil
			}
		}
		select {
		case <-notify:
		case <-tick:
			bookmarkDue = true
		case <-timer.C:
			return nil
		case <-rq.ctx.Done():
			return nil
		}
	}
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// listCached lists prefix consistently from etcd, as objects a watch can send.
func (s *Server) listCached(rq *request, r *resource, prefix string) ([]*cachedObject, int64, error) {
	var out []*cachedObject
	opts := store.ListOptions{Limit: 1000}
	for {
		res, err := s.store.List(rq.ctx, prefix, opts)
		if err != nil {
			return nil, 0, storeError(r, "", err)
		}
		for _, kv := range res.Items {
			out = append(out, &cachedObject{r: r, key: kv.Key, value: kv.Value, rev: kv.Revision})
		}
		if res.Continue == "" {
			return out, res.Revision, nil
		}
		opts.Continue = res.Continue
	}
}

// objectSink is a ResponseWriter that takes a watch's events as objects instead of their
// JSON: the in-process client's, for a watcher whose Go type is the resource's. A remote
// client's ResponseWriter never is one.
type objectSink interface {
	// TakeWatchObjects is asked, before the header is written, with a new object of the
	// resource; true means every event of the stream goes to WriteWatchObject, none to Write.
	TakeWatchObjects(sample any) bool
	// WriteWatchObject sends one event: typ with obj, an object of sample's type that the
	// receiver shares and must not modify, or for api.Error a *api.Status. It blocks and
	// fails as Write does, and obeys the write deadline.
	WriteWatchObject(typ string, obj any) error
}

// watchWriter writes one watch stream.
type watchWriter struct {
	s       *Server
	r       *resource
	w       http.ResponseWriter
	rc      *http.ResponseController
	table   tableRequest
	isTable bool
	headers bool   // column definitions sent
	line    []byte // reused for JSON event lines
	// sink, if set, takes every event as the object its JSON would carry: the cached object
	// (its resourceVersion set, as appendWithRV writes it), a bookmark object, an ERROR's
	// Status.
	sink objectSink
}

func (ww *watchWriter) matches(sel selectors, o *cachedObject) (bool, error) {
	if sel.empty() {
		return true, nil
	}
	obj, err := o.object()
	if err != nil {
		ww.s.log.Error("apiserver: decode cached object", "key", o.key, "err", err)
		return false, err
	}
	return sel.matches(obj), nil
}

// classify says what event e is for a watcher of prefix with sel: an object that starts
// matching is ADDED, one that stops matching DELETED.
func (ww *watchWriter) classify(sel selectors, prefix string, e *cacheEvent) (string, bool) {
	if !strings.HasPrefix(e.obj.key, prefix) {
		return "", false
	}
	if sel.empty() {
		return e.typ, true
	}
	now, err := ww.matches(sel, e.obj)
	if err != nil {
		return "", false
	}
	switch e.typ {
	case api.Added:
		return api.Added, now
	case api.Deleted:
		return api.Deleted, now
	}
	was := false
	if e.prev != nil {
		if was, err = ww.matches(sel, e.prev); err != nil {
			return "", false
		}
	}
	switch {
	case now && was:
		return api.Modified, true
	case now:
		return api.Added, true
	case was:
		return api.Deleted, true
	}
	return "", false
}

// appendEventLine appends the JSON watch event line of typ and o to dst.
func appendEventLine(dst []byte, typ string, o *cachedObject) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","object":`...)
	dst = appendWithRV(dst, o.value, o.rev)
	return append(dst, "}\n"...)
}

func (ww *watchWriter) writeEvent(typ string, o *cachedObject) error {
	if ww.sink != nil {
		obj, err := o.object()
		if err != nil {
			// The JSON client would fail decoding the same bytes: end the stream.
			ww.s.log.Error("apiserver: decode cached object", "key", o.key, "err", err)
			ww.writeError(api.InternalError(err))
			return err
		}
		return ww.sink.WriteWatchObject(typ, obj)
	}
	if !ww.isTable {
		ww.line = appendEventLine(ww.line[:0], typ, o)
		_, err := ww.w.Write(ww.line)
		return err
	}
	obj, err := o.object()
	if err != nil {
		return err
	}
	t, err := ww.s.buildTable(ww.r, ww.table, []api.Object{obj}, ww.headers)
	if err != nil {
		return err
	}
	ww.headers = true
	t.ResourceVersion = strconv.FormatInt(o.rev, 10)
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	ev, _ := json.Marshal(api.WatchEvent{Type: typ, Object: b})
	_, err = ww.w.Write(append(ev, '\n'))
	return err
}

func (ww *watchWriter) writeBookmark(rev int64, initialEnd bool) error {
	if ww.sink != nil {
		obj := ww.r.New()
		tm, m := obj.GetTypeMeta(), obj.GetObjectMeta()
		tm.Kind, tm.APIVersion = ww.r.Kind, ww.r.GroupVersion()
		m.ResourceVersion = strconv.FormatInt(rev, 10)
		if initialEnd {
			m.Annotations = map[string]string{"k8s.io/initial-events-end": "true"}
		}
		return ww.sink.WriteWatchObject(api.Bookmark, obj)
	}
	meta := map[string]any{"resourceVersion": strconv.FormatInt(rev, 10)}
	if initialEnd {
		meta["annotations"] = map[string]string{"k8s.io/initial-events-end": "true"}
	}
	obj := map[string]any{"kind": ww.r.Kind, "apiVersion": ww.r.GroupVersion(), "metadata": meta}
	b, _ := json.Marshal(obj)
	ev, _ := json.Marshal(api.WatchEvent{Type: api.Bookmark, Object: b})
	_, err := ww.w.Write(append(ev, '\n'))
	return err
}

// writeError ends the stream with an ERROR event carrying err's Status.
func (ww *watchWriter) writeError(err error) {
	if errors.Is(err, errCacheStopped) {
		err = api.NewStatusError(http.StatusServiceUnavailable, api.ReasonServiceUnavailable, "the API server is shutting down")
	}
	if ww.sink != nil {
		st := toStatus(err).Status
		ww.sink.WriteWatchObject(api.Error, &st)
		return
	}
	st, _ := json.Marshal(toStatus(err).Status)
	ev, _ := json.Marshal(api.WatchEvent{Type: api.Error, Object: st})
	ww.w.Write(append(ev, '\n'))
	ww.flush()
}

func (ww *watchWriter) flush() error { return ww.rc.Flush() }
