package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/store"
)

// selectors are a request's label and field selectors.
type selectors struct {
	label labels.Selector
	field labels.FieldSelector
}

func (s selectors) empty() bool { return s.label.Empty() && s.field.Empty() }

func (s selectors) matches(obj api.Object) bool {
	if s.empty() {
		return true
	}
	if !s.label.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
		return false
	}
	return s.field.Empty() || s.field.Matches(api.FieldSet(obj))
}

// parseSelectors reads labelSelector and fieldSelector, refusing fields r cannot be
// selected on (400 "field label not supported").
func parseSelectors(r *resource, q url.Values) (selectors, error) {
	var sel selectors
	var err error
	if sel.label, err = labels.Parse(q.Get("labelSelector")); err != nil {
		return sel, api.BadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	if sel.field, err = labels.ParseFieldSelector(q.Get("fieldSelector")); err != nil {
		return sel, api.BadRequest(err.Error())
	}
	if !sel.field.Empty() {
		supported := api.FieldSet(r.New())
		if r.Namespaced {
			supported["metadata.namespace"] = ""
		}
		for _, req := range sel.field.Requirements() {
			if _, ok := supported[req.Field]; !ok {
				return sel, api.BadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
	}
	return sel, nil
}

// listPrefix is the store prefix of r's objects in namespace ns ("" for all).
func listPrefix(r *resource, ns string) string {
	if !r.Namespaced {
		ns = ""
	}
	return store.Prefix(r.Resource, ns)
}

func (s *Server) serveGet(rq *request) error {
	r := rq.res
	rv, err := decodeRV(rq.q.Get("resourceVersion"))
	if err != nil {
		return err
	}
	var value []byte
	var rev int64
	k := key(r, rq.namespace, rq.name)
	if rv > 0 || rq.q.Get("resourceVersion") == "0" {
		// Any resourceVersion may be served from the watch cache when it is at least as new.
		if o := r.cache.get(k); o != nil && o.rev >= rv {
			value, rev = o.value, o.rev
		}
	}
	if value == nil {
		kv, err := s.store.Get(rq.ctx, k)
		if err != nil {
			return storeError(r, rq.name, err)
		}
		value, rev = kv.Value, kv.Revision
	}
	if t, ok := wantsTable(rq.req); ok {
		obj, err := decodeStored(r, value, rev)
		if err != nil {
			return api.InternalError(err)
		}
		return s.writeTable(rq, t, []api.Object{obj}, api.ListMeta{ResourceVersion: strconv.FormatInt(rev, 10)})
	}
	writeBody(rq.w, http.StatusOK, withRV(value, rev))
	return nil
}

// listItem is one object of a list: its stored bytes, revision and, when decoded, the
// object.
type listItem struct {
	value []byte
	rev   int64
	obj   api.Object
}

func (s *Server) serveList(rq *request) error {
	r := rq.res
	q := rq.q
	sel, err := parseSelectors(r, q)
	if err != nil {
		return err
	}
	rvParam := q.Get("resourceVersion")
	rv, err := decodeRV(rvParam)
	if err != nil {
		return err
	}
	limit, err := strconv.ParseInt(orDefault(q.Get("limit"), "0"), 10, 64)
	if err != nil || limit < 0 {
		return api.BadRequest(fmt.Sprintf("invalid limit %q", q.Get("limit")))
	}
	cont := q.Get("continue")
	match := q.Get("resourceVersionMatch")
	switch match {
	case "", "NotOlderThan", "Exact":
	default:
		return api.BadRequest(fmt.Sprintf("invalid resourceVersionMatch %q: want NotOlderThan or Exact", match))
	}
	if match != "" && rvParam == "" {
		return api.BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	}
	if cont != "" && rvParam != "" && rvParam != "0" {
		return api.BadRequest("specifying resource version is not allowed when using continue")
	}
	needObjects := !sel.empty()
	_, table := wantsTable(rq.req)
	needObjects = needObjects || table

	var items []listItem
	meta := api.ListMeta{}
	fromCache := false
	if cont == "" && match != "Exact" && (rvParam == "0" || (rv > 0 && limit == 0)) {
		// Served from the watch cache, as Kubernetes does for resourceVersion "0" and
		// NotOlderThan reads, when the cache is new enough; else from etcd.
		snap, crev, ok := r.cache.snapshot(listPrefix(r, rq.namespace), rv)
		if ok {
			fromCache = true
			for _, o := range snap {
				it := listItem{value: o.value, rev: o.rev}
				if needObjects {
					if it.obj, err = o.object(); err != nil {
						return api.InternalError(err)
					}
					if !sel.matches(it.obj) {
						continue
					}
				}
				items = append(items, it)
			}
			meta.ResourceVersion = strconv.FormatInt(crev, 10)
		}
	}
	if !fromCache {
		opts := store.ListOptions{Continue: cont}
		if match == "Exact" || cont != "" {
			opts.Revision = rv
		}
		// Selectors filter after the store's limit, so a page may come back short; the
		// continue token still leads on, as in Kubernetes.
		if limit > 0 {
			opts.Limit = limit
		}
		for {
			res, err := s.store.List(rq.ctx, listPrefix(r, rq.namespace), opts)
			if errors.Is(err, store.ErrCompacted) && cont == "" {
				return api.Gone(fmt.Sprintf("The resourceVersion for the provided list is too old: %d has been compacted.", rv))
			}
			if err != nil {
				return storeError(r, "", err)
			}
			for _, kv := range res.Items {
				it := listItem{value: kv.Value, rev: kv.Revision}
				if needObjects {
					if it.obj, err = decodeStored(r, kv.Value, kv.Revision); err != nil {
						return api.InternalError(err)
					}
					if !sel.matches(it.obj) {
						continue
					}
				}
				items = append(items, it)
			}
			meta.ResourceVersion = strconv.FormatInt(res.Revision, 10)
			meta.Continue = res.Continue
			if res.Continue != "" && sel.empty() {
				n := res.RemainingItemCount
				meta.RemainingItemCount = &n
			}
			// A selective list fills its page from the following ones, as Kubernetes does.
			if res.Continue == "" || limit == 0 || int64(len(items)) >= limit {
				break
			}
			opts.Continue, opts.Revision, opts.Limit = res.Continue, 0, limit-int64(len(items))
		}
	}
	if t, ok := wantsTable(rq.req); ok {
		objs := make([]api.Object, len(items))
		for i, it := range items {
			objs[i] = it.obj
		}
		return s.writeTable(rq, t, objs, meta)
	}
	writeBody(rq.w, http.StatusOK, encodeList(r, meta, items))
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// encodeList writes a list by splicing stored items, without decoding them.
func encodeList(r *resource, meta api.ListMeta, items []listItem) []byte {
	size := 128
	for _, it := range items {
		size += len(it.value) + 32
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`{"kind":"`)
	b.WriteString(r.Kind)
	b.WriteString(`List","apiVersion":"`)
	b.WriteString(r.GroupVersion())
	b.WriteString(`","metadata":`)
	mb, _ := jsonMarshal(meta)
	b.Write(mb)
	b.WriteString(`,"items":[`)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(withRV(it.value, it.rev))
	}
	b.WriteString("]}")
	return b.Bytes()
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
