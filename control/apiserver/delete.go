package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/store"
)

// deleteOptions are the DeleteOptions of a request, from its body and query.
type deleteOptions struct {
	api.DeleteOptions
	dryRun bool
}

// parseDeleteOptions reads DeleteOptions from the body (if any) and the query parameters
// gracePeriodSeconds, propagationPolicy, orphanDependents and dryRun, which win.
func (s *Server) parseDeleteOptions(rq *request) (deleteOptions, error) {
	var o deleteOptions
	body, err := readBody(rq.req, s.bodyLimit())
	if err != nil {
		return o, err
	}
	if len(body) > 0 {
		if mediaType(rq.req) == protobufType {
			// kubectl's typed clients send DeleteOptions in protobuf.
			if body, err = protoToJSON(body, map[string]bool{"DeleteOptions": true}); err != nil {
				return o, err
			}
		}
		if err := s.dec.Decode(body, &o.DeleteOptions); err != nil {
			return o, api.BadRequest(fmt.Sprintf("decode DeleteOptions: %v", err))
		}
	}
	return o, completeDeleteOptions(&o, rq.q)
}

// completeDeleteOptions applies the query parameters gracePeriodSeconds, propagationPolicy,
// orphanDependents and dryRun (which win over the body's) and checks the result.
func completeDeleteOptions(o *deleteOptions, q url.Values) error {
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return api.BadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", v))
		}
		o.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		o.PropagationPolicy = &v
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := v == "true"
		o.OrphanDependents = &b
	}
	dry, err := parseDryRun(q["dryRun"])
	if err != nil {
		return err
	}
	for _, d := range o.DryRun {
		if d != "All" {
			return api.BadRequest(fmt.Sprintf("invalid dryRun value %q: only \"All\" is supported", d))
		}
		dry = true
	}
	o.dryRun = dry
	if p := o.PropagationPolicy; p != nil {
		switch *p {
		case api.DeletePropagationOrphan, api.DeletePropagationBackground, api.DeletePropagationForeground:
		default:
			return api.Invalid(api.GroupKind{Group: "meta.k8s.io", Kind: "DeleteOptions"}, "", api.FieldErrors{
				api.NotSupported("propagationPolicy", *p, []string{api.DeletePropagationForeground, api.DeletePropagationBackground, api.DeletePropagationOrphan})})
		}
		if o.OrphanDependents != nil {
			return api.Invalid(api.GroupKind{Group: "meta.k8s.io", Kind: "DeleteOptions"}, "", api.FieldErrors{
				api.Forbidden("propagationPolicy", "orphanDependents and deletionPropagation cannot be both set")})
		}
	}
	if g := o.GracePeriodSeconds; g != nil && *g < 0 {
		z := int64(1) // Kubernetes turns a negative grace period into the shortest one
		o.GracePeriodSeconds = &z
	}
	return nil
}

func parseDryRun(vals []string) (bool, error) {
	for _, v := range vals {
		if v != "All" {
			return false, api.BadRequest(fmt.Sprintf("invalid dryRun value %q: only \"All\" is supported", v))
		}
	}
	return len(vals) > 0, nil
}

// immortalNamespace reports whether a namespace may not be deleted, as Kubernetes'
// namespace lifecycle admission says.
func immortalNamespace(name string) bool {
	switch name {
	case api.NamespaceDefault, api.NamespaceSystem, "kube-public", api.NamespaceNodeLease:
		return true
	}
	return false
}

func (s *Server) serveDelete(rq *request) error {
	if rq.res.Resource == "namespaces" && immortalNamespace(rq.name) {
		return api.NewStatusError(http.StatusForbidden, api.ReasonForbidden,
			fmt.Sprintf("namespaces %q is forbidden: this namespace may not be deleted", rq.name))
	}
	o, err := s.parseDeleteOptions(rq)
	if err != nil {
		return err
	}
	if rq.res.Resource == "namespaces" {
		s.namespaceDeleting(rq.name)
	}
	body, code, err := s.deleteObject(rq.ctx, rq.res, rq.namespace, rq.name, o)
	if err != nil {
		return err
	}
	writeBody(rq.w, code, body)
	return nil
}

// deleteObject deletes an object, or marks it for deletion when finalizers or a grace
// period keep it, and returns the body and code of the answer: the object while it stays,
// a Success Status (the object, for pods) once it is gone.
func (s *Server) deleteObject(ctx context.Context, r *resource, ns, name string, o deleteOptions) ([]byte, int, error) {
	k := key(r, ns, name)
	for {
		kv, err := s.store.Get(ctx, k)
		if err != nil {
			return nil, 0, storeError(r, name, err)
		}
		obj, err := decodeStored(r, kv.Value, kv.Revision)
		if err != nil {
			return nil, 0, api.InternalError(err)
		}
		m := obj.GetObjectMeta()
		if p := o.Preconditions; p != nil {
			if p.UID != nil && *p.UID != m.UID {
				return nil, 0, api.Conflict(r.GroupResource(), name,
					fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.UID))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != m.ResourceVersion {
				return nil, 0, api.Conflict(r.GroupResource(), name,
					fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.ResourceVersion))
			}
		}
		keep, changed := markDeletion(obj, o, time.Now())
		if keep {
			if !changed {
				return withRV(kv.Value, kv.Revision), http.StatusOK, nil
			}
			b, err := encode(obj)
			if err != nil {
				return nil, 0, api.InternalError(err)
			}
			if o.dryRun {
				return withRV(b, kv.Revision), http.StatusOK, nil
			}
			rev, err := s.store.Update(ctx, k, b, kv.Revision, s.expiry(r)...)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, 0, storeError(r, name, err)
			}
			return withRV(b, rev), http.StatusOK, nil
		}
		if o.dryRun {
			return deletedBody(r, kv.Value, kv.Revision, m), http.StatusOK, nil
		}
		_, rev, err := s.store.Delete(ctx, k, kv.Revision)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, 0, storeError(r, name, err)
		}
		s.releaseDeleted(ctx, obj)
		return deletedBody(r, kv.Value, rev, m), http.StatusOK, nil
	}
}

