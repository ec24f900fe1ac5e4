package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/wasmkube/wasmkube/control/api"
)

// ListOptions are the query parameters of list, watch and delete-collection, as in Kubernetes.
type ListOptions struct {
	LabelSelector        string
	FieldSelector        string
	ResourceVersion      string
	ResourceVersionMatch string
	Continue             string
	Limit                int64
	TimeoutSeconds       int64
	AllowWatchBookmarks  bool
}

// query encodes the options; watch adds watch=true.
func (o ListOptions) query(watch bool) url.Values {
	q := url.Values{}
	if o.LabelSelector != "" {
		q.Set("labelSelector", o.LabelSelector)
	}
	if o.FieldSelector != "" {
		q.Set("fieldSelector", o.FieldSelector)
	}
	if o.ResourceVersion != "" {
		q.Set("resourceVersion", o.ResourceVersion)
	}
	if o.ResourceVersionMatch != "" {
		q.Set("resourceVersionMatch", o.ResourceVersionMatch)
	}
	if o.Continue != "" {
		q.Set("continue", o.Continue)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.FormatInt(o.Limit, 10))
	}
	if o.TimeoutSeconds > 0 {
		q.Set("timeoutSeconds", strconv.FormatInt(o.TimeoutSeconds, 10))
	}
	if watch {
		q.Set("watch", "true")
		if o.AllowWatchBookmarks {
			q.Set("allowWatchBookmarks", "true")
		}
	}
	return q
}

// PatchType is the media type of a patch body.
type PatchType string

// The patch types the API server accepts.
const (
	MergePatch          PatchType = "application/merge-patch+json"
	JSONPatch           PatchType = "application/json-patch+json"
	StrategicMergePatch PatchType = "application/strategic-merge-patch+json"
	ApplyPatch          PatchType = "application/apply-patch+yaml"
)

// endpoint locates a resource, optionally in one namespace; it builds request paths.
type endpoint struct {
	info api.ResourceInfo
	ns   string
}

// prefix is /api/v1 or /apis/{group}/{version}.
func (e *endpoint) prefix() string {
	if e.info.Group == "" {
		return "/api/" + e.info.Version
	}
	return "/apis/" + e.info.Group + "/" + e.info.Version
}

// collection is the path of the resource's collection in ns ("" = all namespaces).
func (e *endpoint) collection(ns string) string {
	if e.info.Namespaced && ns != "" {
		return e.prefix() + "/namespaces/" + ns + "/" + e.info.Resource
	}
	return e.prefix() + "/" + e.info.Resource
}

// item is the path of one object, or of one of its subresources.
func (e *endpoint) item(ns, name string, sub ...string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%s: an object name is required", e.info.Resource)
	}
	if e.info.Namespaced && ns == "" {
		return "", fmt.Errorf("%s %q: %w", e.info.Resource, name, ErrNamespaceRequired)
	}
	p := e.collection(ns) + "/" + name
	for _, s := range sub {
		if s != "" {
			p += "/" + s
		}
	}
	return p, nil
}

// nsFor picks the namespace of a write: the endpoint's, else the object's.
func (e *endpoint) nsFor(objNS string) string {
	if !e.info.Namespaced {
		return ""
	}
	if e.ns != "" {
		return e.ns
	}
	return objNS
}

func (e *endpoint) typeMeta() api.TypeMeta {
	return api.TypeMeta{Kind: e.info.Kind, APIVersion: e.info.GroupVersion()}
}

// Resource is typed access to one resource (pods, deployments, ...) through a Client. T is the
// pointer type of its objects (*api.Pod). A Resource is immutable and safe for concurrent use;
// Namespace returns a copy bound to a namespace.
type Resource[T api.Object] struct {
	c *Client
	endpoint
}

// For returns typed access to the resource with the given plural name ("pods"), looked up in
// api.Resources(). It panics if the name is unknown or T is not the resource's object type:
// both are programming errors, like a bad regexp.MustCompile.
func For[T api.Object](c *Client, resource string) *Resource[T] {
	for _, ri := range api.Resources() {
		if ri.Resource != resource {
			continue
		}
		if _, ok := ri.New().(T); !ok {
			panic(fmt.Sprintf("client.For: resource %q holds %T, not %T", resource, ri.New(), *new(T)))
		}
		return &Resource[T]{c: c, endpoint: endpoint{info: ri}}
	}
	panic(fmt.Sprintf("client.For: unknown resource %q", resource))
}

// Namespace returns a copy of r bound to namespace ns; "" means all namespaces for List, Watch
// and DeleteCollection, and the object's own namespace for Create, Update and UpdateStatus.
// It is ignored by cluster-scoped resources.
func (r *Resource[T]) Namespace(ns string) *Resource[T] {
	cp := *r
	cp.ns = ns
	return &cp
}

// Info describes the resource.
func (r *Resource[T]) Info() api.ResourceInfo { return r.info }

// Client returns the client r uses.
func (r *Resource[T]) Client() *Client { return r.c }

