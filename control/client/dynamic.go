package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wasmkube/wasmkube/control/api"
)

// DynamicResource is untyped access to one resource for the CLI: objects go in and come out as
// raw JSON, so a manifest's fields reach the server unchanged (and unknown ones are refused by
// the server, not dropped by a Go type). It is immutable and safe for concurrent use.
type DynamicResource struct {
	c *Client
	endpoint
}

// Dynamic returns untyped access to the resource ri in namespace ns ("" = all namespaces for
// List, Watch and Table; the object's own namespace for Create and Update).
func Dynamic(c *Client, ri *api.ResourceInfo, ns string) *DynamicResource {
	d := &DynamicResource{c: c, endpoint: endpoint{info: *ri}}
	if ri.Namespaced {
		d.ns = ns
	}
	return d
}

// Info describes the resource.
func (d *DynamicResource) Info() api.ResourceInfo { return d.info }

// Get reads one object.
func (d *DynamicResource) Get(ctx context.Context, name string) (json.RawMessage, error) {
	return d.itemDo(ctx, "get", http.MethodGet, name, nil, "", nil)
}

// List reads the objects matching opts as a list document.
func (d *DynamicResource) List(ctx context.Context, opts ListOptions) (json.RawMessage, error) {
	resp, err := d.c.Do(ctx, Request{Path: d.collection(d.ns), Query: opts.query(false)})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.info.Resource, err)
	}
	return resp.Body, nil
}

// Table reads the objects matching opts as a server-printed meta.k8s.io/v1 Table.
func (d *DynamicResource) Table(ctx context.Context, opts ListOptions) (*api.Table, error) {
	resp, err := d.c.Do(ctx, Request{Path: d.collection(d.ns), Query: opts.query(false), Accept: AcceptTable})
	if err != nil {
		return nil, fmt.Errorf("list %s as a table: %w", d.info.Resource, err)
	}
	return decodeTable(d.info.Resource, resp.Body)
}

// GetTable reads one object as a one-row Table.
func (d *DynamicResource) GetTable(ctx context.Context, name string) (*api.Table, error) {
	p, err := d.item(d.ns, name)
	if err != nil {
		return nil, fmt.Errorf("get %w", err)
	}
	resp, err := d.c.Do(ctx, Request{Path: p, Accept: AcceptTable})
	if err != nil {
		return nil, fmt.Errorf("get %s %s as a table: %w", d.info.Resource, name, err)
	}
	return decodeTable(d.info.Resource, resp.Body)
}

func decodeTable(resource string, data []byte) (*api.Table, error) {
	t := &api.Table{}
	if err := json.Unmarshal(data, t); err != nil {
		return nil, fmt.Errorf("table of %s: decode answer: %w", resource, err)
	}
	if t.Kind != "" && t.Kind != "Table" {
		return nil, fmt.Errorf("table of %s: the server answered a %s, not a Table", resource, t.Kind)
	}
	return t, nil
}

// Create creates the object in obj (JSON) and returns it as stored.
func (d *DynamicResource) Create(ctx context.Context, obj []byte) (json.RawMessage, error) {
	h, body, err := d.prepare(obj)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", d.info.Resource, err)
	}
	ns := d.nsFor(h.Metadata.Namespace)
	if d.info.Namespaced && ns == "" {
		return nil, fmt.Errorf("create %s %s: %w", d.info.Resource, h.Metadata.Name, ErrNamespaceRequired)
	}
	resp, err := d.c.Do(ctx, Request{Method: http.MethodPost, Path: d.collection(ns), Body: body})
	if err != nil {
		return nil, fmt.Errorf("create %s %s: %w", d.info.Resource, h.Metadata.Name, err)
	}
	return resp.Body, nil
}

// Update replaces the object in obj (JSON), named by its metadata.
func (d *DynamicResource) Update(ctx context.Context, obj []byte) (json.RawMessage, error) {
	return d.put(ctx, obj, "")
}

// UpdateStatus replaces the status of the object in obj (JSON).
func (d *DynamicResource) UpdateStatus(ctx context.Context, obj []byte) (json.RawMessage, error) {
	return d.put(ctx, obj, "status")
}

