package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// benchJSON runs wk with args, expects success, and returns the JSON object of its last line
// after checking it has every field in want.
func benchJSON(t *testing.T, want []string, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, nil, &out, &errb); code != 0 {
		t.Fatalf("wk %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var fig map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &fig); err != nil {
		t.Fatalf("last line %q is not JSON: %v\noutput:\n%s", lines[len(lines)-1], err, out.String())
	}
	for _, k := range want {
		if _, ok := fig[k]; !ok {
			t.Errorf("figures %v lack %q", fig, k)
		}
	}
	if len(lines) < 2 {
		t.Errorf("no progress lines before the figures:\n%s", out.String())
	}
	return fig
}

func TestBenchStartup(t *testing.T) {
	tests := []struct {
		name, module, concurrency string
	}{
		{"minimal one at a time", "minimal", "1"},
		{"hello concurrent", "hello", "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.module == "hello" && testing.Short() {
				t.Skip("builds a Go guest; skipped with -short")
			}
			fig := benchJSON(t, []string{"pods", "concurrency", "module", "p50_ms", "p99_ms", "max_ms", "pods_per_s"},
				"bench", "startup", "--pods", "5", "--module", tt.module, "--concurrency", tt.concurrency)
			if fig["pods"] != 5.0 || fig["module"] != tt.module {
				t.Errorf("figures %v", fig)
			}
			if p50, max := fig["p50_ms"].(float64), fig["max_ms"].(float64); p50 <= 0 || max < p50 {
				t.Errorf("p50 %v, max %v", p50, max)
			}
		})
	}
}

func TestBenchStartupFlags(t *testing.T) {
	tests := []struct{ name, flag, value, want string }{
		{"unknown module", "--module", "big", "want hello or minimal"},
		{"no pods", "--pods", "0", "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{"bench", "startup", tt.flag, tt.value}, nil, &out, &errb); code == 0 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q, want an error with %q", code, errb.String(), tt.want)
			}
		})
	}
}

// TestMinimalModule holds the bench's hand-written bytes against the test kit's encoder.
func TestMinimalModule(t *testing.T) {
	typeI32I32I32 := wasmtest.FuncType{Params: []byte{wasmtest.I32, wasmtest.I32}, Results: []byte{wasmtest.I32}}
	m := wasmtest.Module{
		Types:   []wasmtest.FuncType{typeI32I32I32, {}},
		Imports: []wasmtest.Import{{Module: "wasmkube", Name: "response_body_write", Type: 0}},
		Funcs: []wasmtest.Func{{Type: 1, Body: wasmtest.Cat(
			wasmtest.I32Const(0), wasmtest.I32Const(6), wasmtest.Call(0), []byte{wasmtest.OpDrop})}},
		Memory: &wasmtest.Memory{Min: 1, Max: -1},
		Exports: []wasmtest.Export{
			{Name: "wasmkube_handle_v1", Kind: wasmtest.ExportFunc, Index: 1},
			{Name: "memory", Kind: wasmtest.ExportMemory},
		},
		Data: []wasmtest.Data{{Offset: 0, Bytes: []byte("hello\n")}},
	}
	if got, want := minimalModule(), m.Encode(); !bytes.Equal(got, want) {
		t.Errorf("minimalModule() =\n%#v\nwant\n%#v", got, want)
	}
}
