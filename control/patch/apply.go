package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// ManagedFieldsEntry is one element of metadata.managedFields: the fields one
// manager owns through one kind of operation, in the same JSON shape as
// Kubernetes.
type ManagedFieldsEntry struct {
	Manager     string          `json:"manager,omitempty"`
	Operation   string          `json:"operation,omitempty"` // "Apply" or "Update"
	APIVersion  string          `json:"apiVersion,omitempty"`
	Time        string          `json:"time,omitempty"`       // RFC 3339, UTC
	FieldsType  string          `json:"fieldsType,omitempty"` // "FieldsV1"
	FieldsV1    json.RawMessage `json:"fieldsV1,omitempty"`
	Subresource string          `json:"subresource,omitempty"`
}

// Operations and the one fields type of ManagedFieldsEntry.
const (
	OperationApply  = "Apply"
	OperationUpdate = "Update"
	FieldsTypeV1    = "FieldsV1"
)

// ErrConflict is matched (errors.Is) by every *ConflictError.
var ErrConflict = errors.New("apply conflict")

// Conflict is one field that an apply would change although another manager
// owns it.
type Conflict struct {
	Manager     string // the other manager
	Operation   string // its operation, "Apply" or "Update"
	APIVersion  string // the API version it wrote with
	Subresource string // the subresource it wrote through, if any
	Field       string // the field, like ".spec.replicas"
}

// Message returns the text Kubernetes puts in the Status cause of a
// conflict: `conflict with "kubectl-client-side-apply" using apps/v1`.
func (c Conflict) Message() string { return "conflict with " + c.managerString() }

func (c Conflict) managerString() string {
	s := fmt.Sprintf("%q", c.Manager)
	if c.Subresource != "" {
		s += fmt.Sprintf(" with subresource %q", c.Subresource)
	}
	if c.Operation == OperationUpdate {
		s += " using " + c.APIVersion
	}
	return s
}

// ConflictError is returned by Apply, without force, when the applied
// configuration would change fields that other managers own. The API server
// answers 409 with one cause per conflict (Message, Field).
type ConflictError struct {
	Conflicts []Conflict
}

