package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/registry"
)

func TestPushAndBuild(t *testing.T) {
	blobs, err := registry.OpenStore(t.TempDir(), 1<<20*16)
	if err != nil {
		t.Fatal(err)
	}
	tc := startCluster(t, clustertest.WithConfig(func(c *apiserver.Config) { c.Registry = registry.Handler(blobs) }))
	dir := t.TempDir()
	good := filepath.Join(dir, "app.wasm")
	os.WriteFile(good, append([]byte("\x00asm\x01\x00\x00\x00"), make([]byte, 100)...), 0o600)
	text := filepath.Join(dir, "app.txt")
	os.WriteFile(text, []byte("hello"), 0o600)
	b, _ := os.ReadFile(good)
	digest := registry.Digest(b)

	for _, tc2 := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "push", args: []string{"push", good, "app:v1"}, wantOut: digest + "\n"},
		{name: "push again", args: []string{"push", good, "app"}, wantOut: digest + "\n"},
		{name: "not wasm", args: []string{"push", text, "app:v2"}, wantCode: 1, wantErr: "not a WebAssembly binary"},
		{name: "missing file", args: []string{"push", filepath.Join(dir, "nope.wasm"), "app:v2"}, wantCode: 1, wantErr: "no such file"},
		{name: "bad reference", args: []string{"push", good, "App:v1"}, wantCode: 1, wantErr: "invalid image reference"},
		{name: "get modules", args: []string{"get", "modules"}, wantOut: "NAME   TAGS        DIGEST                AGE\napp    latest,v1   " + digest[:19]},
		{name: "bad mode", args: []string{"build", "--mode=jit", "-t", "x:v1", dir}, wantCode: 1, wantErr: "must be reactor, command or auto"},
		{name: "build without tag", args: []string{"build", dir}, wantCode: 1, wantErr: "-t NAME[:TAG] flag is required"},
	} {
		t.Run(tc2.name, func(t *testing.T) {
			r := tc.wk(t, "", tc2.args...)
			if r.code != tc2.wantCode || !strings.HasPrefix(r.out, tc2.wantOut) || !strings.Contains(r.err, tc2.wantErr) {
				t.Fatalf("wk %v: code %d\nstdout: %s\nstderr: %s", tc2.args, r.code, r.out, r.err)
			}
		})
	}

	t.Run("build hello", func(t *testing.T) {
		r := tc.wk(t, "", "build", "-t", "hello:v1", "../../samples/hello")
		if r.code != 0 || !strings.HasPrefix(r.out, "sha256:") || !strings.Contains(r.err, "reactor") {
			t.Fatalf("code %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
		}
		src, err := registry.NewSource(registry.SourceConfig{Client: tc.c, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		d, wasm, err := src.Fetch(context.Background(), "hello:v1")
		if err != nil || d != strings.TrimSpace(r.out) || len(wasm) < 1<<20 {
			t.Fatalf("fetch hello:v1 = %s (%d bytes), %v", d, len(wasm), err)
		}
	})

	t.Run("build a command without pushing", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "wc.wasm")
		r := tc.wk(t, "", "build", "--no-push", "-o", out, "../../samples/job")
		if r.code != 0 || r.out != "" || !strings.Contains(r.err, "(command,") {
			t.Fatalf("code %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
		}
		if b, err := os.ReadFile(out); err != nil || !registry.IsWasm(b) {
			t.Fatalf("output: %v", err)
		}
	})
}
