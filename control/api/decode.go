package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode"

	jsonv2 "github.com/go-json-experiment/json"
)

// Decoder decodes API objects strictly: a field the Go type does not declare, a value of the
// wrong type, or a malformed quantity is an error that names its field path, so the API can
// refuse it with 422 instead of silently dropping it. A Decoder caches type layouts and is safe
// for concurrent use.
type Decoder struct {
	layouts sync.Map // reflect.Type -> *structLayout
	oneWay  sync.Map // reflect.Type -> bool: whether the fast path may decide for the type
}

// ErrMalformed marks input that is not JSON at all (the API answers 400).
var ErrMalformed = errors.New("malformed JSON")

type structLayout struct {
	fields map[string]reflect.Type // json name -> field type
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
var rawMessageType = reflect.TypeFor[json.RawMessage]()

// Decode decodes data into obj. It returns an error wrapping ErrMalformed for invalid JSON,
// or FieldErrors (unknown fields and type errors, with paths) for a document that is JSON but
// does not fit the type.
//
// A zero obj (what the API server decodes into) is decoded in one pass by go-json-experiment
// with strictOptions; only a document that fails that pass, or a non-zero obj, takes the
// original two passes (a generic decode walked for unknown fields, then encoding/json), which
// name every bad field. The fast pass accepts nothing the slow path refuses and decodes what
// it accepts into the same value (TestStrictFastPathAgrees, FuzzStrictFastPath); it refuses a
// few odd documents the slow path accepts, such as a duplicated name whose first value holds
// an unknown field, and those cost the second pass. A type whose fields the walk sees
// otherwise than encoding/json (see fastPathFits) always takes the slow path.
func (d *Decoder) Decode(data []byte, obj any) error {
	if rv := reflect.ValueOf(obj); rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().IsZero() && d.fastPathFits(rv.Type()) {
		if jsonv2.Unmarshal(data, obj, strictOptions) == nil {
			return nil
		}
		rv.Elem().SetZero() // undo what the failed pass decoded: the slow path merges into obj
	}
	return d.decodeSlow(data, obj)
}

// decodeSlow is Decode without the fast path: it finds every unknown field and type error.
func (d *Decoder) decodeSlow(data []byte, obj any) error {
	var generic any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: unexpected data after the top-level value", ErrMalformed)
	}
	var errs FieldErrors
	d.walk(generic, reflect.TypeOf(obj), "", &errs)
	if len(errs) > 0 {
		return errs
	}
	if err := json.Unmarshal(data, obj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return FieldErrors{{Type: FieldValueTypeInvalid, Field: te.Field,
				Detail: fmt.Sprintf("expected %s, got %s", te.Type, te.Value)}}
		}
		return FieldErrors{{Type: FieldValueInvalid, Detail: err.Error()}}
	}
	return nil
}

// Error joins the field errors, making FieldErrors usable as an error.
func (fe FieldErrors) Error() string {
	msgs := make([]string, len(fe))
	for i, e := range fe {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, ", ")
}

func (d *Decoder) layout(t reflect.Type) *structLayout {
	if l, ok := d.layouts.Load(t); ok {
		return l.(*structLayout)
	}
	l := &structLayout{fields: map[string]reflect.Type{}}
	collectFields(t, l.fields)
	d.layouts.Store(t, l)
	return l
}

// fastPathFits reports whether the walk of the slow path sees t's fields as encoding/json
// does, so that the fast path accepts nothing the slow path refuses. It does not for an
// embedded pointer to a struct (encoding/json flattens it, the walk does not), an embedded
// struct with a name and ",inline", a name two fields claim (encoding/json's dominance rules),
// a tag name encoding/json ignores, or a TextUnmarshaler (which the walk takes for its kind).
// The API's types fit; the answer is cached.
func (d *Decoder) fastPathFits(t reflect.Type) bool {
	if ok, found := d.oneWay.Load(t); found {
		return ok.(bool)
	}
	ok := typeFits(t, map[reflect.Type]bool{})
	d.oneWay.Store(t, ok)
	return ok
}

func typeFits(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	switch {
	case t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType):
		return true // both paths call its UnmarshalJSON
	case t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType):
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return typeFits(t.Elem(), seen)
	case reflect.Struct:
		return structFits(t, map[string]bool{}, seen)
	}
	return true
}

func structFits(t reflect.Type, names map[string]bool, seen map[reflect.Type]bool) bool {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := strings.Contains(opts, "inline")
		if f.Anonymous {
			switch {
			case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct && name == "":
				return false
			case f.Type.Kind() == reflect.Struct && name != "" && (inline || !f.IsExported()):
				return false
			case f.Type.Kind() == reflect.Struct && name == "":
				if !structFits(f.Type, names, seen) {
					return false
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		} else if !validTagName(name) {
			return false
		}
		if names[name] {
			return false
		}
		names[name] = true
		if !typeFits(f.Type, seen) {
			return false
		}
	}
	return true
}

// validTagName is encoding/json's test of a tag's name; it uses the Go name for another.
func validTagName(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) && f.Type.Kind() == reflect.Struct {
			if strings.Contains(opts, "inline") || name == "" {
				collectFields(f.Type, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
}

func (d *Decoder) walk(v any, t reflect.Type, path Path, errs *FieldErrors) {
	if v == nil || t == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			break
		}
		t = t.Elem()
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		raw, _ := json.Marshal(v)
		target := reflect.New(t)
		if t.Kind() == reflect.Pointer {
			target = reflect.New(t.Elem())
		}
		if err := target.Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			*errs = append(*errs, InvalidValue(path, fmt.Sprint(v), err.Error()))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, &FieldError{Type: FieldValueTypeInvalid, Field: string(path),
				BadValue: jsonKind(v), Detail: "expected an object"})
			return
		}
		l := d.layout(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := l.fields[k]
			if !ok {
				*errs = append(*errs, UnknownField(path.Child(k)))
				continue
			}
			d.walk(m[k], ft, path.Child(k), errs)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return // []byte is base64 text
		}
		a, ok := v.([]any)
		if !ok {
			*errs = append(*errs, &FieldError{Type: FieldValueTypeInvalid, Field: string(path),
				BadValue: jsonKind(v), Detail: "expected an array"})
			return
		}
		for i, e := range a {
			d.walk(e, t.Elem(), path.Index(i), errs)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, &FieldError{Type: FieldValueTypeInvalid, Field: string(path),
				BadValue: jsonKind(v), Detail: "expected an object"})
			return
		}
		for k, e := range m {
			d.walk(e, t.Elem(), path.Key(k), errs)
		}
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}
