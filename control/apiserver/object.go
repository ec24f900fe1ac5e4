package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/patch"
	"github.com/wasmkube/wasmkube/control/store"
)

// writeOptions are what create, update, patch and delete requests share.
type writeOptions struct {
	manager string // field manager for managedFields
	dryRun  bool
	// apply marks a server-side apply: managedFields are already computed.
	apply bool
}

// key returns the store key of an object of r.
func key(r *resource, namespace, name string) string {
	if !r.Namespaced {
		namespace = ""
	}
	return store.Key(r.Resource, namespace, name)
}

// createObject stores a new object and returns its JSON with its resourceVersion. obj is
// decoded and its kind checked; its namespace is the request's.
func (s *Server) createObject(ctx context.Context, r *resource, obj api.Object, opts writeOptions) ([]byte, error) {
	m := obj.GetObjectMeta()
	if m.ResourceVersion != "" {
		return nil, api.BadRequest("resourceVersion should not be set on objects to be created")
	}
	managed := m.ManagedFields
	prepareCreate(r, obj)
	if opts.apply {
		m.ManagedFields = managed
	}
	generated := false
	if m.Name == "" && m.GenerateName != "" {
		m.Name = generateName(m.GenerateName)
		generated = true
	}
	api.Default(obj)
	if errs := api.Validate(obj, nil); len(errs) > 0 {
		return nil, api.Invalid(r.GroupKind(), nameForError(m), errs)
	}
	if err := s.admit(ctx, r, obj, nil); err != nil {
		return nil, err
	}
	if r.Namespaced {
		if err := s.checkNamespace(ctx, r, m.Namespace, m.Name); err != nil {
			return nil, err
		}
	}
	var alloc *allocation
	if svc, ok := obj.(*api.Service); ok {
		var err error
		if alloc, err = s.alloc.allocate(ctx, svc, nil, opts.dryRun); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		b, err := encode(obj)
		if err == nil && !opts.apply {
			b, err = s.recordManaged(obj, b, nil, opts.manager, "")
		}
		if err != nil {
			s.alloc.release(ctx, alloc)
			return nil, toStatus(err)
		}
		if len(b) > s.cfg.MaxObjectBytes {
			s.alloc.release(ctx, alloc)
			return nil, tooLarge(r, m.Name, len(b), s.cfg.MaxObjectBytes)
		}
		if opts.dryRun {
			return b, nil
		}
		rev, err := s.store.Create(ctx, key(r, m.Namespace, m.Name), b, s.expiry(r)...)
		if err == nil {
			return withRV(b, rev), nil
		}
		if errors.Is(err, store.ErrExists) && generated && attempt < 8 {
			m.Name = generateName(m.GenerateName)
			continue
		}
		s.alloc.release(ctx, alloc)
		return nil, storeError(r, m.Name, err)
	}
}

func tooLarge(r *resource, name string, size, limit int) error {
	return api.TooLarge(fmt.Sprintf("%s %q is too large: %d bytes of JSON, over the limit of %d", r.GroupResource(), name, size, limit))
}

func nameForError(m *api.ObjectMeta) string {
	if m.Name != "" {
		return m.Name
	}
	return m.GenerateName
}

// prepareCreate sets the fields the server owns on a new object and drops the ones a
// create may not set, as Kubernetes' PrepareForCreate does.
func prepareCreate(r *resource, obj api.Object) {
	m := obj.GetObjectMeta()
	m.UID = newUID()
	m.CreationTimestamp = api.Now()
	m.Generation = 0
	if tracksGeneration(r) {
		m.Generation = 1
	}
	m.DeletionTimestamp = nil
	m.DeletionGracePeriodSeconds = nil
	m.SelfLink = ""
	m.ManagedFields = nil
	if r.HasSubresource("status") && r.Kind != "Node" {
		resetField(obj, "Status")
	}
	if ds, ok := obj.(*api.DaemonSet); ok {
		api.SetTemplateGeneration(ds, nil)
	}
}

