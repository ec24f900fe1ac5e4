package policy

import (
	"fmt"
	"reflect"
	"sync/atomic"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// objectType is a CEL object type whose values are *object. It implements ref.Type and
// types.StructTypeDescriptor, so cel.Types registers it with the environment's type registry:
// the checker resolves field names and types through FindFieldType, and the interpreter reads
// a field through its FieldType.GetFrom, an index into the object's fields.
type objectType struct {
	name    string
	celType *types.Type
	goType  reflect.Type // nil for types with no Go struct behind them
	fields  []*field
	byName  map[string]*field
	names   []string
	zero    *object // every field unset
	// minBytes is the size of the fields always present in the JSON encoding; maxSize the
	// largest shape.size() of a value, at most the object-size bound.
	minBytes, maxSize uint64
	// convertFn replaces the reflective conversion for types that are not Go structs.
	convertFn func(reflect.Value) *object
}

// field is one field of an object type.
type field struct {
	name  string
	pos   int   // index in object.f
	index []int // Go struct field index, through inline embedded structs
	shape *shape
	ft    *types.FieldType
}

// fieldVal is a converted field: its value (the zero value when unset) and presence.
type fieldVal struct {
	v   ref.Val
	set bool
}

var (
	_ ref.Type                   = (*objectType)(nil)
	_ types.StructTypeDescriptor = (*objectType)(nil)
	_ ref.Val                    = (*object)(nil)
	_ traits.Indexer             = (*object)(nil)
	_ traits.FieldTester         = (*object)(nil)
)

func newObjectType(name string, goType reflect.Type) *objectType {
	return &objectType{name: name, celType: types.NewObjectType(name), goType: goType,
		byName: map[string]*field{}}
}

func (t *objectType) addField(name string, index []int, sh *shape) error {
	if _, dup := t.byName[name]; dup {
		return fmt.Errorf("object type %s: field %q appears twice", t.name, name)
	}
	f := &field{name: name, pos: len(t.fields), index: index, shape: sh}
	pos := f.pos
	f.ft = &types.FieldType{
		Type: sh.typ,
		IsSet: func(target any) bool {
			o, ok := t.asObject(target)
			return ok && o.field(pos).set
		},
		GetFrom: func(target any) (any, error) {
			o, ok := t.asObject(target)
			if !ok {
				return nil, fmt.Errorf("field %s of %s: got a value of type %T", name, t.name, target)
			}
			return o.field(pos).v, nil
		},
	}
	t.fields = append(t.fields, f)
	t.byName[name] = f
	t.names = append(t.names, name)
	return nil
}

// asObject returns target as an object of type t: a prepared object, or a Go value of t's Go
// type handed to an evaluation as is (wrapped on the spot).
func (t *objectType) asObject(target any) (*object, bool) {
	if o, ok := target.(*object); ok {
		return o, o.t == t
	}
	if t.goType == nil {
		return nil, false
	}
	if o, ok := t.Adapt(nil, target).(*object); ok {
		return o, true
	}
	return nil, false
}

// finish is called once every field is added: it builds the zero object, every field unset.
func (t *objectType) finish() {
	t.zero = t.filled()
	for i, f := range t.fields {
		if z := f.shape.zeroValue(); z != nil { // nil only inside a recursive type
			t.zero.f[i].Store(&fieldVal{v: z})
		}
	}
}

// filled returns an object with no Go value behind it, for fields to be stored in.
func (t *objectType) filled() *object {
	return &object{t: t, f: make([]atomic.Pointer[fieldVal], len(t.fields))}
}

// convert wraps Go struct value v (of t's Go type) in an object. Nothing is converted yet:
// each field is converted when an expression first reads it, and kept.
func (t *objectType) convert(v reflect.Value) *object {
	if t.convertFn != nil {
		return t.convertFn(v)
	}
	return &object{t: t, src: v, f: make([]atomic.Pointer[fieldVal], len(t.fields))}
}

// HasTrait implements ref.Type.
func (t *objectType) HasTrait(trait int) bool { return t.celType.HasTrait(trait) }

// TypeName implements ref.Type.
func (t *objectType) TypeName() string { return t.name }

// ReflectType implements types.StructTypeDescriptor.
func (t *objectType) ReflectType() reflect.Type { return t.goType }

// FieldNames implements types.StructTypeDescriptor.
func (t *objectType) FieldNames() []string { return t.names }

// FindFieldType implements types.StructTypeDescriptor.
func (t *objectType) FindFieldType(name string) (*types.FieldType, bool) {
	f, ok := t.byName[name]
	if !ok {
		return nil, false
	}
	return f.ft, true
}

// NewValue implements types.StructTypeDescriptor: an object literal such as
// `api.ResourceList{cpu: 500}`. The checker has already matched the field types.
func (t *objectType) NewValue(_ types.Adapter, fields map[string]ref.Val) ref.Val {
	o := t.filled()
	for name, v := range fields {
		f, ok := t.byName[name]
		if !ok {
			return types.NewErr("no such field: %s", name)
		}
		o.f[f.pos].Store(&fieldVal{v: v, set: true})
	}
	return o
}

// Adapt implements types.StructTypeDescriptor: a Go API object handed to CEL directly is
// wrapped on the spot (prepared inputs are what evaluation should use).
func (t *objectType) Adapt(_ types.Adapter, value any) ref.Val {
	v := reflect.ValueOf(value)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return types.NullValue
		}
		v = v.Elem()
	}
	if t.goType == nil || v.Type() != t.goType {
		return types.NewErr("cannot convert %T to %s", value, t.name)
	}
	return t.convert(v)
}

