package interrupt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmkube/wasmkube/wasm/internal/interrupt"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

var (
	typeVoid  = wasmtest.FuncType{}
	typeI32I2 = wasmtest.FuncType{Params: []byte{wasmtest.I32}, Results: []byte{wasmtest.I32}}
	oneP      = &wasmtest.Memory{Min: 1, Max: -1}
)

// loopForever is (loop (br 0)).
var loopForever = []byte{wasmtest.OpLoop, wasmtest.BlockVoid, wasmtest.OpBr, 0, wasmtest.OpEnd}

// sumTo is (func (param $n i32) (result i32) (local $i i32) (local $s i32)
//
//	(block (loop (br_if 1 (i32.eq (local.get $i) (local.get $n)))
//	  (local.set $i (i32.add (local.get $i) (i32.const 1)))
//	  (local.set $s (i32.add (local.get $s) (local.get $i)))
//	  (br 0)))
//	(local.get $s))
var sumTo = wasmtest.Cat(
	[]byte{wasmtest.OpBlock, wasmtest.BlockVoid, wasmtest.OpLoop, wasmtest.BlockVoid,
		wasmtest.OpLocalGet, 1, wasmtest.OpLocalGet, 0, wasmtest.OpI32Eq, wasmtest.OpBrIf, 1,
		wasmtest.OpLocalGet, 1}, wasmtest.I32Const(1), []byte{wasmtest.OpI32Add, wasmtest.OpLocalSet, 1,
		wasmtest.OpLocalGet, 2, wasmtest.OpLocalGet, 1, wasmtest.OpI32Add, wasmtest.OpLocalSet, 2,
		wasmtest.OpBr, 0, wasmtest.OpEnd, wasmtest.OpEnd, wasmtest.OpLocalGet, 2})

func module(mem *wasmtest.Memory, typ wasmtest.FuncType, locals, body []byte) []byte {
	m := wasmtest.Module{Types: []wasmtest.FuncType{typ}, Funcs: []wasmtest.Func{{Type: 0, Locals: locals, Body: body}},
		Memory: mem, Exports: []wasmtest.Export{{Name: "f", Kind: wasmtest.ExportFunc}}}
	return m.Encode()
}

// custom appends a custom section.
func custom(wasm []byte, name string, content string) []byte {
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, content...)
	out := append(append([]byte{}, wasm...), 0, byte(len(body)))
	return append(out, body...)
}

// instantiate compiles wasm, instrumented, without wazero's own termination checks.
func instantiate(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	out, err := interrupt.Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

func TestInstrumentKeepsResults(t *testing.T) {
	tests := []struct {
		name string
		mem  *wasmtest.Memory
		n    uint64
		want uint64
	}{
		{"no iterations", oneP, 0, 0},
		{"one", oneP, 1, 1},
		{"past the interval", oneP, 10 * interrupt.Interval, 10 * interrupt.Interval * (10*interrupt.Interval + 1) / 2},
		{"no memory", nil, 3 * interrupt.Interval, 3 * interrupt.Interval * (3*interrupt.Interval + 1) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := instantiate(t, module(tt.mem, typeI32I2, []byte{wasmtest.I32, wasmtest.I32}, sumTo))
			got, err := mod.ExportedFunction("f").Call(context.Background(), tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if uint32(got[0]) != uint32(tt.want) {
				t.Fatalf("f(%d) = %d, want %d", tt.n, uint32(got[0]), uint32(tt.want))
			}
			if mod.ExportedGlobal(interrupt.StopExport) == nil {
				t.Fatalf("no export %s", interrupt.StopExport)
			}
		})
	}
}

// TestStopLoopingGuest stops a guest looping forever from another goroutine.
func TestStopLoopingGuest(t *testing.T) {
	for _, mem := range []*wasmtest.Memory{oneP, nil} {
		t.Run(map[bool]string{true: "memory", false: "no memory"}[mem != nil], func(t *testing.T) {
			mod := instantiate(t, module(mem, typeVoid, nil, loopForever))
			done := make(chan error, 1)
			go func() {
				_, err := mod.ExportedFunction("f").Call(context.Background())
				done <- err
			}()
			// Whether the guest is looping yet or not, it sees the flag at its next check.
			mod.ExportedGlobal(interrupt.StopExport).(api.MutableGlobal).Set(1)
			if err := <-done; err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("stopped guest returned %v, want the unreachable trap", err)
			}
		})
	}
}