// field returns the addressable struct field name of obj, or an invalid Value.
func field(obj api.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

func resetField(obj api.Object, name string) {
	if f := field(obj, name); f.IsValid() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// copyField sets dst's field name to src's.
func copyField(dst, src api.Object, name string) {
	d, s := field(dst, name), field(src, name)
	if d.IsValid() && s.IsValid() {
		d.Set(s)
	}
}

// fieldJSON encodes obj's field name, for comparisons; nil when obj has no such field.
func fieldJSON(obj api.Object, name string) []byte {
	f := field(obj, name)
	if !f.IsValid() {
		return nil
	}
	b, _ := json.Marshal(f.Interface())
	return b
}

// checkNamespace refuses content in a namespace that does not exist (404) or is being
// terminated (403). The watch cache answers the common case; etcd the rest, and namespaces
// recently asked to be deleted, which the cache may not show as terminating yet.
func (s *Server) checkNamespace(ctx context.Context, r *resource, ns, name string) error {
	nsr := s.byName["namespaces"]
	if o := nsr.cache.get(key(nsr, "", ns)); o != nil && !s.recentlyDeleted(ns) {
		if obj, err := o.object(); err == nil && !namespaceTerminating(obj.(*api.Namespace)) {
			return nil
		}
	}
	kv, err := s.store.Get(ctx, key(nsr, "", ns))
	if err != nil {
		return storeError(nsr, ns, err)
	}
	obj, err := decodeStored(nsr, kv.Value, kv.Revision)
	if err != nil {
		return api.InternalError(err)
	}
	if namespaceTerminating(obj.(*api.Namespace)) {
		msg := fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", ns)
		e := api.NewStatusError(http.StatusForbidden, api.ReasonForbidden,
			fmt.Sprintf("%s %q is forbidden: %s", r.GroupResource(), name, msg))
		e.Status.Details = &api.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource,
			Causes: []api.StatusCause{{Type: "NamespaceTerminating", Message: msg, Field: "metadata.namespace"}}}
		return e
	}
	return nil
}

func namespaceTerminating(ns *api.Namespace) bool {
	return ns.DeletionTimestamp != nil || ns.Status.Phase == api.NamespaceTerminating
}

// recordManaged records in obj's managedFields what manager changed from oldJSON (nil for
// a create) through subresource, and returns obj's JSON with them. objJSON is obj's JSON
// as encode made it: the new managedFields are spliced into it rather than encoding the
// whole object again.
func (s *Server) recordManaged(obj api.Object, objJSON, oldJSON []byte, manager, subresource string) ([]byte, error) {
	if manager == "" {
		return objJSON, nil
	}
	m := obj.GetObjectMeta()
	entries, err := s.fieldSets.RecordUpdate(oldJSON, objJSON, manager, toPatchManaged(m.ManagedFields), time.Now(), subresource)
	if err != nil {
		return nil, patchError(err)
	}
	if m.SelfLink == "" && len(entries) > 0 {
		// The common case: only the managedFields array changes, encoded on its own.
		newManaged := fromPatchManaged(entries)
		if enc, err := json.Marshal(newManaged); err == nil {
			if out, ok := spliceManaged(objJSON, enc); ok {
				m.ManagedFields = newManaged
				return out, nil
			}
		}
	}
	before, err := encodeMeta(m)
	if err != nil {
		return nil, api.InternalError(err)
	}
	m.ManagedFields = fromPatchManaged(entries)
	after, err := encodeMeta(m)
	if err != nil {
		return nil, api.InternalError(err)
	}
	// encode writes metadata verbatim after "metadata": as encodeMeta does.
	if i := bytes.Index(objJSON, []byte(metadataKey)); i >= 0 {
		i += len(metadataKey) - 1
		if bytes.HasPrefix(objJSON[i:], before) {
			out := make([]byte, 0, len(objJSON)+len(after)-len(before))
			out = append(out, objJSON[:i]...)
			out = append(out, after...)
			return append(out, objJSON[i+len(before):]...), nil
		}
	}
	b, err := encode(obj)
	if err != nil {
		return nil, api.InternalError(err)
	}
	return b, nil
}

// spliceManaged returns objJSON, an object as encode wrote it, with metadata.managedFields
// set to enc, the encoded entries: what encode would write for the object with them, as
// managedFields is the last field encode writes in metadata when selfLink is empty. ok is
// false when metadata cannot be found.
func spliceManaged(objJSON, enc []byte) (out []byte, ok bool) {
	d := jsontext.NewDecoder(bytes.NewBuffer(objJSON), jsontext.AllowDuplicateNames(true))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	for d.PeekKind() == '"' {
		name, err := d.ReadToken()
		if err != nil {
			return nil, false
		}
		if name.String() != "metadata" {
			if d.SkipValue() != nil {
				return nil, false
			}
			continue
		}
		if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
			return nil, false
		}
		members := 0
		for d.PeekKind() == '"' {
			name, err := d.ReadToken()
			if err != nil {
				return nil, false
			}
			members++
			isManaged := name.String() == "managedFields"
			start := int(d.InputOffset())
			if d.SkipValue() != nil {
				return nil, false
			}
			if isManaged {
				end := int(d.InputOffset())
				i := bytes.IndexByte(objJSON[start:end], '[')
				if i < 0 || d.PeekKind() != '}' {
					return nil, false
				}
				return splice(objJSON, start+i, end, enc), true
			}
		}
		// No managedFields yet: they go last.
		at := int(d.InputOffset())
		if d.PeekKind() != '}' {
			return nil, false
		}
		for at < len(objJSON) && objJSON[at] != '}' {
			at++
		}
		if at == len(objJSON) {
			return nil, false
		}
		ins := make([]byte, 0, len(enc)+18)
		if members > 0 {
			ins = append(ins, ',')
		}
		ins = append(append(ins, `"managedFields":`...), enc...)
		return splice(objJSON, at, at, ins), true
	}
	return nil, false
}

