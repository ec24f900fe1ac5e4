// Package interrupt rewrites a WebAssembly module so that the host can stop it cheaply while it
// runs. It owns the rewrite only; when to stop a guest and what to report is the sandbox's.
//
// wazero's own termination checks (RuntimeConfig.WithCloseOnContextDone) leave native code for Go
// at every loop back-edge and start a goroutine per call: a Go guest's warm call costs several
// times its own work. Instrument instead inserts at every loop header a countdown in a global of
// the module's own; every Interval back-edges it calls memory.grow(0), the one instruction that
// leaves native code without an import (so that the Go scheduler can preempt the thread, and a
// garbage collection need not wait for a looping guest), then reads the exported global StopExport
// and executes unreachable if the host has set it. A guest is thus stopped within Interval
// back-edges of the host's request, at the price of a load, a store and a branch per back-edge.
//
// Like wazero's checks, these are at loop headers only: a guest recursing without loops runs
// into its stack limit instead.
//
// The same pass merges the module's data segments (see coalesceData): instantiation pays per
// segment, and Go's linker writes tens of thousands.
package interrupt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// StopExport is the name under which an instrumented module exports its stop flag, a mutable
// i32 global: set to non-zero, the guest traps (unreachable) within Interval loop back-edges.
const StopExport = "wasmkube.stop"

// StartExport is the name under which an instrumented module exports the function of its start
// section, which it no longer has: the host calls it after instantiation, where it can be stopped
// like any other call (wazero runs a start section inside instantiation, before the host has the
// module's stop flag).
const StartExport = "wasmkube.start"

// Interval is the number of loop back-edges between two exits from native code.
const Interval = 1024

// ErrUnsupported means the module uses an instruction the rewrite does not know; wazero's
// default features (WebAssembly 2.0) are all known.
var ErrUnsupported = errors.New("unsupported instruction")

// ErrInvalid means the module does not decode, or refers to globals it does not define.
var ErrInvalid = errors.New("invalid module")

// Section ids.
const (
	secCustom   = 0
	secImport   = 2
	secMemory   = 5
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secCode     = 10
	secDataCnt  = 12
	importFunc  = 0
	importTable = 1
	importMem   = 2
	importGlob  = 3
	importTag   = 4
	exportFunc  = 0
	exportGlob  = 3
	valI32      = 0x7F
	opEnd       = 0x0B
)

type section struct {
	id   byte
	body []byte
}

