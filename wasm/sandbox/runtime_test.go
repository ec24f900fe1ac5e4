package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

func TestCompile(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	web := webWasm(t)
	tests := []struct {
		name     string
		wasm     []byte
		digest   string
		wantErr  error
		wantKind sandbox.Kind
		wantText string // in the error
	}{
		{name: "not wasm", wasm: []byte("#!/bin/sh\necho hi\n"), wantErr: sandbox.ErrNotWasm, wantText: `#!/bin/sh`},
		{name: "empty", wasm: nil, wantErr: sandbox.ErrNotWasm},
		{name: "truncated", wasm: minimalHTTP()[:len(minimalHTTP())-3], wantErr: sandbox.ErrInvalidModule},
		{name: "missing export", wasm: noExports(), wantErr: sandbox.ErrMissingExport, wantText: "wasmkube_handle_v1"},
		{name: "reactor without SDK", wasm: reactorWithoutSDK(), wantErr: sandbox.ErrMissingExport, wantText: "guest SDK"},
		{name: "unknown import", wasm: importsUnknown(), wantErr: sandbox.ErrUnknownImport, wantText: "env.foo"},
		{name: "digest mismatch", wasm: minimalHTTP(), digest: "sha256:" + strings.Repeat("0", 64), wantErr: sandbox.ErrDigestMismatch},
		{name: "minimal http", wasm: minimalHTTP(), wantKind: sandbox.KindHTTP},
		{name: "command", wasm: commandModule(exitWith(0)), wantKind: sandbox.KindCommand},
		{name: "go reactor", wasm: web, wantKind: sandbox.KindHTTP},
		{name: "go command", wasm: cmdWasm(t), wantKind: sandbox.KindCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := rt.Compile(context.Background(), tt.digest, tt.wasm)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Compile = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("error %q does not mention %q", err, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind() != tt.wantKind {
				t.Fatalf("Kind = %v, want %v", m.Kind(), tt.wantKind)
			}
			sum := sha256.Sum256(tt.wasm)
			if want := "sha256:" + hex.EncodeToString(sum[:]); m.Digest() != want {
				t.Fatalf("Digest = %s, want %s", m.Digest(), want)
			}
		})
	}
}

// TestCompileOncePerDigest compiles one module from many goroutines: every caller gets the same
// compiled module.
func TestCompileOncePerDigest(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	wasm := webWasm(t)
	var wg sync.WaitGroup
	got := make([]*sandbox.Module, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := rt.Compile(context.Background(), "", wasm)
			if err != nil {
				t.Error(err)
			}
			got[i] = m
		}()
	}
	wg.Wait()
	for _, m := range got[1:] {
		if m != got[0] {
			t.Fatal("two compilations of one digest")
		}
	}
}

func TestClosedRuntime(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	m := compile(t, rt, minimalHTTP())
	rt.Close(context.Background())
	if _, err := rt.Compile(context.Background(), "", commandModule(exitWith(0))); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Compile after Close = %v, want ErrClosed", err)
	}
	_, err := rt.NewPod(context.Background(), sandbox.PodConfig{Name: "p",
		Containers: []sandbox.ContainerConfig{{Name: "c", Module: m}}})
	if !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("NewPod after Close = %v, want ErrClosed", err)
	}
}
