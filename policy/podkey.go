package policy

import (
	"encoding/binary"
	"math"
	"sort"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// This file works out, once at compile time, what an expression reads of `pod`, so the
// scheduler can reuse a result for every pod that reads the same: PodKey.

// podStep is one step of a path from `pod`: a field of an object or a key of a map.
type podStep struct {
	name     string
	testOnly bool // has(): only the presence of the last step is read
}

// podReads is what an expression reads of `pod`: the paths (pod.metadata.labels.zone,
// has(pod.spec.nodeName)), or opaque when it reads the pod in any other way.
type podReads struct {
	paths  [][]podStep
	opaque bool
}

// readsOf walks a checked expression for the places variable v appears. Each must be the
// root of a chain of field selections, has() tests, optional selections (`.?zone`) and indexes
// by a constant string; the longest such chain is the path read. Anything else (the variable
// itself handed whole to a function, a comprehension variable of the same name) is opaque.
func readsOf(e celast.Expr, v string) podReads {
	var r podReads
	var walk func(e celast.Expr)
	walk = func(e celast.Expr) {
		if r.opaque || e == nil {
			return
		}
		if path, ok := varPath(e, v); ok {
			if len(path) == 0 {
				r.opaque = true // the whole pod
				return
			}
			r.paths = append(r.paths, path)
			return
		}
		switch e.Kind() {
		case celast.SelectKind:
			walk(e.AsSelect().Operand())
		case celast.CallKind:
			c := e.AsCall()
			if c.IsMemberFunction() {
				walk(c.Target())
			}
			for _, a := range c.Args() {
				walk(a)
			}
		case celast.ListKind:
			for _, x := range e.AsList().Elements() {
				walk(x)
			}
		case celast.MapKind:
			for _, en := range e.AsMap().Entries() {
				walk(en.AsMapEntry().Key())
				walk(en.AsMapEntry().Value())
			}
		case celast.StructKind:
			for _, f := range e.AsStruct().Fields() {
				walk(f.AsStructField().Value())
			}
		case celast.ComprehensionKind:
			c := e.AsComprehension()
			if c.IterVar() == v || c.IterVar2() == v || c.AccuVar() == v {
				r.opaque = true
				return
			}
			walk(c.IterRange())
			walk(c.AccuInit())
			walk(c.LoopCondition())
			walk(c.LoopStep())
			walk(c.Result())
		}
	}
	walk(e)
	return r
}

// varPath returns the path of e if e is a chain of selections rooted at the identifier v.
func varPath(e celast.Expr, v string) ([]podStep, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		return nil, e.AsIdent() == v
	case celast.SelectKind:
		s := e.AsSelect()
		p, ok := varPath(s.Operand(), v)
		if !ok {
			return nil, false
		}
		return append(p, podStep{name: s.FieldName(), testOnly: s.IsTestOnly()}), true
	case celast.CallKind:
		c := e.AsCall()
		switch c.FunctionName() {
		case operators.Index, operators.OptSelect, operators.OptIndex:
		default:
			return nil, false
		}
		args := c.Args()
		if c.IsMemberFunction() || len(args) != 2 || args[1].Kind() != celast.LiteralKind {
			return nil, false
		}
		key, isStr := args[1].AsLiteral().(types.String)
		if !isStr {
			return nil, false
		}
		p, ok := varPath(args[0], v)
		if !ok {
			return nil, false
		}
		return append(p, podStep{name: string(key)}), true
	}
	return nil, false
}

// ReadsRequested reports whether the program reads node.requested (or the node in a way that
// might). A program that does not gives the same result on a node whatever is placed on it.
func (p *Program) ReadsRequested() bool { return p.readsRequested }

// ReadsPod reports whether the program reads the `pod` variable at all. A program that does
// not gives the same result for every pod on a given node.
func (p *Program) ReadsPod() bool { return p.reads.opaque || len(p.reads.paths) > 0 }