// Error returns Kubernetes' message, such as `Apply failed with 1 conflict:
// conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`.
func (e *ConflictError) Error() string {
	if len(e.Conflicts) == 1 {
		c := e.Conflicts[0]
		return fmt.Sprintf("Apply failed with 1 conflict: %s: %s", c.Message(), c.Field)
	}
	byManager := map[string][]string{}
	for _, c := range e.Conflicts {
		byManager[c.managerString()] = append(byManager[c.managerString()], c.Field)
	}
	var lines []string
	for _, m := range slices.Sorted(maps.Keys(byManager)) {
		lines = append(lines, "conflicts with "+m+":")
		for _, f := range byManager[m] {
			lines = append(lines, "- "+f)
		}
	}
	return fmt.Sprintf("Apply failed with %d conflicts: %s", len(e.Conflicts), strings.Join(lines, "\n"))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Apply performs server-side apply of the applied configuration, an object of
// kind, for manager, on live (nil when the object does not exist yet), whose
// metadata.managedFields entries are managed. It returns the new object, with
// metadata.managedFields set to the returned entries, and the entries.
//
// The applied configuration is merged into live: objects field by field, lists
// merged by key element by element (by ListRule), lists of primitives with the
// merge strategy as sets, anything else replaced. Fields the manager applied
// last time and no longer applies are removed, unless another manager also
// owns them, in which case only this manager's ownership goes. Fields not in
// the configuration are left alone. Null values in the configuration are
// ignored. The manager then owns exactly the configuration's fields.
//
// Changing a field that another manager (Apply or Update) owns is a conflict:
// without force, Apply returns a *ConflictError listing them and changes
// nothing; with force, ownership of those fields moves to this manager.
// Setting a field to the value it already has is not a conflict: the field is
// then shared.
//
// Apply never takes metadata.managedFields, resourceVersion, uid,
// creationTimestamp, generation, selfLink, deletionTimestamp,
// deletionGracePeriodSeconds or status from the configuration, and never
// records ownership of them or of apiVersion, kind, metadata.name and
// metadata.namespace. The entry's time is now, unless the apply changed
// nothing (same object, same fields), when the entry is kept as it was, so
// applying twice yields the same bytes. Entries come back sorted by manager,
// operation and subresource; entries left with no fields are dropped.
//
// Errors: ErrMalformed for JSON that does not decode, ErrInvalid for a
// configuration that cannot be applied (a keyed list element without its key
// or with a duplicate key, no manager), *ConflictError.
func Apply(live, applied []byte, kind, manager string, force bool, managed []ManagedFieldsEntry, now time.Time) (result []byte, newManaged []ManagedFieldsEntry, err error) {
	if manager == "" {
		return nil, nil, fmt.Errorf("server-side apply: field manager is required: %w", ErrInvalid)
	}
	if len(bytes.TrimSpace(applied)) == 0 {
		return nil, nil, fmt.Errorf("server-side apply: empty configuration: %w", ErrMalformed)
	}
	cfg, err := decodeObject(applied, "applied configuration")
	if err != nil {
		return nil, nil, fmt.Errorf("server-side apply: %w", err)
	}
	pruneNulls(cfg)
	stripServerFields(cfg)
	sn := schemaRoot(kind)
	appliedSet, err := changedFields(ownedView(cfg, scopeMain), nil, sn, true)
	if err != nil {
		return nil, nil, fmt.Errorf("server-side apply: applied configuration: %w", err)
	}
	owners, err := parseManaged(managed, (*FieldSetCache)(nil).parse)
	if err != nil {
		return nil, nil, fmt.Errorf("server-side apply: %w", err)
	}
	apiVersion, _ := cfg["apiVersion"].(string)
	me := findOwner(owners, manager, OperationApply, "")

	obj := cfg
	unchanged := false
	if len(bytes.TrimSpace(live)) > 0 {
		if obj, err = decodeObject(live, "live object"); err != nil {
			return nil, nil, fmt.Errorf("server-side apply: %w", err)
		}
		changed, _ := changedFields(ownedView(cfg, scopeMain), ownedView(obj, scopeMain), sn, false)
		var conflicts []Conflict
		for i, o := range owners {
			if i == me {
				continue
			}
			changed.intersect(o.set).walk(func(path []string) {
				conflicts = append(conflicts, Conflict{
					Manager: o.Manager, Operation: o.Operation, APIVersion: o.APIVersion,
					Subresource: o.Subresource, Field: pathString(path),
				})
			})
		}
		if len(conflicts) > 0 && !force {
			return nil, nil, &ConflictError{Conflicts: conflicts}
		}
		if force {
			for i, o := range owners {
				if i != me {
					o.set.subtract(changed)
				}
			}
		}
		obj = mergeApplied(obj, cfg, sn).(map[string]any)
		removed := 0
		if me >= 0 {
			removed = prune(obj, owners, me, appliedSet, sn)
		}
		unchanged = changed.empty() && removed == 0
	}

	if me >= 0 {
		o := owners[me]
		if !(unchanged && o.set.equal(appliedSet) && o.APIVersion == apiVersion) {
			o.set, o.APIVersion, o.Time = appliedSet, apiVersion, formatTime(now)
		}
	} else {
		owners = append(owners, &owner{
			ManagedFieldsEntry: ManagedFieldsEntry{
				Manager: manager, Operation: OperationApply, APIVersion: apiVersion, Time: formatTime(now),
			},
			set: appliedSet,
		})
	}
	newManaged = encodeManaged(owners)
	setManaged(obj, newManaged)
	result, err = json.Marshal(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("server-side apply: encode result: %w", err)
	}
	return result, newManaged, nil
}

// RecordUpdate records field ownership for a write that is not an apply
// (create, update, patch) by manager through subresource ("" for the main
// resource, "status", "scale"). oldObj is nil for a create. The kind is read
// from the objects' "kind" field.
//
// The manager's Update entry for that subresource gains every field whose
// value differs from oldObj or is new, and those fields leave every other
// entry; fields that no longer exist leave every entry. Entries left with no
// fields are dropped; the manager's entry takes time now when it gains
// fields. Through "status" only status fields are tracked; otherwise status
// and the server-owned fields Apply ignores are not. Entries come back sorted
// by manager, operation and subresource.
//
// This is how `kubectl scale` after an apply makes the next apply of another
// replicas value a conflict. Errors wrap ErrMalformed or ErrInvalid.
func RecordUpdate(oldObj, newObj []byte, manager string, managed []ManagedFieldsEntry, now time.Time, subresource string) ([]ManagedFieldsEntry, error) {
	return (*FieldSetCache)(nil).RecordUpdate(oldObj, newObj, manager, managed, now, subresource)
}

// FieldSetCache remembers the field sets of the FieldsV1 encodings RecordUpdate
// has read, by their bytes, so that a write does not parse again what the last
// write of the same shape parsed: every pod one client creates the same way,
// every lease its agent renews, carries the same encoding. It holds encodings
// of at most a fixed number of bytes in all (a parsed set takes 15 to 20 times
// its encoding's size), dropping one at random when full. Safe for concurrent
// use; a nil *FieldSetCache caches nothing.
type FieldSetCache struct {
	mu       sync.Mutex
	sets     map[string]*fieldSet // never modified once stored
	bytes    int                  // of the keys
	maxBytes int
}

// NewFieldSetCache returns a cache of encodings of at most maxBytes in all.
func NewFieldSetCache(maxBytes int) *FieldSetCache {
	return &FieldSetCache{sets: make(map[string]*fieldSet), maxBytes: maxBytes}
}

// parse returns the field set of raw, and whether it is shared: a shared set
// must be cloned before it is changed.
func (c *FieldSetCache) parse(raw []byte) (set *fieldSet, shared bool, err error) {
	if c == nil || len(raw) > c.maxBytes {
		s, err := parseFieldsV1(raw)
		return s, false, err
	}
	c.mu.Lock()
	s := c.sets[string(raw)]
	c.mu.Unlock()
	if s != nil {
		return s, true, nil
	}
	if s, err = parseFieldsV1(raw); err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.sets[string(raw)]; !ok {
		for k := range c.sets {
			if c.bytes+len(raw) <= c.maxBytes {
				break
			}
			delete(c.sets, k)
			c.bytes -= len(k)
		}
		c.sets[string(raw)] = s
		c.bytes += len(raw)
	}
	return s, true, nil
}

// RecordUpdate is the package's RecordUpdate, reading managedFields through c.
func (c *FieldSetCache) RecordUpdate(oldObj, newObj []byte, manager string, managed []ManagedFieldsEntry, now time.Time, subresource string) ([]ManagedFieldsEntry, error) {
	return c.recordUpdate(oldObj, newObj, manager, managed, now, subresource, false)
}

// recordUpdate is RecordUpdate; with std, it decodes everything through
// encoding/json and maps, as it did before the fast decoders, which the tests
// hold the fast ones to.
func (c *FieldSetCache) recordUpdate(oldObj, newObj []byte, manager string, managed []ManagedFieldsEntry, now time.Time, subresource string, std bool) ([]ManagedFieldsEntry, error) {
	if manager == "" {
		return nil, fmt.Errorf("record field ownership: field manager is required: %w", ErrInvalid)
	}
	sc := scopeMain
	if subresource == "status" {
		sc = scopeStatus
	}
	// Only the fields the subresource owns are decoded: the rest (status, or all but
	// status, and managedFields) would only be dropped by ownedView.
	decode := func(b []byte, what string) (map[string]any, error) {
		if !std {
			if m, ok := decodeOwned(b, sc); ok {
				return m, nil
			}
			return decodeObject(b, what)
		}
		return decodeObjectWith(decodeValueStd, b, what)
	}
	nw, err := decode(newObj, "new object")
	if err != nil {
		return nil, fmt.Errorf("record field ownership: %w", err)
	}
	var old map[string]any
	if len(bytes.TrimSpace(oldObj)) > 0 {
		if old, err = decode(oldObj, "old object"); err != nil {
			return nil, fmt.Errorf("record field ownership: %w", err)
		}
	}
	kind, _ := nw["kind"].(string)
	if kind == "" && old != nil {
		kind, _ = old["kind"].(string)
	}
	sn := schemaRoot(kind)
	newView, oldView := ownedView(nw, sc), ownedView(old, sc)
	changed, _ := changedFields(newView, oldView, sn, false)
	gone := &fieldSet{}
	if old != nil {
		gone = goneFields(oldView, newView, sn)
	}
	parse := c.parse
	if std {
		parse = func(raw []byte) (*fieldSet, bool, error) {
			s, err := parseFieldsV1Std(raw)
			return s, false, err
		}
	}
	owners, err := parseManaged(managed, parse)
	if err != nil {
		return nil, fmt.Errorf("record field ownership: %w", err)
	}
	apiVersion, _ := nw["apiVersion"].(string)
	me := findOwner(owners, manager, OperationUpdate, subresource)
	// An owner whose set this write leaves alone keeps its encoded fields: most updates
	// (a lease renewal, a status write) change only fields their manager already owns.
	// A shared set is copied only when this write changes it.
	for i, o := range owners {
		if o.shared && (o.set.treesOverlap(gone) || i != me && o.set.overlaps(changed)) {
			o.set, o.shared = o.set.clone(), false
		}
		o.keep = !o.set.subtractTrees(gone)
		if i != me && o.set.subtract(changed) {
			o.keep = false
		}
	}
	switch {
	case me >= 0 && !changed.empty():
		o := owners[me]
		if !o.set.contains(changed) {
			if o.shared {
				o.set, o.shared = o.set.clone(), false
			}
			o.set.union(changed)
			o.keep = false
		}
		o.APIVersion, o.Time = apiVersion, formatTime(now)
	case me < 0 && !changed.empty():
		owners = append(owners, &owner{
			ManagedFieldsEntry: ManagedFieldsEntry{
				Manager: manager, Operation: OperationUpdate, APIVersion: apiVersion,
				Time: formatTime(now), Subresource: subresource,
			},
			set: changed,
		})
	}
	return encodeManaged(owners), nil
}

// ManagedFields returns the metadata.managedFields entries of obj.
func ManagedFields(obj []byte) ([]ManagedFieldsEntry, error) {
	var o struct {
		Metadata struct {
			ManagedFields []ManagedFieldsEntry `json:"managedFields"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(obj, &o); err != nil {
		return nil, fmt.Errorf("read managedFields: %w: %w", ErrMalformed, err)
	}
	return o.Metadata.ManagedFields, nil
}

// SetManagedFields returns obj with metadata.managedFields set to managed
// (removed when managed is empty).
func SetManagedFields(obj []byte, managed []ManagedFieldsEntry) ([]byte, error) {
	m, err := decodeObject(obj, "object")
	if err != nil {
		return nil, fmt.Errorf("set managedFields: %w", err)
	}
	setManaged(m, managed)
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("set managedFields: encode: %w", err)
	}
	return out, nil
}

// owner is a managedFields entry with its decoded field set.
type owner struct {
	ManagedFieldsEntry
	set *fieldSet
	// raw is the entry's FieldsV1 as stored; keep says the write left set alone, so
	// encodeManaged may reuse raw.
	raw  json.RawMessage
	keep bool
	// shared says set belongs to a FieldSetCache: it is cloned before it changes.
	shared bool
}

func parseManaged(managed []ManagedFieldsEntry, parse func([]byte) (*fieldSet, bool, error)) ([]*owner, error) {
	out := make([]*owner, 0, len(managed)+1)
	for _, e := range managed {
		if e.FieldsType != "" && e.FieldsType != FieldsTypeV1 {
			return nil, fmt.Errorf("managedFields entry of %q: fieldsType %q, want %q: %w",
				e.Manager, e.FieldsType, FieldsTypeV1, ErrInvalid)
		}
		s, shared, err := parse(e.FieldsV1)
		if err != nil {
			return nil, fmt.Errorf("managedFields entry of %q: %w: %w", e.Manager, ErrInvalid, err)
		}
		// An owner whose set a write leaves alone keeps the bytes it came with.
		out = append(out, &owner{ManagedFieldsEntry: e, set: s, shared: shared, raw: e.FieldsV1})
	}
	return out, nil
}

func findOwner(owners []*owner, manager, operation, subresource string) int {
	return slices.IndexFunc(owners, func(o *owner) bool {
		return o.Manager == manager && o.Operation == operation && o.Subresource == subresource
	})
}

// encodeManaged drops empty entries, encodes the sets and sorts.
func encodeManaged(owners []*owner) []ManagedFieldsEntry {
	out := make([]ManagedFieldsEntry, 0, len(owners))
	for _, o := range owners {
		if o.set.empty() {
			continue
		}
		e := o.ManagedFieldsEntry
		e.FieldsType, e.FieldsV1 = FieldsTypeV1, o.raw
		if !o.keep || o.raw == nil {
			e.FieldsV1 = o.set.encode()
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b ManagedFieldsEntry) int {
		return strings.Compare(a.Manager+"\x00"+a.Operation+"\x00"+a.Subresource,
			b.Manager+"\x00"+b.Operation+"\x00"+b.Subresource)
	})
	return out
}

func setManaged(obj map[string]any, managed []ManagedFieldsEntry) {
	meta, _ := obj["metadata"].(map[string]any)
	if len(managed) == 0 {
		if meta != nil {
			delete(meta, "managedFields")
		}
		return
	}
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	meta["managedFields"] = managed
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// serverMetadata are the metadata fields the server owns: apply never takes
// them from a configuration and nobody owns them.
var serverMetadata = []string{
	"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
}

// identityMetadata are copied from a configuration but owned by nobody.
var identityMetadata = []string{"name", "namespace"}

func stripServerFields(cfg map[string]any) {
	delete(cfg, "status")
	if meta, ok := cfg["metadata"].(map[string]any); ok {
		for _, k := range serverMetadata {
			delete(meta, k)
		}
	}
}

// scope selects the fields a write through a subresource owns.
type scope uint8

const (
	scopeMain   scope = iota // everything but status and server fields
	scopeStatus              // only status
)

// ownedView returns a shallow view of obj holding only the fields that can be
// owned in sc. obj is not modified.
func ownedView(obj map[string]any, sc scope) map[string]any {
	if obj == nil {
		return nil
	}
	if sc == scopeStatus {
		if st, ok := obj["status"]; ok && st != nil {
			return map[string]any{"status": st}
		}
		return map[string]any{}
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		switch k {
		case "apiVersion", "kind", "status":
			continue
		case "metadata":
			meta, ok := v.(map[string]any)
			if !ok {
				break
			}
			m := make(map[string]any, len(meta))
			for mk, mv := range meta {
				if !slices.Contains(serverMetadata, mk) && !slices.Contains(identityMetadata, mk) {
					m[mk] = mv
				}
			}
			if len(m) == 0 {
				continue
			}
			v = m
		}
		out[k] = v
	}
	return out
}

// mergeApplied merges an applied configuration value into a live one.
func mergeApplied(dst, src any, sn *schemaNode) any {
	switch s := src.(type) {
	case map[string]any:
		d, ok := dst.(map[string]any)
		if !ok {
			return s
		}
		for k, v := range s {
			d[k] = mergeApplied(d[k], v, sn.child(k))
		}
		return d
	case []any:
		d, ok := dst.([]any)
		if !ok {
			return s
		}
		switch {
		case sn.keyed():
			where := make(map[string]int, len(d))
			for i, e := range d {
				if k, ok := elementKey(e, sn.mergeKey); ok {
					if _, dup := where[k]; !dup {
						where[k] = i
					}
				}
			}
			for _, e := range s {
				k, _ := elementKey(e, sn.mergeKey)
				if i, ok := where[k]; ok {
					d[i] = mergeApplied(d[i], e, sn)
					continue
				}
				where[k] = len(d)
				d = append(d, e)
			}
			return d
		case sn.set():
			have := make(map[string]bool, len(d))
			for _, e := range d {
				have[canonicalKey(e)] = true
			}
			for _, e := range s {
				if k := canonicalKey(e); !have[k] {
					have[k] = true
					d = append(d, e)
				}
			}
			return d
		}
	}
	return src
}

// prune removes from obj the fields the applying owner (owners[me]) applied
// last time and not now, unless another owner has them or anything below
// them. It returns how many fields it removed.
func prune(obj map[string]any, owners []*owner, me int, applied *fieldSet, sn *schemaNode) int {
	dropped := owners[me].set.clone()
	dropped.subtract(applied)
	if dropped.empty() {
		return 0
	}
	others := &fieldSet{}
	for i, o := range owners {
		if i != me {
			others.union(o.set)
		}
	}
	kept := others.clone()
	kept.union(applied)
	var paths [][]string
	dropped.walk(func(path []string) {
		if !others.covers(path) && !isKeyField(path) {
			paths = append(paths, slices.Clone(path))
		}
	})
	removed := 0
	for _, p := range paths {
		var did bool
		obj, did = removePath(obj, p, kept)
		if did {
			removed++
		}
	}
	return removed
}

// isKeyField reports whether path ends at the merge key field of a keyed list
// element, which goes only with its element.
func isKeyField(path []string) bool {
	n := len(path)
	if n < 2 || !strings.HasPrefix(path[n-1], "f:") || !strings.HasPrefix(path[n-2], "k:") {
		return false
	}
	v, err := decodeValue([]byte(path[n-2][2:]))
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return false
	}
	_, isKey := m[path[n-1][2:]]
	return isKey
}

// removePath deletes the value at path under obj. Objects and lists left
// empty by the deletion go too, unless kept has them as members.
func removePath(obj map[string]any, path []string, kept *fieldSet) (map[string]any, bool) {
	v, did := removeIn(obj, path, kept)
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, did
}

func removeIn(v any, path []string, kept *fieldSet) (any, bool) {
	el, rest := path[0], path[1:]
	prefix, body, _ := strings.Cut(el, ":")
	switch prefix {
	case "f":
		m, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		child, present := m[body]
		if !present {
			return v, false
		}
		if len(rest) == 0 {
			delete(m, body)
			return m, true
		}
		nc, did := removeIn(child, rest, kept.child(el))
		m[body] = nc
		if did && isEmptyContainer(nc) && !isMember(kept.child(el)) {
			delete(m, body)
		}
		return m, did
	case "k":
		l, ok := v.([]any)
		if !ok {
			return v, false
		}
		key, err := decodeValue([]byte(body))
		km, isMap := key.(map[string]any)
		if err != nil || !isMap {
			return v, false
		}
		i := slices.IndexFunc(l, func(e any) bool {
			em, ok := e.(map[string]any)
			if !ok {
				return false
			}
			for k, kv := range km {
				if !valueEqual(em[k], kv) {
					return false
				}
			}
			return true
		})
		if i < 0 {
			return v, false
		}
		if len(rest) == 0 {
			return slices.Delete(slices.Clone(l), i, i+1), true
		}
		nc, did := removeIn(l[i], rest, kept.child(el))
		l[i] = nc
		return l, did
	case "v":
		l, ok := v.([]any)
		if !ok || len(rest) != 0 {
			return v, false
		}
		val, err := decodeValue([]byte(body))
		if err != nil {
			return v, false
		}
		out := deleteFromList(l, []any{val})
		return out, len(out) != len(l)
	}
	return v, false
}

// pruneNulls removes null fields from objects, recursively, and the objects
// that held nothing but nulls.
func pruneNulls(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if c == nil {
				delete(x, k)
				continue
			}
			if cm, ok := c.(map[string]any); ok && len(cm) > 0 {
				pruneNulls(cm)
				if len(cm) == 0 {
					delete(x, k)
				}
				continue
			}
			pruneNulls(c)
		}
	case []any:
		for _, c := range x {
			pruneNulls(c)
		}
	}
}

func isMember(s *fieldSet) bool { return s != nil && s.self }

func isEmptyContainer(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
