package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wasmkube/wasmkube/control/api"
)

// GetScale reads the scale subresource (deployments, replicasets) of the named object.
func (r *Resource[T]) GetScale(ctx context.Context, name string) (*api.Scale, error) {
	p, err := r.subPath("get scale of", name, "scale")
	if err != nil {
		return nil, err
	}
	resp, err := r.c.Do(ctx, Request{Path: p})
	if err != nil {
		return nil, fmt.Errorf("get scale of %s %s: %w", r.info.Resource, name, err)
	}
	return decodeScale("get scale of", r.info.Resource, name, resp.Body)
}

// UpdateScale writes the scale subresource of the named object; scale.Spec.Replicas is the new
// count, and a non-empty scale.ResourceVersion must be current (409 otherwise).
func (r *Resource[T]) UpdateScale(ctx context.Context, name string, scale *api.Scale) (*api.Scale, error) {
	p, err := r.subPath("update scale of", name, "scale")
	if err != nil {
		return nil, err
	}
	body, err := encodeObject(scale, api.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"})
	if err != nil {
		return nil, fmt.Errorf("update scale of %s %s: %w", r.info.Resource, name, err)
	}
	resp, err := r.c.Do(ctx, Request{Method: http.MethodPut, Path: p, Body: body})
	if err != nil {
		return nil, fmt.Errorf("update scale of %s %s: %w", r.info.Resource, name, err)
	}
	return decodeScale("update scale of", r.info.Resource, name, resp.Body)
}

func decodeScale(verb, resource, name string, data []byte) (*api.Scale, error) {
	s := &api.Scale{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s %s %s: decode answer: %w", verb, resource, name, err)
	}
	return s, nil
}

// Bind assigns a pod to a node through the pods/binding subresource: b.Name is the pod, b's
// namespace (or r's) its namespace, and b.Target.Name the node. Binding an already bound pod
// is a 409 Conflict.
func (r *Resource[T]) Bind(ctx context.Context, b *api.Binding) error {
	p, err := r.item(r.nsFor(b.Namespace), b.Name, "binding")
	if err != nil {
		return fmt.Errorf("bind %w", err)
	}
	if !r.info.HasSubresource("binding") {
		return fmt.Errorf("bind %s %s: %w", r.info.Resource, b.Name, ErrNoSubresource)
	}
	body, err := encodeObject(b, api.TypeMeta{Kind: "Binding", APIVersion: "v1"})
	if err != nil {
		return fmt.Errorf("bind %s %s: %w", r.info.Resource, b.Name, err)
	}
	if _, err := r.c.Do(ctx, Request{Method: http.MethodPost, Path: p, Body: body}); err != nil {
		return fmt.Errorf("bind %s %s to node %s: %w", r.info.Resource, b.Name, b.Target.Name, err)
	}
	return nil
}

func (r *Resource[T]) subPath(verb, name, sub string) (string, error) {
	if !r.info.HasSubresource(sub) {
		return "", fmt.Errorf("%s %s %s: %w", verb, r.info.Resource, name, ErrNoSubresource)
	}
	p, err := r.item(r.ns, name, sub)
	if err != nil {
		return "", fmt.Errorf("%s %w", verb, err)
	}
	return p, nil
}

// LogOptions are the query parameters of pods/log, as in Kubernetes.
type LogOptions struct {
	// Container names the module; it may be empty when the pod has one.
	Container string
	// Follow keeps the stream open and sends new lines as they are written.
	Follow bool
	// Previous asks for the log of the module's previous, terminated run.
	Previous bool
	// TailLines, if set, starts that many lines before the end.
	TailLines *int64
	// SinceSeconds, if set, starts at lines written that many seconds ago.
	SinceSeconds *int64
	// LimitBytes, if set, ends the log after that many bytes.
	LimitBytes *int64
	// Timestamps prefixes each line with its RFC 3339 time.
	Timestamps bool
}

func (o LogOptions) query() url.Values {
	q := url.Values{}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Previous {
		q.Set("previous", "true")
	}
	if o.TailLines != nil {
		q.Set("tailLines", strconv.FormatInt(*o.TailLines, 10))
	}
	if o.SinceSeconds != nil {
		q.Set("sinceSeconds", strconv.FormatInt(*o.SinceSeconds, 10))
	}
	if o.LimitBytes != nil {
		q.Set("limitBytes", strconv.FormatInt(*o.LimitBytes, 10))
	}
	if o.Timestamps {
		q.Set("timestamps", "true")
	}
	return q
}

// Logs streams the log of a pod's module. The caller must close the returned reader; with
// Follow it stays open until the module ends, ctx is cancelled, or it is closed.
func (c *Client) Logs(ctx context.Context, ns, pod string, opts LogOptions) (io.ReadCloser, error) {
	if ns == "" {
		return nil, fmt.Errorf("logs of pod %s: %w", pod, ErrNamespaceRequired)
	}
	if pod == "" {
		return nil, fmt.Errorf("logs: a pod name is required")
	}
	body, _, err := c.Stream(ctx, Request{
		Path:   "/api/v1/namespaces/" + ns + "/pods/" + pod + "/log",
		Query:  opts.query(),
		Accept: "text/plain, */*",
	})
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s/%s: %w", ns, pod, err)
	}
	return body, nil
}
