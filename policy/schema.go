package policy

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/wasmkube/wasmkube/control/api"
)

// The schema is how Go API types become typed CEL objects. It is derived by reflection from the
// Go structs and their json tags, so a field added to an API type appears in every environment
// under its wire name without anyone touching this package, and a misspelt field is a compile
// error. The types are built by reflection once, with the environment. Inputs (PodInput,
// NodeInput) wrap the Go object; each field is converted the first time an expression reads it
// and kept, so evaluating one input against many nodes converts it once, and only the fields
// the policies read.
//
// Rules, applied to every exported field that has a json name:
//   - string kinds (including named ones such as ConditionStatus) are string; bool is bool;
//     signed and unsigned integers are int and uint; floats are double; []byte is bytes.
//   - structs are objects named after their Go package and type ("api.Pod"); a struct embedded
//     with `json:",inline"` contributes its fields to the outer object.
//   - pointers are the type they point to; a nil pointer is an unset field.
//   - slices are lists, maps with string keys are maps.
//   - api.Time and api.MicroTime are timestamps; api.IntOrString is dyn (an int or a string);
//     api.Quantity is an int in whole units, rounded up (bytes for sizes).
//   - api.ResourceList is the object api.ResourceList with fields cpu (int, millicores),
//     memory (int, bytes) and pods (int); other resource names are not visible.
//
// A Go type these rules do not cover makes building the environment fail, naming the field, so
// a new kind of API field is noticed by this package's tests rather than silently left out.

// shape is the CEL side of one Go field: its type, how to convert a Go value and the largest size
// the cost estimator may assume for it.
type shape struct {
	typ *types.Type
	// max is the largest size of a value: bytes of a string, items of a list, entries of a map,
	// the sum of the field sizes of an object (what comparing two costs). Zero for scalars.
	max uint64
	// minBytes is the fewest bytes a value of this shape takes in the object's JSON encoding;
	// it bounds how many items or entries a list or map of them can have.
	minBytes uint64
	// elem is the shape of a list's items or a map's values; key the shape of a map's keys.
	elem, key *shape
	// obj is set for objects.
	obj *objectType
	// conv converts a Go value of this shape. set reports whether the field counts as present
	// (has()): non-zero scalars, non-empty lists and maps, non-nil pointers, structs that are
	// not the Go zero value.
	conv func(v reflect.Value) (val ref.Val, set bool)
	// zero is what an unset field reads as; nil for objects (see zeroValue).
	zero ref.Val
}

// zeroValue is what an unset field of this shape reads as: the zero value of its type, as proto3
// fields do, so `pod.spec.nodeName == ""` works whether or not the field was sent.
func (s *shape) zeroValue() ref.Val {
	if s.obj != nil {
		return s.obj.zero
	}
	return s.zero
}

// child resolves one element of a cost-estimator path: a field name, a map key used as a field
// name, "@items", "@keys" or "@values".
func (s *shape) child(name string) *shape {
	switch {
	case s == nil:
		return nil
	case name == "@items" || name == "@values":
		return s.elem
	case name == "@keys":
		return s.key
	case s.obj != nil:
		if f, ok := s.obj.byName[name]; ok {
			return f.shape
		}
	case s.key != nil:
		return s.elem // labels.zone: a map selected with field syntax
	}
	return nil
}

// bound is what the API guarantees about the size of one field, used instead of the
// object-size bound where the API validates more strictly.
type bound struct {
	size       uint64 // bytes of a string, entries of a map, items of a list
	key, value uint64 // bytes of a string map's keys and values
}

// fieldKey names a Go struct field.
type fieldKey struct {
	t     reflect.Type
	field string // Go field name
}

// apiBounds returns the sizes api.Validate enforces, which are tighter than the object-size
// bound: DNS names, label keys (a 253-byte prefix, '/', a 63-byte name) and values, the
// annotations' total.
func apiBounds() map[fieldKey]bound {
	meta := reflect.TypeFor[api.ObjectMeta]()
	const labelKey, labelValue = 253 + 1 + 63, 63
	return map[fieldKey]bound{
		{meta, "Name"}:                               {size: 253},
		{meta, "GenerateName"}:                       {size: 253},
		{meta, "Namespace"}:                          {size: 63},
		{meta, "Labels"}:                             {key: labelKey, value: labelValue},
		{meta, "Annotations"}:                        {size: api.MaxAnnotationsBytes, key: labelKey, value: api.MaxAnnotationsBytes},
		{reflect.TypeFor[api.Container](), "Name"}:   {size: 63},
		{reflect.TypeFor[api.PodSpec](), "NodeName"}: {size: 253},
	}
}