// splice returns b with b[i:j] replaced by with, in a new slice.
func splice(b []byte, i, j int, with []byte) []byte {
	out := make([]byte, 0, len(b)-(j-i)+len(with))
	out = append(out, b[:i]...)
	out = append(out, with...)
	return append(out, b[j:]...)
}

// encodeMeta encodes m as encode writes it inside an object: without resourceVersion.
func encodeMeta(m *api.ObjectMeta) ([]byte, error) {
	rv := m.ResourceVersion
	m.ResourceVersion = ""
	b, err := json.Marshal(m)
	m.ResourceVersion = rv
	return b, err
}

func toPatchManaged(in []api.ManagedFieldsEntry) []patch.ManagedFieldsEntry {
	if len(in) == 0 {
		return nil
	}
	out := make([]patch.ManagedFieldsEntry, len(in))
	for i, e := range in {
		out[i] = patch.ManagedFieldsEntry{Manager: e.Manager, Operation: e.Operation, APIVersion: e.APIVersion,
			FieldsType: e.FieldsType, FieldsV1: e.FieldsV1, Subresource: e.Subresource}
		if e.Time != nil {
			out[i].Time = e.Time.UTC().Format(time.RFC3339)
		}
	}
	return out
}

func fromPatchManaged(in []patch.ManagedFieldsEntry) []api.ManagedFieldsEntry {
	if len(in) == 0 {
		return nil
	}
	out := make([]api.ManagedFieldsEntry, len(in))
	for i, e := range in {
		out[i] = api.ManagedFieldsEntry{Manager: e.Manager, Operation: e.Operation, APIVersion: e.APIVersion,
			FieldsType: e.FieldsType, FieldsV1: e.FieldsV1, Subresource: e.Subresource}
		if t, err := time.Parse(time.RFC3339, e.Time); err == nil {
			at := api.NewTime(t)
			out[i].Time = &at
		}
	}
	return out
}