func (d *DynamicResource) put(ctx context.Context, obj []byte, sub string) (json.RawMessage, error) {
	h, body, err := d.prepare(obj)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", d.info.Resource, err)
	}
	p, err := d.item(d.nsFor(h.Metadata.Namespace), h.Metadata.Name, sub)
	if err != nil {
		return nil, fmt.Errorf("update %w", err)
	}
	resp, err := d.c.Do(ctx, Request{Method: http.MethodPut, Path: p, Body: body})
	if err != nil {
		return nil, fmt.Errorf("update %s %s: %w", d.info.Resource, h.Metadata.Name, err)
	}
	return resp.Body, nil
}

// Delete deletes one object and returns the server's answer: the object (still present while
// finalizers run) or a Status.
func (d *DynamicResource) Delete(ctx context.Context, name string, opts *api.DeleteOptions) (json.RawMessage, error) {
	body, err := deleteBody(opts)
	if err != nil {
		return nil, fmt.Errorf("delete %s %s: %w", d.info.Resource, name, err)
	}
	return d.itemDo(ctx, "delete", http.MethodDelete, name, body, "", nil)
}

// DeleteCollection deletes every object matching list.
func (d *DynamicResource) DeleteCollection(ctx context.Context, list ListOptions, opts *api.DeleteOptions) error {
	body, err := deleteBody(opts)
	if err != nil {
		return fmt.Errorf("delete collection of %s: %w", d.info.Resource, err)
	}
	_, err = d.c.Do(ctx, Request{Method: http.MethodDelete, Path: d.collection(d.ns), Query: list.query(false), Body: body})
	if err != nil {
		return fmt.Errorf("delete collection of %s: %w", d.info.Resource, err)
	}
	return nil
}

// Patch patches one object (or its subresource sub) with a patch of type pt.
func (d *DynamicResource) Patch(ctx context.Context, name string, pt PatchType, data []byte, sub ...string) (json.RawMessage, error) {
	return d.itemDo(ctx, "patch", http.MethodPatch, name, data, pt, nil, sub...)
}

// Apply is server-side apply of data (JSON or YAML) as fieldManager; see Resource.Apply.
func (d *DynamicResource) Apply(ctx context.Context, name string, data []byte, fieldManager string, force bool) (json.RawMessage, error) {
	return d.itemDo(ctx, "apply", http.MethodPatch, name, data, ApplyPatch, applyQuery(fieldManager, force))
}

// Watch starts a watch whose events carry the objects as raw JSON.
func (d *DynamicResource) Watch(ctx context.Context, opts ListOptions) (*Watcher[json.RawMessage], error) {
	return startWatch(ctx, d.c, Request{Path: d.collection(d.ns), Query: opts.query(true)}, d.info.Resource,
		func(raw json.RawMessage) (json.RawMessage, error) { return raw, nil })
}

func (d *DynamicResource) itemDo(ctx context.Context, verb, method, name string, body []byte, pt PatchType,
	q url.Values, sub ...string) (json.RawMessage, error) {
	p, err := d.item(d.ns, name, sub...)
	if err != nil {
		return nil, fmt.Errorf("%s %w", verb, err)
	}
	resp, err := d.c.Do(ctx, Request{Method: method, Path: p, Body: body, ContentType: string(pt), Query: q})
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", verb, d.info.Resource, name, err)
	}
	return resp.Body, nil
}

// header is the part of an object the dynamic client reads.
type header struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// prepare reads obj's header and fills in a missing kind and apiVersion.
func (d *DynamicResource) prepare(obj []byte) (header, []byte, error) {
	var h header
	if err := json.Unmarshal(obj, &h); err != nil {
		return h, nil, fmt.Errorf("object is not a JSON object: %w", err)
	}
	if h.Kind != "" || h.APIVersion != "" {
		return h, obj, nil
	}
	body, err := withTypeMeta(compact(obj), d.typeMeta())
	return h, body, err
}

func compact(obj []byte) []byte {
	var m json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return obj
	}
	out, err := json.Marshal(m)
	if err != nil {
		return obj
	}
	return out
}
