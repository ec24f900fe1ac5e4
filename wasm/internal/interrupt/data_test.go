package interrupt_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wasmkube/wasmkube/wasm/internal/interrupt"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// dataModule is a module with one page of memory exported as "memory" and the given segments.
func dataModule(data []wasmtest.Data) []byte {
	m := wasmtest.Module{Types: []wasmtest.FuncType{typeVoid}, Funcs: []wasmtest.Func{{Type: 0, Body: nil}},
		Memory: &wasmtest.Memory{Min: 1, Max: -1}, Data: data,
		Exports: []wasmtest.Export{{Name: "memory", Kind: wasmtest.ExportMemory}}}
	return m.Encode()
}

// memoryAfter instantiates wasm as it is (instrumented when instrument is set) and returns its
// memory.
func memoryAfter(t *testing.T, wasm []byte, instrument bool) []byte {
	t.Helper()
	if instrument {
		var err error
		if wasm, err = interrupt.Instrument(wasm); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := mod.Memory().Read(0, mod.Memory().Size())
	if !ok {
		t.Fatal("read memory")
	}
	return bytes.Clone(b)
}

// TestDataSegmentsMerged: the many small segments Go's linker writes are merged (in any order,
// across short gaps), and memory holds exactly what it held before; segments whose order
// matters are left alone.
func TestDataSegmentsMerged(t *testing.T) {
	var many []wasmtest.Data
	for i := range 500 {
		many = append(many, wasmtest.Data{Offset: int32(40000 - i*70), Bytes: bytes.Repeat([]byte{byte(i + 1)}, 10+i%40)})
	}
	many = append(many, wasmtest.Data{Offset: 60000, Bytes: []byte("far away")})
	for _, tt := range []struct {
		name string
		data []wasmtest.Data
	}{
		{"many, out of order, short gaps", many},
		{"adjacent", []wasmtest.Data{{Offset: 10, Bytes: []byte("ab")}, {Offset: 12, Bytes: []byte("cd")}}},
		{"overlapping: the later wins", []wasmtest.Data{{Offset: 10, Bytes: []byte("abcd")}, {Offset: 12, Bytes: []byte("XY")}}},
		{"one", []wasmtest.Data{{Offset: 5, Bytes: []byte("x")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wasm := dataModule(tt.data)
			if want, got := memoryAfter(t, wasm, false), memoryAfter(t, wasm, true); !bytes.Equal(want, got) {
				t.Fatal("memory differs after the rewrite")
			}
		})
	}
	out, err := interrupt.Instrument(dataModule(many))
	if err != nil {
		t.Fatal(err)
	}
	// 500 segments at most 60 bytes apart become one, plus the far one.
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatal(err)
	}
	if n := dataSegments(t, out); n != 2 {
		t.Errorf("%d data segments after the merge, want 2", n)
	}
}

// dataSegments counts the segments of wasm's data section.
func dataSegments(t *testing.T, wasm []byte) int {
	t.Helper()
	for i := 8; i < len(wasm); {
		id := wasm[i]
		size, n := uvarint(wasm[i+1:])
		body := wasm[i+1+n : i+1+n+int(size)]
		if id == 11 {
			c, _ := uvarint(body)
			return int(c)
		}
		i += 1 + n + int(size)
	}
	return 0
}

func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		v |= uint64(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