// skippedFields are API fields not exposed to expressions: managedFields is server-side apply
// bookkeeping, large and raw JSON, and no placement decision should depend on it.
func skippedFields() map[fieldKey]bool {
	return map[fieldKey]bool{{reflect.TypeFor[api.ObjectMeta](), "ManagedFields"}: true}
}

// schema builds and owns the object types of one environment.
type schema struct {
	maxBytes uint64 // largest encoded object; bounds every string, list and map
	names    map[reflect.Type]string
	bounds   map[fieldKey]bound
	skip     map[fieldKey]bool
	objects  map[reflect.Type]*objectType
	order    []*objectType // registration order
}

// newSchema returns an empty schema; names overrides the CEL name of Go types (the default is
// "<package>.<Type>").
func newSchema(maxObjectBytes uint64, names map[reflect.Type]string) *schema {
	return &schema{
		maxBytes: maxObjectBytes,
		names:    names,
		bounds:   apiBounds(),
		skip:     skippedFields(),
		objects:  map[reflect.Type]*objectType{},
	}
}

// types returns every object type for registration with cel.Types.
func (s *schema) types() []any {
	out := make([]any, len(s.order))
	for i, t := range s.order {
		out[i] = t
	}
	return out
}

// object returns the object type for Go struct type rt, building it on first use.
func (s *schema) object(rt reflect.Type) (*objectType, error) {
	if t, ok := s.objects[rt]; ok {
		return t, nil
	}
	name := s.names[rt]
	if name == "" {
		pkg := rt.PkgPath()
		name = pkg[strings.LastIndexByte(pkg, '/')+1:] + "." + rt.Name()
	}
	t := newObjectType(name, rt)
	s.objects[rt] = t // before the fields, so a recursive type refers to itself
	if err := s.addFields(t, rt, nil); err != nil {
		return nil, err
	}
	for _, f := range t.fields {
		t.maxSize = min(s.maxBytes, satAdd(t.maxSize, f.shape.size()))
	}
	t.finish()
	s.order = append(s.order, t)
	return t, nil
}

