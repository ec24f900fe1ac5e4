package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/wasmkube/wasmkube/control/api"
)

// Evict asks the pods/eviction subresource to delete the named pod within its
// PodDisruptionBudgets, with opts (may be nil). A budget that allows no disruption now
// answers 429 (api.ReasonTooManyRequests): retry later, as kubectl drain does.
func (r *Resource[T]) Evict(ctx context.Context, name string, opts *api.DeleteOptions) error {
	p, err := r.subPath("evict", name, "eviction")
	if err != nil {
		return err
	}
	ev := &api.Eviction{ObjectMeta: api.ObjectMeta{Name: name, Namespace: r.ns}, DeleteOptions: opts}
	body, err := encodeObject(ev, api.TypeMeta{Kind: "Eviction", APIVersion: "policy/v1"})
	if err != nil {
		return fmt.Errorf("evict %s %s: %w", r.info.Resource, name, err)
	}
	if _, err := r.c.Do(ctx, Request{Method: http.MethodPost, Path: p, Body: body}); err != nil {
		return fmt.Errorf("evict %s %s/%s: %w", r.info.Resource, r.ns, name, err)
	}
	return nil
}