// mutateFunc builds the new object of an update from the current one. It may run several
// times (after a concurrent write) and must build a fresh object each time. cur is the
// stored object, decoded, defaulted and with its resourceVersion, and may be shared with the
// watch cache: it must not be modified, and parts of it may go into the new object only if
// nothing modifies them afterwards (defaulting does not: it finds them set). curJSON is the
// same object's JSON, with resourceVersion, for patches and copies.
type mutateFunc func(cur api.Object, curJSON []byte) (api.Object, error)

// updateResult is what an update answers.
type updateResult struct {
	body    []byte
	created bool
}

// updateObject replaces an object with what mutate builds, through subresource sub
// ("", "status" or "finalize"), checking the resourceVersion precondition the new object
// carries, retrying on concurrent writes when it carries none. createIfMissing lets the
// update create a missing object (PUT of leases and endpoints, apply).
//
// The current object comes from the watch cache when it holds the key, which saves an etcd
// read per write. The cache may be behind etcd, so nothing is answered from a cached read
// alone: the write's compare-and-swap on the revision fails if the cached version is no
// longer current, and any other outcome that depends on the current state (a failed
// precondition, an error from mutate, validation or admission, "nothing changed") is
// decided again from etcd before it is returned.
func (s *Server) updateObject(ctx context.Context, r *resource, ns, name, sub string, mutate mutateFunc,
	opts writeOptions, create func() (api.Object, error)) (updateResult, error) {
	k := key(r, ns, name)
	// Dry runs and services (whose updates allocate addresses) always read etcd.
	fromEtcd := opts.dryRun || r.Resource == "services"
	for {
		var kv store.KV
		var err error
		var co *cachedObject
		if co = r.cache.get(k); co != nil && !fromEtcd {
			kv = store.KV{Key: k, Value: co.value, Revision: co.rev}
		} else {
			co = nil
			kv, err = s.store.Get(ctx, k)
		}
		cached := co != nil
		// stale reports whether a result must be decided again from etcd.
		stale := func() bool {
			if cached {
				fromEtcd = true
			}
			return cached
		}
		if errors.Is(err, store.ErrNotFound) && create != nil {
			obj, err := create()
			if err != nil {
				return updateResult{}, err
			}
			b, err := s.createObject(ctx, r, obj, opts)
			if errors.Is(err, store.ErrExists) || api.IsAlreadyExists(err) {
				continue // raced with another create: update it instead
			}
			return updateResult{body: b, created: true}, err
		}
		if err != nil {
			return updateResult{}, storeError(r, name, err)
		}
		// An object stored before a field gained a default is read with it, as Kubernetes
		// defaults on decoding from storage; else an update that keeps it would change it.
		// The watch cache's decoded object, when watchers' selectors have decoded it
		// already, serves as cur where nothing of cur ends up in the new object to be
		// modified; elsewhere cur is decoded afresh.
		var cur api.Object
		shared := false
		if cached && sharesNothingOfCur(r, sub) {
			cur, shared = co.objectIfDecoded()
		}
		if !shared {
			if cur, err = decodeStored(r, kv.Value, kv.Revision); err != nil {
				return updateResult{}, api.InternalError(err)
			}
			api.Default(cur)
		}
		obj, err := mutate(cur, withRV(kv.Value, kv.Revision))
		if err != nil {
			if stale() {
				continue
			}
			return updateResult{}, err
		}
		m := obj.GetObjectMeta()
		precondition := m.ResourceVersion != ""
		if precondition && m.ResourceVersion != cur.GetObjectMeta().ResourceVersion {
			if stale() {
				continue
			}
			return updateResult{}, api.Conflict(r.GroupResource(), name, errModified)
		}
		if err := s.prepareUpdate(r, sub, obj, cur, kv.Value); err != nil {
			if stale() {
				continue
			}
			return updateResult{}, err
		}
		if errs := api.Validate(obj, cur); len(errs) > 0 {
			if stale() {
				continue
			}
			return updateResult{}, api.Invalid(r.GroupKind(), name, errs)
		}
		if err := s.admit(ctx, r, obj, cur); err != nil {
			if stale() {
				continue
			}
			return updateResult{}, err
		}
		b, err := encode(obj)
		if err != nil {
			return updateResult{}, api.InternalError(err)
		}
		if bytes.Equal(b, kv.Value) {
			if stale() {
				continue
			}
			return updateResult{body: withRV(kv.Value, kv.Revision)}, nil // nothing changed
		}
		if !opts.apply {
			if b, err = s.recordManaged(obj, b, kv.Value, opts.manager, managedSub(sub)); err != nil {
				if stale() {
					continue
				}
				return updateResult{}, err
			}
		}
		if len(b) > s.cfg.MaxObjectBytes {
			return updateResult{}, tooLarge(r, name, len(b), s.cfg.MaxObjectBytes)
		}
		if shouldDeleteOnUpdate(obj, cur) {
			if opts.dryRun {
				return updateResult{body: withRV(b, kv.Revision)}, nil
			}
			_, _, err := s.store.Delete(ctx, k, kv.Revision)
			if err != nil && stale() || errors.Is(err, store.ErrConflict) && !precondition {
				continue
			}
			if err != nil {
				return updateResult{}, storeError(r, name, err)
			}
			s.releaseDeleted(ctx, cur)
			return updateResult{body: withRV(b, kv.Revision)}, nil
		}
		var alloc *allocation
		if svc, ok := obj.(*api.Service); ok {
			if alloc, err = s.alloc.allocate(ctx, svc, cur.(*api.Service), opts.dryRun); err != nil {
				return updateResult{}, err
			}
			if b, err = encode(obj); err != nil {
				return updateResult{}, api.InternalError(err)
			}
		}
		if opts.dryRun {
			return updateResult{body: withRV(b, kv.Revision)}, nil
		}
		rev, err := s.store.Update(ctx, k, b, kv.Revision, s.expiry(r)...)
		if err != nil {
			s.alloc.release(ctx, alloc)
			if stale() || errors.Is(err, store.ErrConflict) && !precondition {
				continue
			}
			return updateResult{}, storeError(r, name, err)
		}
		if svc, ok := cur.(*api.Service); ok {
			s.alloc.releaseUnused(ctx, svc, obj.(*api.Service))
		}
		return updateResult{body: withRV(b, rev)}, nil
	}
}