// NamespaceName returns the namespace r is bound to ("" for none).
func (r *Resource[T]) NamespaceName() string { return r.ns }

func (r *Resource[T]) newObject() T { return r.info.New().(T) }

// decode decodes an answer with encoding/json's semantics (api.Unmarshal: the same result, in
// half the time), as the answer of a Kubernetes server may carry fields this client lacks.
func (r *Resource[T]) decode(verb string, data []byte) (T, error) {
	obj := r.newObject()
	if err := api.Unmarshal(data, obj); err != nil {
		var zero T
		return zero, fmt.Errorf("%s %s: decode answer: %w", verb, r.info.Resource, err)
	}
	return obj, nil
}

// Get reads one object. A missing object is an *api.StatusError for which api.IsNotFound holds.
func (r *Resource[T]) Get(ctx context.Context, name string) (T, error) {
	var zero T
	p, err := r.item(r.ns, name)
	if err != nil {
		return zero, fmt.Errorf("get %w", err)
	}
	resp, err := r.c.Do(ctx, Request{Path: p})
	if err != nil {
		return zero, fmt.Errorf("get %s %s: %w", r.info.Resource, name, err)
	}
	return r.decode("get", resp.Body)
}

// List reads the objects matching opts; with opts.Limit it returns one page and its Continue.
func (r *Resource[T]) List(ctx context.Context, opts ListOptions) (*api.List[T], error) {
	resp, err := r.c.Do(ctx, Request{Path: r.collection(r.ns), Query: opts.query(false)})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.info.Resource, err)
	}
	list := &api.List[T]{}
	if reflect.TypeFor[T]().Kind() != reflect.Interface {
		if err := api.Unmarshal(resp.Body, list); err != nil {
			return nil, fmt.Errorf("list %s: decode answer: %w", r.info.Resource, err)
		}
		return list, nil
	}
	// T is an interface (For[api.Object]): decode each item into the resource's own type.
	var raw api.List[json.RawMessage]
	if err := api.Unmarshal(resp.Body, &raw); err != nil {
		return nil, fmt.Errorf("list %s: decode answer: %w", r.info.Resource, err)
	}
	list.TypeMeta, list.ListMeta = raw.TypeMeta, raw.ListMeta
	list.Items = make([]T, len(raw.Items))
	for i, item := range raw.Items {
		if list.Items[i], err = r.decode("list", item); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// Create creates obj in r's namespace (or obj's, when r has none) and returns it as stored. obj
// is not modified; a missing kind and apiVersion are filled in on the wire.
func (r *Resource[T]) Create(ctx context.Context, obj T) (T, error) {
	var zero T
	m := obj.GetObjectMeta()
	body, err := encodeObject(obj, r.typeMeta())
	if err != nil {
		return zero, fmt.Errorf("create %s %s: %w", r.info.Resource, m.Name, err)
	}
	ns := r.nsFor(m.Namespace)
	if r.info.Namespaced && ns == "" {
		return zero, fmt.Errorf("create %s %s: %w", r.info.Resource, m.Name, ErrNamespaceRequired)
	}
	resp, err := r.c.Do(ctx, Request{Method: http.MethodPost, Path: r.collection(ns), Body: body})
	if err != nil {
		return zero, fmt.Errorf("create %s %s: %w", r.info.Resource, nameOrGenerate(m), err)
	}
	return r.decode("create", resp.Body)
}

// Update replaces obj (PUT). obj's resourceVersion, if set, must be current or the answer is a
// 409 Conflict (api.IsConflict).
func (r *Resource[T]) Update(ctx context.Context, obj T) (T, error) { return r.put(ctx, obj, "") }

// UpdateStatus replaces obj's status through the status subresource.
func (r *Resource[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return r.put(ctx, obj, "status")
}

func (r *Resource[T]) put(ctx context.Context, obj T, sub string) (T, error) {
	var zero T
	verb := "update"
	if sub != "" {
		verb = "update " + sub + " of"
	}
	m := obj.GetObjectMeta()
	p, err := r.item(r.nsFor(m.Namespace), m.Name, sub)
	if err != nil {
		return zero, fmt.Errorf("%s %w", verb, err)
	}
	body, err := encodeObject(obj, r.typeMeta())
	if err != nil {
		return zero, fmt.Errorf("%s %s %s: %w", verb, r.info.Resource, m.Name, err)
	}
	resp, err := r.c.Do(ctx, Request{Method: http.MethodPut, Path: p, Body: body})
	if err != nil {
		return zero, fmt.Errorf("%s %s %s: %w", verb, r.info.Resource, m.Name, err)
	}
	return r.decode(verb, resp.Body)
}

// Delete deletes one object; opts may be nil.
func (r *Resource[T]) Delete(ctx context.Context, name string, opts *api.DeleteOptions) error {
	p, err := r.item(r.ns, name)
	if err != nil {
		return fmt.Errorf("delete %w", err)
	}
	body, err := deleteBody(opts)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", r.info.Resource, name, err)
	}
	if _, err := r.c.Do(ctx, Request{Method: http.MethodDelete, Path: p, Body: body}); err != nil {
		return fmt.Errorf("delete %s %s: %w", r.info.Resource, name, err)
	}
	return nil
}

// DeleteCollection deletes every object matching list in r's namespace (all namespaces if none).
func (r *Resource[T]) DeleteCollection(ctx context.Context, list ListOptions, opts *api.DeleteOptions) error {
	body, err := deleteBody(opts)
	if err != nil {
		return fmt.Errorf("delete collection of %s: %w", r.info.Resource, err)
	}
	_, err = r.c.Do(ctx, Request{Method: http.MethodDelete, Path: r.collection(r.ns), Query: list.query(false), Body: body})
	if err != nil {
		return fmt.Errorf("delete collection of %s: %w", r.info.Resource, err)
	}
	return nil
}

// Patch patches one object, or its subresource when sub names one ("status", "scale"), with a
// patch of type pt, and returns the object as stored. For server-side apply use Apply.
func (r *Resource[T]) Patch(ctx context.Context, name string, pt PatchType, data []byte, sub ...string) (T, error) {
	return r.patch(ctx, name, pt, data, nil, sub...)
}

// Apply is server-side apply: data is the caller's intent as JSON or YAML, fieldManager names the
// caller (required by the server), and force takes over fields other managers own instead of
// failing with a 409 conflict.
func (r *Resource[T]) Apply(ctx context.Context, name string, data []byte, fieldManager string, force bool) (T, error) {
	return r.patch(ctx, name, ApplyPatch, data, applyQuery(fieldManager, force))
}

func (r *Resource[T]) patch(ctx context.Context, name string, pt PatchType, data []byte, q url.Values, sub ...string) (T, error) {
	var zero T
	verb := "patch"
	if pt == ApplyPatch {
		verb = "apply"
	}
	p, err := r.item(r.ns, name, sub...)
	if err != nil {
		return zero, fmt.Errorf("%s %w", verb, err)
	}
	resp, err := r.c.Do(ctx, Request{Method: http.MethodPatch, Path: p, Query: q, Body: data, ContentType: string(pt)})
	if err != nil {
		return zero, fmt.Errorf("%s %s %s: %w", verb, r.info.Resource, name, err)
	}
	return r.decode(verb, resp.Body)
}

// Watch starts a watch of the objects matching opts from opts.ResourceVersion ("" = from now,
// after the current state is sent as ADDED events; "0" likewise). The stream runs until the
// server ends it, ctx is cancelled, or Stop is called.
func (r *Resource[T]) Watch(ctx context.Context, opts ListOptions) (*Watcher[T], error) {
	return startStreamWatch(ctx, r.c, Request{Path: r.collection(r.ns), Query: opts.query(true)}, r.info.Resource,
		r.decodeFrom)
}

// decodeFrom decodes the object of a watch event straight from the stream, with decode's
// semantics.
func (r *Resource[T]) decodeFrom(dec *jsontext.Decoder) (T, error) {
	obj := r.newObject()
	if err := api.UnmarshalDecode(dec, obj); err != nil {
		var zero T
		return zero, err
	}
	return obj, nil
}

func applyQuery(fieldManager string, force bool) url.Values {
	q := url.Values{}
	if fieldManager != "" {
		q.Set("fieldManager", fieldManager)
	}
	if force {
		q.Set("force", "true")
	}
	return q
}

func deleteBody(opts *api.DeleteOptions) ([]byte, error) {
	if opts == nil {
		return nil, nil
	}
	cp := *opts
	if cp.Kind == "" && cp.APIVersion == "" {
		cp.TypeMeta = api.TypeMeta{Kind: "DeleteOptions", APIVersion: "v1"}
	}
	return json.Marshal(&cp)
}

func nameOrGenerate(m *api.ObjectMeta) string {
	if m.Name == "" && m.GenerateName != "" {
		return m.GenerateName + "*"
	}
	return m.Name
}

// encodeObject marshals obj, adding kind and apiVersion when obj carries neither, without
// touching obj itself (it may be shared, e.g. from an informer's cache).
func encodeObject(obj api.Object, tm api.TypeMeta) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if own := obj.GetTypeMeta(); own.Kind != "" || own.APIVersion != "" {
		return data, nil
	}
	return withTypeMeta(data, tm)
}

// withTypeMeta splices "kind" and "apiVersion" into the front of a JSON object.
func withTypeMeta(data []byte, tm api.TypeMeta) ([]byte, error) {
	if len(data) < 2 || data[0] != '{' {
		return nil, fmt.Errorf("encode: object is not a JSON object")
	}
	head, err := json.Marshal(&tm)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	out := make([]byte, 0, len(data)+len(head))
	out = append(out, head[:len(head)-1]...) // {"kind":..,"apiVersion":..
	rest := data[1:]
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}