// object is a value of an objectType: the Go struct it stands for, read lazily, and the fields
// converted so far. The Go value is only read, and a converted field is published atomically
// (two evaluations converting the same field at once keep the first result), so any number of
// evaluations may share an object.
type object struct {
	t   *objectType
	src reflect.Value // invalid for objects whose fields are stored up front
	f   []atomic.Pointer[fieldVal]
}

// field returns field pos, converting it on first use.
func (o *object) field(pos int) *fieldVal {
	if fv := o.f[pos].Load(); fv != nil {
		return fv
	}
	f := o.t.fields[pos]
	if !o.src.IsValid() {
		return &fieldVal{v: f.shape.zeroValue()}
	}
	val, set := f.shape.conv(o.src.FieldByIndex(f.index))
	if !set {
		val = f.shape.zeroValue()
	}
	fv := &fieldVal{v: val, set: set}
	if o.f[pos].CompareAndSwap(nil, fv) {
		return fv
	}
	return o.f[pos].Load()
}

// ConvertToNative implements ref.Val; an object converts only to itself.
func (o *object) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if typeDesc == reflect.TypeOf(o) {
		return o, nil
	}
	return nil, fmt.Errorf("type conversion error from %s to %v", o.t.name, typeDesc)
}

// ConvertToType implements ref.Val.
func (o *object) ConvertToType(typeVal ref.Type) ref.Val {
	switch typeVal.TypeName() {
	case o.t.name:
		return o
	case types.TypeType.TypeName():
		return o.t.celType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.t.name, typeVal.TypeName())
}

// Equal implements ref.Val: same type and every field equal (unset fields as their zero value).
func (o *object) Equal(other ref.Val) ref.Val {
	p, ok := other.(*object)
	switch {
	case !ok || p.t.name != o.t.name || len(p.f) != len(o.f):
		return types.False
	case p == o: // also ends the recursion through a recursive type's zero object
		return types.True
	}
	for i := range o.f {
		if eq := o.field(i).v.Equal(p.field(i).v); eq != types.True {
			return types.False
		}
	}
	return types.True
}

// Type implements ref.Val.
func (o *object) Type() ref.Type { return o.t.celType }

// Value implements ref.Val; the interpreter hands it to FieldType.GetFrom.
func (o *object) Value() any { return o }

// Get implements traits.Indexer, for field access the checker could not resolve statically.
func (o *object) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(index)
	}
	f, ok := o.t.byName[string(name)]
	if !ok {
		return types.NewErr("no such field: %s", name)
	}
	return o.field(f.pos).v
}

// IsSet implements traits.FieldTester.
func (o *object) IsSet(fieldName ref.Val) ref.Val {
	name, ok := fieldName.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(fieldName)
	}
	f, ok := o.t.byName[string(name)]
	if !ok {
		return types.NewErr("no such field: %s", name)
	}
	return types.Bool(o.field(f.pos).set)
}