// addFields adds the fields of struct rt (reached through index from the outer struct) to t,
// flattening inline embedded structs.
func (s *schema) addFields(t *objectType, rt reflect.Type, index []int) error {
	for i := range rt.NumField() {
		sf := rt.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		inline := sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct
		if (!sf.IsExported() && !inline) || s.skip[fieldKey{rt, sf.Name}] || (name == "-" && opts == "") {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		if inline { // as encoding/json does, even for an unexported embedded type
			if err := s.addFields(t, sf.Type, idx); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		sh, err := s.shapeOf(sf.Type, s.bounds[fieldKey{rt, sf.Name}])
		if err != nil {
			return fmt.Errorf("%s.%s: %w", rt.Name(), sf.Name, err)
		}
		if err := t.addField(name, idx, sh); err != nil {
			return err
		}
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			// Always encoded: `"name":VALUE,`.
			t.minBytes += uint64(len(name)) + 4 + sh.minBytes
		}
	}
	return nil
}

// shapeOf maps Go type rt to its CEL shape; b tightens the default size bounds.
func (s *schema) shapeOf(rt reflect.Type, b bound) (*shape, error) {
	or := func(v, def uint64) uint64 {
		if v != 0 {
			return v
		}
		return def
	}
	switch rt {
	case reflect.TypeFor[api.Time]():
		return timestampShape(func(v reflect.Value) types.Timestamp {
			return types.Timestamp{Time: v.Interface().(api.Time).Time}
		}), nil
	case reflect.TypeFor[api.MicroTime]():
		return timestampShape(func(v reflect.Value) types.Timestamp {
			return types.Timestamp{Time: v.Interface().(api.MicroTime).Time}
		}), nil
	case reflect.TypeFor[api.Quantity]():
		return &shape{typ: types.IntType, zero: types.IntZero, minBytes: 3, conv: func(v reflect.Value) (ref.Val, bool) {
			q := v.Interface().(api.Quantity)
			return types.Int(q.Value()), !q.IsZero()
		}}, nil
	case reflect.TypeFor[api.IntOrString]():
		return &shape{typ: types.DynType, max: or(b.size, s.maxBytes), zero: types.IntZero, minBytes: 1,
			conv: func(v reflect.Value) (ref.Val, bool) {
				x := v.Interface().(api.IntOrString)
				if x.IsString {
					return types.String(x.StrVal), x.StrVal != ""
				}
				return types.Int(x.IntVal), x.IntVal != 0
			}}, nil
	case reflect.TypeFor[api.ResourceList]():
		return s.resourceListShape(), nil
	}

	switch rt.Kind() {
	case reflect.String:
		return &shape{typ: types.StringType, max: or(b.size, s.maxBytes), zero: types.String(""), minBytes: 2,
			conv: func(v reflect.Value) (ref.Val, bool) {
				return types.String(v.String()), v.Len() > 0
			}}, nil
	case reflect.Bool:
		return &shape{typ: types.BoolType, zero: types.False, minBytes: 4, conv: func(v reflect.Value) (ref.Val, bool) {
			return types.Bool(v.Bool()), v.Bool()
		}}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &shape{typ: types.IntType, zero: types.IntZero, minBytes: 1, conv: func(v reflect.Value) (ref.Val, bool) {
			return types.Int(v.Int()), v.Int() != 0
		}}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &shape{typ: types.UintType, zero: types.Uint(0), minBytes: 1, conv: func(v reflect.Value) (ref.Val, bool) {
			return types.Uint(v.Uint()), v.Uint() != 0
		}}, nil
	case reflect.Float32, reflect.Float64:
		return &shape{typ: types.DoubleType, zero: types.Double(0), minBytes: 1, conv: func(v reflect.Value) (ref.Val, bool) {
			return types.Double(v.Float()), v.Float() != 0
		}}, nil
	case reflect.Pointer:
		elem, err := s.shapeOf(rt.Elem(), b)
		if err != nil {
			return nil, err
		}
		ptr := *elem
		ptr.minBytes = min(elem.minBytes, 4) // null
		ptr.conv = func(v reflect.Value) (ref.Val, bool) {
			if v.IsNil() {
				return nil, false
			}
			val, _ := elem.conv(v.Elem())
			return val, true
		}
		return &ptr, nil
	case reflect.Struct:
		t, err := s.object(rt)
		if err != nil {
			return nil, err
		}
		// Both are still zero while t is being built (a recursive type): bounds still.
		return &shape{typ: t.celType, obj: t, max: max(t.maxSize, 1), minBytes: 2 + t.minBytes, conv: func(v reflect.Value) (ref.Val, bool) {
			return t.convert(v), !v.IsZero()
		}}, nil
	case reflect.Slice:
		if rt.Elem().Kind() == reflect.Uint8 {
			return &shape{typ: types.BytesType, max: or(b.size, s.maxBytes), zero: types.Bytes(nil), minBytes: 2,
				conv: func(v reflect.Value) (ref.Val, bool) {
					return types.Bytes(v.Bytes()), v.Len() > 0
				}}, nil
		}
		return s.listShape(rt, b)
	case reflect.Map:
		return s.mapShape(rt, b)
	}
	return nil, fmt.Errorf("go type %s has no CEL mapping; add one to policy/schema.go", rt)
}

// size is the largest number of scalars and string bytes in a value of this shape, the
// measure the cost estimator charges a comparison by; at least 1.
func (s *shape) size() uint64 {
	switch {
	case s.obj != nil:
		return max(s.max, 1)
	case s.key != nil:
		return satMul(s.max, satAdd(s.key.size(), s.elem.size()))
	case s.elem != nil:
		return satMul(s.max, s.elem.size())
	}
	return max(s.max, 1)
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

func satMul(a, b uint64) uint64 {
	if a != 0 && b > math.MaxUint64/a {
		return math.MaxUint64
	}
	return a * b
}

// timestampShape maps a time; unset, it reads as the Unix epoch, as in proto3.
func timestampShape(get func(reflect.Value) types.Timestamp) *shape {
	return &shape{typ: types.TimestampType, zero: types.Timestamp{Time: time.Unix(0, 0).UTC()}, minBytes: 4,
		conv: func(v reflect.Value) (ref.Val, bool) {
			ts := get(v)
			return ts, !ts.IsZero()
		}}
}

// listShape maps a slice; []string is wrapped without copying.
func (s *schema) listShape(rt reflect.Type, b bound) (*shape, error) {
	elem, err := s.shapeOf(rt.Elem(), bound{})
	if err != nil {
		return nil, err
	}
	itemMax := b.size
	if itemMax == 0 {
		itemMax = s.maxBytes / (elem.minBytes + 1) // an item and a comma
	}
	sh := &shape{typ: types.NewListType(elem.typ), max: itemMax, elem: elem, minBytes: 2,
		zero: types.NewRefValList(types.DefaultTypeAdapter, nil)}
	if rt.Elem() == reflect.TypeFor[string]() {
		sh.conv = func(v reflect.Value) (ref.Val, bool) {
			return types.NewStringList(types.DefaultTypeAdapter, v.Interface().([]string)), v.Len() > 0
		}
		return sh, nil
	}
	sh.conv = func(v reflect.Value) (ref.Val, bool) {
		n := v.Len()
		if n == 0 {
			return sh.zero, false
		}
		items := make([]ref.Val, n)
		for i := range n {
			val, set := elem.conv(v.Index(i))
			if !set {
				val = elem.zeroValue()
			}
			items[i] = val
		}
		return types.NewRefValList(types.DefaultTypeAdapter, items), true
	}
	return sh, nil
}

// mapShape maps a map with string keys. Values are converted ahead of time, so a lookup such
// as node.metadata.labels.zone allocates nothing during evaluation.
func (s *schema) mapShape(rt reflect.Type, b bound) (*shape, error) {
	if rt.Key().Kind() != reflect.String {
		return nil, fmt.Errorf("go type %s: only maps with string keys have a CEL mapping", rt)
	}
	key, err := s.shapeOf(rt.Key(), bound{size: b.key})
	if err != nil {
		return nil, err
	}
	elem, err := s.shapeOf(rt.Elem(), bound{size: b.value})
	if err != nil {
		return nil, err
	}
	entries := b.size
	if entries == 0 {
		entries = s.maxBytes / (key.minBytes + elem.minBytes + 2) // key, colon, value, comma
	}
	sh := &shape{typ: types.NewMapType(key.typ, elem.typ), max: entries, key: key, elem: elem, minBytes: 2,
		zero: types.NewMap[string, ref.Val](types.DefaultTypeAdapter, nil)}
	if rt == reflect.TypeFor[map[string]string]() {
		sh.conv = func(v reflect.Value) (ref.Val, bool) {
			if v.Len() == 0 {
				return sh.zero, false
			}
			src := v.Interface().(map[string]string)
			m := make(map[string]ref.Val, len(src))
			for k, v := range src {
				m[k] = types.String(v)
			}
			return types.NewMap(types.DefaultTypeAdapter, m), true
		}
		return sh, nil
	}
	sh.conv = func(v reflect.Value) (ref.Val, bool) {
		if v.Len() == 0 {
			return sh.zero, false
		}
		m := make(map[string]ref.Val, v.Len())
		for it := v.MapRange(); it.Next(); {
			val, set := elem.conv(it.Value())
			if !set {
				val = elem.zeroValue()
			}
			m[it.Key().String()] = val
		}
		return types.NewMap(types.DefaultTypeAdapter, m), true
	}
	return sh, nil
}

// resourceListShape exposes a ResourceList as an object with one int field per resource
// wasmkube accounts for, in the unit the scheduler adds up: cpu in millicores, memory in bytes,
// pods as a count. A typo in a resource name is then a compile error, and a missing resource
// reads as 0 (has() tells it apart).
func (s *schema) resourceListShape() *shape {
	rt := reflect.TypeFor[api.ResourceList]()
	t, ok := s.objects[rt]
	if !ok {
		t = newResourceListType()
		s.objects[rt] = t
		s.order = append(s.order, t)
	}
	return &shape{typ: t.celType, obj: t, max: t.maxSize, minBytes: 2, conv: func(v reflect.Value) (ref.Val, bool) {
		if v.Len() == 0 {
			return t.zero, false
		}
		return t.convert(v), true
	}}
}

func newResourceListType() *objectType {
	t := newObjectType("api.ResourceList", nil)
	units := []struct {
		name  string
		milli bool
	}{{api.ResourceCPU, true}, {api.ResourceMemory, false}, {api.ResourcePods, false}}
	intShape := &shape{typ: types.IntType, zero: types.IntZero}
	for _, u := range units {
		// The index is unused: conversion reads the map, not struct fields.
		if err := t.addField(u.name, nil, intShape); err != nil {
			panic(err) // three distinct constant names
		}
	}
	t.maxSize = uint64(len(units))
	t.finish()
	t.convertFn = func(v reflect.Value) *object {
		rl := v.Interface().(api.ResourceList)
		o := t.filled()
		for i, u := range units {
			fv := &fieldVal{v: types.IntZero}
			if q, ok := rl[u.name]; ok {
				fv = &fieldVal{v: types.Int(q.Value()), set: true}
				if u.milli {
					fv.v = types.Int(q.MilliValue())
				}
			}
			o.f[i].Store(fv)
		}
		return o
	}
	return t
}