// Instrument returns a copy of wasm with the checks described in the package comment, and the
// function of its start section, if any, exported as StartExport instead. DWARF
// sections (".debug_*") are dropped, as the rewrite moves code offsets; the name section stays
// valid, as no function, global or memory index moves. It fails with ErrInvalid if wasm does not
// decode or uses a global index it does not define, and ErrUnsupported for instructions beyond
// wazero's default features.
func Instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: no Wasm header", ErrInvalid)
	}
	var sections []section
	r := reader{b: wasm, pos: 8}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", ErrInvalid, id, r.err)
		}
		if id == secCustom {
			name := reader{b: body}
			if n := name.name(); name.err == nil && strings.HasPrefix(n, ".debug_") {
				continue
			}
		}
		sections = append(sections, section{id, body})
	}

	var globals, memories uint32 // imported and defined
	var memorySec, exportSec, codeSec = -1, -1, -1
	start := int64(-1) // the start section's function
	for i, s := range sections {
		switch s.id {
		case secStart:
			r := reader{b: s.body}
			start = int64(r.u32())
			if r.err != nil {
				return nil, fmt.Errorf("%w: start section: %v", ErrInvalid, r.err)
			}
		case secImport:
			g, m, err := countImports(s.body)
			if err != nil {
				return nil, err
			}
			globals += g
			memories += m
		case secMemory:
			memorySec = i
			memories += count(s.body)
		case secGlobal:
			globals += count(s.body)
		case secExport:
			exportSec = i
		case secCode:
			codeSec = i
		}
	}
	fuel, stop := globals, globals+1

	if !slices.ContainsFunc(sections, func(s section) bool { return s.id == secDataCnt }) {
		for i := range sections {
			if sections[i].id == secData {
				sections[i].body = coalesceData(sections[i].body)
			}
		}
	}

	if codeSec >= 0 {
		body, err := rewriteCode(sections[codeSec].body, globals, fuel, stop)
		if err != nil {
			return nil, err
		}
		sections[codeSec].body = body
	}
	if exportSec >= 0 {
		if err := checkExports(sections[exportSec].body, globals); err != nil {
			return nil, err
		}
	}

	// The two globals: (global $fuel (mut i32) (i32.const Interval)) (global $stop (mut i32) (i32.const 0)).
	newGlobals := []byte{valI32, 1, 0x41}
	newGlobals = appendSLEB(newGlobals, Interval)
	newGlobals = append(newGlobals, opEnd, valI32, 1, 0x41, 0, opEnd)
	sections = appendToSection(sections, secGlobal, 2, newGlobals)
	newExport := appendName(nil, StopExport)
	newExport = append(newExport, exportGlob)
	newExport = binary.AppendUvarint(newExport, uint64(stop))
	if start >= 0 {
		newExport = appendName(newExport, StartExport)
		newExport = append(newExport, exportFunc)
		newExport = binary.AppendUvarint(newExport, uint64(start))
		sections = appendToSection(sections, secExport, 2, newExport)
		sections = slices.DeleteFunc(sections, func(s section) bool { return s.id == secStart })
	} else {
		sections = appendToSection(sections, secExport, 1, newExport)
	}
	if memories == 0 && memorySec < 0 {
		// memory.grow needs a memory: an empty one that cannot grow.
		sections = insert(sections, section{secMemory, []byte{1, 1, 0, 0}})
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/8)
	out = append(out, wasm[:8]...)
	for _, s := range sections {
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

// order is each known section's place in a module.
func order(id byte) int {
	switch id {
	case secDataCnt:
		return 95 // after element (9), before code (10)
	case 13: // tag
		return 55 // after memory (5), before global (6)
	}
	return int(id) * 10
}

// insert puts a new non-custom section where the binary format wants it.
func insert(sections []section, s section) []section {
	at := len(sections)
	for i, o := range sections {
		if o.id != secCustom && order(o.id) > order(s.id) {
			at = i
			break
		}
	}
	sections = append(sections, section{})
	copy(sections[at+1:], sections[at:])
	sections[at] = s
	return sections
}

// appendToSection appends n encoded elements to the vector section id, creating it if needed.
func appendToSection(sections []section, id byte, n uint32, elems []byte) []section {
	for i := range sections {
		if sections[i].id == id {
			sections[i].body = appendToVec(sections[i].body, n, elems)
			return sections
		}
	}
	return insert(sections, section{id, appendToVec(nil, n, elems)})
}

// count returns the element count that starts a vector section.
func count(body []byte) uint32 {
	r := reader{b: body}
	return r.u32()
}

// appendToVec returns body, a vector, with n more encoded elements.
func appendToVec(body []byte, n uint32, elems []byte) []byte {
	r := reader{b: body}
	c := uint32(0)
	if len(body) > 0 {
		c = r.u32()
	}
	out := binary.AppendUvarint(nil, uint64(c+n))
	out = append(out, body[r.pos:]...)
	return append(out, elems...)
}

// countImports returns the number of imported globals and memories.
func countImports(body []byte) (globals, memories uint32, err error) {
	r := reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case importFunc:
			r.u32()
		case importTable:
			r.s33() // reference type
			r.limits()
		case importMem:
			r.limits()
			memories++
		case importGlob:
			r.s33() // value type
			r.byte()
			globals++
		case importTag:
			r.byte()
			r.u32()
		default:
			return 0, 0, fmt.Errorf("%w: import kind %#x", ErrInvalid, kind)
		}
	}
	if r.err != nil {
		return 0, 0, fmt.Errorf("%w: import section: %v", ErrInvalid, r.err)
	}
	return globals, memories, nil
}

// checkExports refuses exports of globals the module does not define (they would name the new ones).
func checkExports(body []byte, globals uint32) error {
	r := reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		name := r.name()
		kind := r.byte()
		idx := r.u32()
		if kind == exportGlob && idx >= globals {
			return fmt.Errorf("%w: export %q of global %d, beyond the module's %d", ErrInvalid, name, idx, globals)
		}
		if name == StopExport || name == StartExport {
			return fmt.Errorf("%w: export %q is reserved", ErrInvalid, name)
		}
	}
	if r.err != nil {
		return fmt.Errorf("%w: export section: %v", ErrInvalid, r.err)
	}
	return nil
}

// rewriteCode rewrites every function body of the code section.
func rewriteCode(body []byte, globals, fuel, stop uint32) ([]byte, error) {
	check := loopCheck(fuel, stop)
	r := reader{b: body}
	n := r.u32()
	out := make([]byte, 0, len(body)+len(body)/8)
	out = binary.AppendUvarint(out, uint64(n))
	var fn []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: function body %d: %v", ErrInvalid, i, r.err)
		}
		var err error
		fn, err = rewriteFunc(fn[:0], code, globals, check)
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(fn)))
		out = append(out, fn...)
	}
	if !r.done() || r.err != nil {
		return nil, fmt.Errorf("%w: code section: trailing bytes", ErrInvalid)
	}
	return out, nil
}

// loopCheck is the code inserted after every loop instruction:
//
//	(global.set $fuel (i32.sub (global.get $fuel) (i32.const 1)))
//	(if (i32.eqz (global.get $fuel))
//	  (then
//	    (global.set $fuel (i32.const Interval))
//	    (drop (memory.grow (i32.const 0)))
//	    (if (global.get $stop) (then unreachable))))
func loopCheck(fuel, stop uint32) []byte {
	getFuel := binary.AppendUvarint([]byte{0x23}, uint64(fuel))
	setFuel := binary.AppendUvarint([]byte{0x24}, uint64(fuel))
	b := append([]byte{}, getFuel...)
	b = append(b, 0x41, 1, 0x6B) // i32.const 1; i32.sub
	b = append(b, setFuel...)
	b = append(b, getFuel...)
	b = append(b, 0x45, 0x04, 0x40) // i32.eqz; if
	b = appendSLEB(append(b, 0x41), Interval)
	b = append(b, setFuel...)
	b = append(b, 0x41, 0, 0x40, 0, 0x1A) // i32.const 0; memory.grow 0; drop
	b = binary.AppendUvarint(append(b, 0x23), uint64(stop))
	b = append(b, 0x04, 0x40, 0x00, opEnd) // if; unreachable; end
	return append(b, opEnd)
}