// withStart adds a start section calling function fn, before the code section.
func withStart(wasm []byte, fn byte) []byte {
	pos := 8
	for wasm[pos] != 10 {
		size, n := binary.Uvarint(wasm[pos+1:])
		pos += 1 + n + int(size)
	}
	out := append([]byte{}, wasm[:pos]...)
	out = append(out, 8, 1, fn)
	return append(out, wasm[pos:]...)
}

// TestStartSection: a start section that loops does not hang instantiation; its function,
// exported instead, can be stopped.
func TestStartSection(t *testing.T) {
	mod := instantiate(t, withStart(module(oneP, typeVoid, nil, loopForever), 0))
	start := mod.ExportedFunction(interrupt.StartExport)
	if start == nil {
		t.Fatalf("no export %s", interrupt.StartExport)
	}
	mod.ExportedGlobal(interrupt.StopExport).(api.MutableGlobal).Set(1)
	if _, err := start.Call(context.Background()); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("stopped start function returned %v, want the unreachable trap", err)
	}
}

func TestInstrumentRefuses(t *testing.T) {
	valid := module(oneP, typeVoid, nil, nil)
	tests := []struct {
		name string
		wasm []byte
		want error
	}{
		{"truncated", valid[:len(valid)-2], interrupt.ErrInvalid},
		{"not wasm", []byte("hello world"), interrupt.ErrInvalid},
		{"sets a global it lacks", module(oneP, typeVoid, nil, wasmtest.Cat(wasmtest.I32Const(5), []byte{0x24, 0})), interrupt.ErrInvalid},
		{"reads a global it lacks", module(oneP, typeVoid, nil, []byte{0x23, 1, wasmtest.OpDrop}), interrupt.ErrInvalid},
		{"exception handling", module(oneP, typeVoid, nil, []byte{0x08, 0}), interrupt.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := interrupt.Instrument(tt.wasm); !errors.Is(err, tt.want) {
				t.Fatalf("Instrument = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestInstrumentDropsDWARF(t *testing.T) {
	wasm := custom(custom(module(oneP, typeVoid, nil, loopForever), ".debug_line", "lines"), "producers", "me")
	out, err := interrupt.Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte(".debug_line")) || !bytes.Contains(out, []byte("producers")) {
		t.Fatalf("want .debug_line dropped and producers kept: %q", out)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkInstrument rewrites a small module.
func BenchmarkInstrument(b *testing.B) {
	wasm := module(oneP, typeI32I2, []byte{wasmtest.I32, wasmtest.I32}, sumTo)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := interrupt.Instrument(wasm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoop runs 1e6 back-edges instrumented and not, to show the price of the checks.
func BenchmarkLoop(b *testing.B) {
	wasm := module(oneP, typeI32I2, []byte{wasmtest.I32, wasmtest.I32}, sumTo)
	for _, tt := range []struct {
		name       string
		instrument bool
		wazero     bool // wazero's own checks
	}{{"none", false, false}, {"interrupt", true, false}, {"wazero", false, true}} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(tt.wazero))
			defer rt.Close(ctx)
			bin := wasm
			if tt.instrument {
				var err error
				if bin, err = interrupt.Instrument(wasm); err != nil {
					b.Fatal(err)
				}
			}
			mod, err := rt.Instantiate(ctx, bin)
			if err != nil {
				b.Fatal(err)
			}
			f := mod.ExportedFunction("f")
			stack := []uint64{0}
			for b.Loop() {
				stack[0] = 1_000_000
				if err := f.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
