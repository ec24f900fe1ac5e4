// Package wasmtest is the sandbox's test kit: a tiny WebAssembly binary encoder for hand-written
// test modules (so no .wasm files need committing), and a builder that compiles Go guest programs
// with GOOS=wasip1 once per test binary. It is for tests and benchmarks only (of the sandbox, the
// runner and the samples), which is why it is not internal.
package wasmtest

import "encoding/binary"

// Value types.
const (
	I32 byte = 0x7f
	I64 byte = 0x7e
)

// Opcodes used by the test modules; function bodies are written as byte slices of these.
const (
	OpUnreachable byte = 0x00
	OpBlock       byte = 0x02
	OpLoop        byte = 0x03
	OpIf          byte = 0x04
	OpEnd         byte = 0x0b
	OpBr          byte = 0x0c
	OpBrIf        byte = 0x0d
	OpCall        byte = 0x10
	OpDrop        byte = 0x1a
	OpLocalGet    byte = 0x20
	OpLocalSet    byte = 0x21
	OpI32Load     byte = 0x28
	OpI32Store    byte = 0x36
	OpMemoryGrow  byte = 0x40
	OpI32Const    byte = 0x41
	OpI32Eqz      byte = 0x45
	OpI32Eq       byte = 0x46
	OpI32Add      byte = 0x6a
	BlockVoid     byte = 0x40
)

// FuncType is a function signature.
type FuncType struct {
	Params, Results []byte
}

// Import is an imported function.
type Import struct {
	Module, Name string
	Type         uint32 // index into Module.Types
}

// Func is a defined function. Its index is len(imports) + its position.
type Func struct {
	Type   uint32
	Locals []byte // one value type per local
	Body   []byte // instructions, without the final OpEnd
}

// Export kinds.
const (
	ExportFunc   byte = 0x00
	ExportMemory byte = 0x02
)

// Export names a function or the memory.
type Export struct {
	Name  string
	Kind  byte
	Index uint32
}

// Memory is the module's one linear memory, in 64 KiB pages; Max < 0 means no maximum.
type Memory struct {
	Min, Max int64
}

// Data is an active data segment in memory 0 at a constant offset.
type Data struct {
	Offset int32
	Bytes  []byte
}

// Module describes a module to encode.
type Module struct {
	Types   []FuncType
	Imports []Import
	Funcs   []Func
	Memory  *Memory
	Exports []Export
	Data    []Data
}

// Encode returns the module's binary encoding.
func (m *Module) Encode() []byte {
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	if len(m.Types) > 0 {
		s := uleb(nil, uint64(len(m.Types)))
		for _, t := range m.Types {
			s = append(s, 0x60)
			s = vec(s, t.Params)
			s = vec(s, t.Results)
		}
		out = section(out, 1, s)
	}
	if len(m.Imports) > 0 {
		s := uleb(nil, uint64(len(m.Imports)))
		for _, im := range m.Imports {
			s = name(s, im.Module)
			s = name(s, im.Name)
			s = append(s, 0x00)
			s = uleb(s, uint64(im.Type))
		}
		out = section(out, 2, s)
	}
	if len(m.Funcs) > 0 {
		s := uleb(nil, uint64(len(m.Funcs)))
		for _, f := range m.Funcs {
			s = uleb(s, uint64(f.Type))
		}
		out = section(out, 3, s)
	}
	if m.Memory != nil {
		s := uleb(nil, 1)
		if m.Memory.Max < 0 {
			s = append(s, 0x00)
			s = uleb(s, uint64(m.Memory.Min))
		} else {
			s = append(s, 0x01)
			s = uleb(s, uint64(m.Memory.Min))
			s = uleb(s, uint64(m.Memory.Max))
		}
		out = section(out, 5, s)
	}
	if len(m.Exports) > 0 {
		s := uleb(nil, uint64(len(m.Exports)))
		for _, e := range m.Exports {
			s = name(s, e.Name)
			s = append(s, e.Kind)
			s = uleb(s, uint64(e.Index))
		}
		out = section(out, 7, s)
	}
	if len(m.Funcs) > 0 {
		s := uleb(nil, uint64(len(m.Funcs)))
		for _, f := range m.Funcs {
			var body []byte
			body = uleb(body, uint64(len(f.Locals)))
			for _, l := range f.Locals {
				body = uleb(body, 1)
				body = append(body, l)
			}
			body = append(body, f.Body...)
			body = append(body, OpEnd)
			s = uleb(s, uint64(len(body)))
			s = append(s, body...)
		}
		out = section(out, 10, s)
	}
	if len(m.Data) > 0 {
		s := uleb(nil, uint64(len(m.Data)))
		for _, d := range m.Data {
			s = append(s, 0x00, OpI32Const)
			s = sleb(s, int64(d.Offset))
			s = append(s, OpEnd)
			s = vec(s, d.Bytes)
		}
		out = section(out, 11, s)
	}
	return out
}

// I32Const returns the instruction pushing v.
func I32Const(v int32) []byte { return sleb([]byte{OpI32Const}, int64(v)) }

// Call returns the instruction calling function index f.
func Call(f uint32) []byte { return uleb([]byte{OpCall}, uint64(f)) }

// Cat concatenates instruction sequences.
func Cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func section(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = uleb(out, uint64(len(body)))
	return append(out, body...)
}

func vec(out []byte, b []byte) []byte {
	out = uleb(out, uint64(len(b)))
	return append(out, b...)
}

func name(out []byte, s string) []byte { return vec(out, []byte(s)) }

func uleb(out []byte, v uint64) []byte { return binary.AppendUvarint(out, v) }

func sleb(out []byte, v int64) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}
