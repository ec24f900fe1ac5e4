package sandbox_test

import (
	"testing"

	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// Hand-written test modules, assembled in code so that no .wasm file is committed. Each comment
// gives the module in the text format.

var (
	typeI32I32I32 = wasmtest.FuncType{Params: []byte{wasmtest.I32, wasmtest.I32}, Results: []byte{wasmtest.I32}}
	typeVoid      = wasmtest.FuncType{}
	typeI32Void   = wasmtest.FuncType{Params: []byte{wasmtest.I32}}
	noMax         = &wasmtest.Memory{Min: 1, Max: -1}
)

// minimalHTTP answers "hello\n":
//
//	(module
//	  (import "wasmkube" "response_body_write" (func $write (param i32 i32) (result i32)))
//	  (memory (export "memory") 1)
//	  (data (i32.const 0) "hello\n")
//	  (func (export "wasmkube_handle_v1") (drop (call $write (i32.const 0) (i32.const 6)))))
func minimalHTTP() []byte {
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{typeI32I32I32, typeVoid},
		Imports: []wasmtest.Import{{Module: "wasmkube", Name: "response_body_write", Type: 0}},
		Funcs: []wasmtest.Func{{Type: 1, Body: wasmtest.Cat(
			wasmtest.I32Const(0), wasmtest.I32Const(6), wasmtest.Call(0), []byte{wasmtest.OpDrop})}},
		Memory: noMax,
		Exports: []wasmtest.Export{
			{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc, Index: 1},
			{Name: "memory", Kind: wasmtest.ExportMemory},
		},
		Data: []wasmtest.Data{{Offset: 0, Bytes: []byte("hello\n")}},
	}
	return m.Encode()
}

// handlerModule is an HTTP module whose handler is body:
//
//	(module (memory (export "memory") 1) (func (export "wasmkube_handle_v1") body))
func handlerModule(body []byte) []byte {
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{typeVoid},
		Funcs:   []wasmtest.Func{{Type: 0, Body: body}},
		Memory:  noMax,
		Exports: []wasmtest.Export{{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc}, {Name: "memory", Kind: wasmtest.ExportMemory}},
	}
	return m.Encode()
}

// loopForever is (loop (br 0)).
var loopForever = []byte{wasmtest.OpLoop, wasmtest.BlockVoid, wasmtest.OpBr, 0, wasmtest.OpEnd}

// growForever is (loop (drop (memory.grow (i32.const 16))) (br 0)).
var growForever = wasmtest.Cat([]byte{wasmtest.OpLoop, wasmtest.BlockVoid}, wasmtest.I32Const(16),
	[]byte{wasmtest.OpMemoryGrow, 0, wasmtest.OpDrop, wasmtest.OpBr, 0, wasmtest.OpEnd})

// trapAtInitialize is an HTTP module whose _initialize traps:
//
//	(module (memory (export "memory") 1)
//	  (func (export "_initialize") unreachable) (func (export "wasmkube_handle_v1")))
func trapAtInitialize() []byte {
	m := wasmtest.Module{
		Types:  []wasmtest.FuncType{typeVoid},
		Funcs:  []wasmtest.Func{{Type: 0, Body: []byte{wasmtest.OpUnreachable}}, {Type: 0}},
		Memory: noMax,
		Exports: []wasmtest.Export{{Name: "_initialize", Kind: wasmtest.ExportFunc, Index: 0},
			{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc, Index: 1}, {Name: "memory", Kind: wasmtest.ExportMemory}},
	}
	return m.Encode()
}

// commandModule is a command whose _start is body, with proc_exit as function 0:
//
//	(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//	  (memory (export "memory") 1) (func (export "_start") body))
func commandModule(body []byte) []byte {
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{typeI32Void, typeVoid},
		Imports: []wasmtest.Import{{Module: "wasi_snapshot_preview1", Name: "proc_exit", Type: 0}},
		Funcs:   []wasmtest.Func{{Type: 1, Body: body}},
		Memory:  noMax,
		Exports: []wasmtest.Export{{Name: "_start", Kind: wasmtest.ExportFunc, Index: 1}, {Name: "memory", Kind: wasmtest.ExportMemory}},
	}
	return m.Encode()
}

// exitWith is the body (call $exit (i32.const code)).
func exitWith(code int32) []byte { return wasmtest.Cat(wasmtest.I32Const(code), wasmtest.Call(0)) }

// noExports has a memory and nothing else: (module (memory (export "memory") 1)).
func noExports() []byte {
	m := wasmtest.Module{Memory: noMax, Exports: []wasmtest.Export{{Name: "memory", Kind: wasmtest.ExportMemory}}}
	return m.Encode()
}

// reactorWithoutSDK exports _initialize but no handler, as a c-shared Go program without the SDK.
func reactorWithoutSDK() []byte {
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{typeVoid},
		Funcs:   []wasmtest.Func{{Type: 0}},
		Exports: []wasmtest.Export{{Name: "_initialize", Kind: wasmtest.ExportFunc}},
	}
	return m.Encode()
}

// importsUnknown imports env.foo: (module (import "env" "foo" (func)) (func (export "_start"))).
func importsUnknown() []byte {
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{typeVoid},
		Imports: []wasmtest.Import{{Module: "env", Name: "foo", Type: 0}},
		Funcs:   []wasmtest.Func{{Type: 0}},
		Exports: []wasmtest.Export{{Name: "_start", Kind: wasmtest.ExportFunc, Index: 1}},
	}
	return m.Encode()
}

// bigMemory declares a minimum memory of pages pages, as an HTTP module.
func bigMemory(pages int64) []byte {
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{typeVoid},
		Funcs:   []wasmtest.Func{{Type: 0}},
		Memory:  &wasmtest.Memory{Min: pages, Max: -1},
		Exports: []wasmtest.Export{{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc}, {Name: "memory", Kind: wasmtest.ExportMemory}},
	}
	return m.Encode()
}

// Go guests, built once per test binary.

func webWasm(tb testing.TB) []byte { return wasmtest.GoBuild(tb, "testdata/web", wasmtest.Reactor) }

func cmdWasm(tb testing.TB) []byte { return wasmtest.GoBuild(tb, "testdata/cmd", wasmtest.Command) }

func helloWasm(tb testing.TB) []byte {
	return wasmtest.GoBuild(tb, "../../samples/hello", wasmtest.Reactor)
}