// sharesNothingOfCur reports whether an update of r through sub builds its new object
// without parts of cur that are later modified, so cur may be an object shared with
// others, which must not be modified: prepareUpdate copies a status out of cur only for
// the main resource of kinds with a status subresource, and a CSR's spec and status always.
// Mutate functions only read cur.
func sharesNothingOfCur(r *resource, sub string) bool {
	if r.Kind == "CertificateSigningRequest" {
		return false
	}
	return sub != "" || !r.HasSubresource("status")
}

// managedSub is the subresource name managedFields record for sub.
func managedSub(sub string) string {
	if sub == "finalize" {
		return ""
	}
	return sub
}

// shouldDeleteOnUpdate reports whether an update removed the last finalizer of an object
// whose deletion waited only for finalizers, as Kubernetes' ShouldDeleteDuringUpdate.
func shouldDeleteOnUpdate(obj, cur api.Object) bool {
	om, cm := obj.GetObjectMeta(), cur.GetObjectMeta()
	if cm.DeletionTimestamp == nil || cm.DeletionGracePeriodSeconds == nil || *cm.DeletionGracePeriodSeconds != 0 {
		return false
	}
	if len(om.Finalizers) > 0 {
		return false
	}
	if ns, ok := obj.(*api.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	return true
}

// prepareUpdate makes obj, the new state a client sent, a valid successor of cur: fields
// the server owns come from cur, the status (or everything but the status, through
// /status) is cur's, and generation counts spec changes. stored is cur as stored.
func (s *Server) prepareUpdate(r *resource, sub string, obj, cur api.Object, stored []byte) error {
	m, cm := obj.GetObjectMeta(), cur.GetObjectMeta()
	var errs api.FieldErrors
	if m.UID != "" && m.UID != cm.UID {
		errs = append(errs, api.InvalidValue("metadata.uid", m.UID, "field is immutable"))
	}
	if !m.CreationTimestamp.IsZero() && !m.CreationTimestamp.Equal(cm.CreationTimestamp.Time) {
		errs = append(errs, api.InvalidValue("metadata.creationTimestamp", m.CreationTimestamp.Format(time.RFC3339), "field is immutable"))
	}
	if len(errs) > 0 {
		return api.Invalid(r.GroupKind(), cm.Name, errs)
	}
	switch sub {
	case "status", "approval", "finalize":
		// Only the status (or the namespace's spec.finalizers) changes: start from a copy of
		// cur, decoded again from storage and defaulted as cur was.
		fresh, err := decodeStored(r, stored, 0)
		if err != nil {
			return api.InternalError(err)
		}
		api.Default(fresh)
		if sub != "finalize" {
			copyField(fresh, obj, "Status")
		} else {
			fresh.(*api.Namespace).Spec.Finalizers = obj.(*api.Namespace).Spec.Finalizers
		}
		fm := fresh.GetObjectMeta()
		fm.ResourceVersion = m.ResourceVersion
		fm.ManagedFields = m.ManagedFields
		if fm.ManagedFields == nil {
			fm.ManagedFields = cm.ManagedFields
		}
		reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(fresh).Elem())
		m = obj.GetObjectMeta()
	case "binding", "scale":
		// Built by the server from cur: taken as is.
	default:
		if r.HasSubresource("status") {
			copyField(obj, cur, "Status")
		}
	}
	m.UID = cm.UID
	m.CreationTimestamp = cm.CreationTimestamp
	m.DeletionTimestamp = cm.DeletionTimestamp
	m.DeletionGracePeriodSeconds = cm.DeletionGracePeriodSeconds
	m.SelfLink = ""
	if m.ManagedFields == nil {
		m.ManagedFields = cm.ManagedFields
	}
	prepareCSRUpdate(sub, obj, cur)
	if pod, ok := obj.(*api.Pod); ok && sub == "" {
		keepAdmittedPriority(pod, cur.(*api.Pod))
	}
	api.Default(obj)
	if ds, ok := obj.(*api.DaemonSet); ok {
		api.SetTemplateGeneration(ds, cur.(*api.DaemonSet))
	}
	if svc, ok := obj.(*api.Service); ok && sub == "" {
		patchAllocatedValues(svc, cur.(*api.Service))
	}
	m.Generation = cm.Generation
	if tracksGeneration(r) {
		if old := fieldJSON(cur, "Spec"); old != nil && !bytes.Equal(old, fieldJSON(obj, "Spec")) {
			m.Generation++
		}
	}
	return nil
}

// tracksGeneration reports whether objects of r carry metadata.generation, counting changes
// of their spec, as in Kubernetes 1.32: workloads whose controllers report an
// observedGeneration, and custom resources (wasmkube.io's kinds), which always do. Pods,
// Services, ConfigMaps and the other built-in kinds have none.
func tracksGeneration(r *resource) bool {
	switch r.Group {
	case "apps", "batch", "wasmkube.io", "policy":
		return true
	}
	return false
}

// releaseDeleted frees what a deleted object held (a service's IPs and ports).
func (s *Server) releaseDeleted(ctx context.Context, obj api.Object) {
	if svc, ok := obj.(*api.Service); ok {
		s.alloc.releaseUnused(ctx, svc, nil)
	}
}

// decodeRV parses a resourceVersion query parameter.
func decodeRV(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, api.BadRequest(fmt.Sprintf("invalid resource version: %q", v))
	}
	return n, nil
}