// PodKey returns a key of everything the program reads of pod: two pods with equal keys get
// the same result (value, error or cost overrun) from the program on any node, so a result
// can be kept for the node and reused for every pod of that key until the node changes. The
// key holds the values at the paths the expressions read (pod.metadata.labels.zone, present
// or not); it is "" for a program that does not read the pod. ok is false when the program
// reads the pod in a way a key cannot hold (the whole pod, a list of containers scanned, an
// object handed to a function), or a value read is of a kind the key does not encode: then
// each evaluation must run. It converts only the fields on those paths.
func (p *Program) PodKey(pod *PodInput) (key string, ok bool) {
	if p.reads.opaque {
		return "", false
	}
	if len(p.reads.paths) == 0 {
		return "", true
	}
	if pod == nil {
		return "", false
	}
	var b []byte
	for _, path := range p.reads.paths {
		if b, ok = appendPath(b, pod.v, path); !ok {
			return "", false
		}
	}
	return string(b), true
}

// appendPath encodes the value at path from root: for each step whether it is present, and
// the value where the walk stops.
func appendPath(b []byte, root ref.Val, path []podStep) ([]byte, bool) {
	v := root
	for i, s := range path {
		last := i == len(path)-1
		var next ref.Val
		present := false
		switch x := v.(type) {
		case *object:
			f, ok := x.t.byName[s.name]
			if !ok {
				return nil, false
			}
			fv := x.field(f.pos)
			next, present = fv.v, fv.set
		case traits.Mapper:
			next, present = x.Find(types.String(s.name))
		default:
			// Selecting from anything else (null, a scalar) is decided by that value.
			b = append(b, 'x', byte(i))
			return appendValue(b, v)
		}
		switch _, isMap := v.(traits.Mapper); {
		case !present && (isMap || next == nil):
			return append(b, '!', byte(i)), true // a missing key: has() is false, a read is an error
		case !present:
			b = append(b, '-', byte(i)) // an unset field reads as its zero value
		default:
			b = append(b, '+', byte(i))
		}
		if last && s.testOnly {
			return b, true
		}
		v = next
	}
	return appendValue(b, v)
}

// appendValue encodes a value read from the pod: scalars, and lists and maps of them.
func appendValue(b []byte, v ref.Val) ([]byte, bool) {
	switch x := v.(type) {
	case types.String:
		b = append(b, 's')
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...), true
	case types.Bytes:
		b = append(b, 'y')
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...), true
	case types.Int:
		return binary.AppendVarint(append(b, 'i'), int64(x)), true
	case types.Uint:
		return binary.AppendUvarint(append(b, 'u'), uint64(x)), true
	case types.Double:
		return binary.LittleEndian.AppendUint64(append(b, 'd'), math.Float64bits(float64(x))), true
	case types.Bool:
		if x {
			return append(b, 'T'), true
		}
		return append(b, 'F'), true
	case types.Null:
		return append(b, 'n'), true
	case traits.Mapper:
		type kv struct {
			k []byte
			v ref.Val
		}
		var entries []kv
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ke, ok := appendValue(nil, k)
			if !ok {
				return nil, false
			}
			entries = append(entries, kv{ke, x.Get(k)})
		}
		sort.Slice(entries, func(i, j int) bool { return string(entries[i].k) < string(entries[j].k) })
		b = binary.AppendUvarint(append(b, 'm'), uint64(len(entries)))
		var ok bool
		for _, e := range entries {
			b = append(b, e.k...)
			if b, ok = appendValue(b, e.v); !ok {
				return nil, false
			}
		}
		return b, true
	case traits.Lister:
		n, ok := x.Size().(types.Int)
		if !ok {
			return nil, false
		}
		b = binary.AppendUvarint(append(b, 'l'), uint64(n))
		for i := types.Int(0); i < n; i++ {
			if b, ok = appendValue(b, x.Get(i)); !ok {
				return nil, false
			}
		}
		return b, true
	}
	return nil, false
}