// deletedBody is the answer to a delete that removed the object: the object itself for
// pods (as Kubernetes' pod registry returns it), a Success Status otherwise.
func deletedBody(r *resource, value []byte, rev int64, m *api.ObjectMeta) []byte {
	if r.Resource == "pods" {
		return withRV(value, rev)
	}
	b, _ := json.Marshal(successStatus(r, m.Name, m.UID))
	return b
}

// markDeletion applies a delete to obj as Kubernetes does before removing anything: the
// propagation policy's finalizer, a namespace's Terminating phase, a bound pod's grace
// period, a deletionTimestamp while finalizers remain. It reports whether the object must
// stay (keep) and whether obj was changed.
func markDeletion(obj api.Object, o deleteOptions, now time.Time) (keep, changed bool) {
	m := obj.GetObjectMeta()
	policy := api.DeletePropagationBackground
	if o.PropagationPolicy != nil {
		policy = *o.PropagationPolicy
	} else if o.OrphanDependents != nil && *o.OrphanDependents {
		policy = api.DeletePropagationOrphan
	}
	addFinalizer := func(f string) {
		for _, x := range m.Finalizers {
			if x == f {
				return
			}
		}
		m.Finalizers = append(m.Finalizers, f)
		changed = true
	}
	removeFinalizer := func(f string) {
		for i, x := range m.Finalizers {
			if x == f {
				m.Finalizers = append(m.Finalizers[:i:i], m.Finalizers[i+1:]...)
				changed = true
				return
			}
		}
	}
	switch policy {
	case api.DeletePropagationOrphan:
		addFinalizer(api.FinalizerOrphanDependents)
		removeFinalizer(api.FinalizerDeleteDependents)
	case api.DeletePropagationForeground:
		addFinalizer(api.FinalizerDeleteDependents)
		removeFinalizer(api.FinalizerOrphanDependents)
	}
	ts := api.NewTime(now)
	setDeleting := func(grace int64, at api.Time) {
		if m.DeletionTimestamp == nil {
			m.DeletionTimestamp = &at
			changed = true
		}
		if m.DeletionGracePeriodSeconds == nil || *m.DeletionGracePeriodSeconds > grace {
			m.DeletionGracePeriodSeconds = &grace
			m.DeletionTimestamp = &at
			changed = true
		}
	}
	if ns, ok := obj.(*api.Namespace); ok {
		if len(ns.Spec.Finalizers) == 0 && len(m.Finalizers) == 0 {
			return false, changed
		}
		setDeleting(0, ts)
		if ns.Status.Phase != api.NamespaceTerminating {
			ns.Status.Phase = api.NamespaceTerminating
			changed = true
		}
		return true, changed
	}
	if pod, ok := obj.(*api.Pod); ok && pod.Spec.NodeName != "" &&
		pod.Status.Phase != api.PodSucceeded && pod.Status.Phase != api.PodFailed {
		grace := api.Deref(pod.Spec.TerminationGracePeriodSeconds, 30)
		if o.GracePeriodSeconds != nil {
			grace = *o.GracePeriodSeconds
		}
		if grace > 0 {
			setDeleting(grace, api.NewTime(now.Add(time.Duration(grace)*time.Second)))
			return true, changed
		}
	}
	if len(m.Finalizers) > 0 {
		setDeleting(0, ts)
		return true, changed
	}
	return false, changed
}

func (s *Server) serveDeleteCollection(rq *request) error {
	o, err := s.parseDeleteOptions(rq)
	if err != nil {
		return err
	}
	sel, err := parseSelectors(rq.res, rq.q)
	if err != nil {
		return err
	}
	res, err := s.store.List(rq.ctx, listPrefix(rq.res, rq.namespace), store.ListOptions{})
	if err != nil {
		return storeError(rq.res, "", err)
	}
	for _, kv := range res.Items {
		obj, err := decodeStored(rq.res, kv.Value, kv.Revision)
		if err != nil {
			return api.InternalError(err)
		}
		if !sel.matches(obj) {
			continue
		}
		m := obj.GetObjectMeta()
		if _, _, err := s.deleteObject(rq.ctx, rq.res, m.Namespace, m.Name, o); err != nil && !api.IsNotFound(err) {
			return err
		}
	}
	st := &api.Status{TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: api.StatusSuccess}
	writeJSON(rq.w, http.StatusOK, st)
	return nil
}