// rewriteFunc copies one function body to out with check after every loop instruction.
func rewriteFunc(out, code []byte, globals uint32, check []byte) ([]byte, error) {
	r := reader{b: code}
	for n := r.u32(); n > 0 && r.err == nil; n-- { // locals: (count, type)
		r.u32()
		r.s33()
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: locals: %v", ErrInvalid, r.err)
	}
	out = append(out, code[:r.pos]...)
	last := r.pos // code[last:r.pos] is copied yet
	for !r.done() && r.err == nil {
		at := r.pos
		op := r.byte()
		switch {
		case op == 0x03: // loop
			r.s33()
			out = append(out, code[last:r.pos]...)
			out = append(out, check...)
			last = r.pos
		case op == 0x23 || op == 0x24: // global.get, global.set
			if idx := r.u32(); idx >= globals && r.err == nil {
				return nil, fmt.Errorf("%w: global %d at offset %d, beyond the module's %d", ErrInvalid, idx, at, globals)
			}
		default:
			if err := r.skipImmediates(op); err != nil {
				return nil, fmt.Errorf("%w at offset %d", err, at)
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, r.err)
	}
	return append(out, code[last:]...), nil
}

// skipImmediates reads the immediates of op (already read).
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op <= 0x01 || op == 0x05 || op == 0x0B || op == 0x0F || op == 0x1A || op == 0x1B ||
		(op >= 0x45 && op <= 0xC4) || op == 0xD1:
		// no immediates
	case op == 0x02 || op == 0x04: // block, if
		r.s33()
	case op == 0x0C || op == 0x0D || op == 0x10 || op == 0x12 || op == 0xD2 || // br, br_if, call, return_call, ref.func
		(op >= 0x20 && op <= 0x26) || op == 0x3F || op == 0x40: // locals, globals, tables, memory.size/grow
		r.u32()
	case op == 0x0E: // br_table
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1C: // select t*
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.s33()
		}
	case op >= 0x28 && op <= 0x3E: // loads and stores
		r.memarg()
	case op == 0x41:
		r.sleb()
	case op == 0x42:
		r.sleb()
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xD0: // ref.null
		r.s33()
	case op == 0xFC:
		return r.skipFC()
	case op == 0xFD:
		return r.skipSIMD()
	case op == 0xFE:
		return r.skipAtomic()
	default:
		return fmt.Errorf("%w: opcode %#x", ErrUnsupported, op)
	}
	return nil
}

func (r *reader) skipFC() error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		return fmt.Errorf("%w: opcode 0xfc %d", ErrUnsupported, sub)
	}
	return nil
}

func (r *reader) skipSIMD() error {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93: // loads and stores
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.byte()
	case sub <= 255:
	default:
		return fmt.Errorf("%w: opcode 0xfd %d", ErrUnsupported, sub)
	}
	return nil
}

func (r *reader) skipAtomic() error {
	switch sub := r.u32(); {
	case sub == 3: // atomic.fence
		r.byte()
	case sub <= 0x4E:
		r.memarg()
	default:
		return fmt.Errorf("%w: opcode 0xfe %d", ErrUnsupported, sub)
	}
	return nil
}

// reader decodes the binary format; the first error sticks and later reads return zero.
type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) done() bool { return r.pos >= len(r.b) }

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at offset %d", what, r.pos)
	}
	r.pos = len(r.b)
}

func (r *reader) byte() byte {
	if r.pos >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	b := r.b[r.pos]
	r.pos++
	return b
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.pos {
		r.fail("unexpected end")
		return nil
	}
	b := r.b[r.pos : r.pos+n]
	r.pos += n
	return b
}

func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b[min(r.pos, len(r.b)):])
	if n <= 0 || v > 1<<32-1 {
		r.fail("bad unsigned LEB128")
		return 0
	}
	r.pos += n
	return uint32(v)
}

// sleb reads a signed LEB128 of up to 64 bits; s33 is the same bytes.
func (r *reader) sleb() {
	for i := 0; i < 10; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail("bad signed LEB128")
}

func (r *reader) s33() { r.sleb() }

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

// memarg reads an alignment (bit 6: a memory index follows) and an offset.
func (r *reader) memarg() {
	if align := r.u32(); align&0x40 != 0 {
		r.u32()
	}
	r.u32()
}

func appendName(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

func appendSLEB(out []byte, v int64) []byte {
	for {
		b := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}
