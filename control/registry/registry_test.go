package registry_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/registry"
)

// module returns n bytes that start like a Wasm binary, different for each seed.
func module(n int, seed byte) []byte {
	b := make([]byte, n)
	copy(b, "\x00asm\x01\x00\x00\x00")
	for i := 8; i < n; i++ {
		b[i] = byte(i) ^ seed
	}
	return b
}

type cluster struct {
	api   *clustertest.API
	c     *client.Client
	blobs *registry.Store
}

func startCluster(t testing.TB, maxBytes int64) *cluster {
	t.Helper()
	blobs, err := registry.OpenStore(t.TempDir(), maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	a := clustertest.StartAPI(t, clustertest.WithConfig(func(c *apiserver.Config) { c.Registry = registry.Handler(blobs) }))
	return &cluster{api: a, c: newClient(t, a, a.Token), blobs: blobs}
}

func newClient(t testing.TB, a *clustertest.API, token string) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (cl *cluster) source(t testing.TB) *registry.Source {
	t.Helper()
	s, err := registry.NewSource(registry.SourceConfig{Client: cl.c, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseReference(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in   string
		want registry.Reference
		bad  bool
	}{
		{in: "hello:v1", want: registry.Reference{Kind: registry.RefTag, Name: "hello", Tag: "v1"}},
		{in: "hello", want: registry.Reference{Kind: registry.RefTag, Name: "hello", Tag: "latest"}},
		{in: "hello@" + d, want: registry.Reference{Kind: registry.RefDigest, Name: "hello", Digest: d}},
		{in: "file:///tmp/app.wasm", want: registry.Reference{Kind: registry.RefFile, Path: "/tmp/app.wasm"}},
		{in: "https://127.0.0.1:8443/m/app.wasm@" + d, want: registry.Reference{Kind: registry.RefURL, URL: "https://127.0.0.1:8443/m/app.wasm", Digest: d}},
		{in: "file://relative.wasm", bad: true},
		{in: "https://example.com/app.wasm", bad: true},
		{in: "http://example.com/app.wasm@" + d, bad: true},
		{in: "hello@sha256:abc", bad: true},
		{in: "Hello:v1", bad: true},
		{in: "docker.io/library/hello:v1", bad: true},
		{in: "hello:-v1", bad: true},
		{in: "", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := registry.ParseReference(tc.in)
			if tc.bad {
				if !errors.Is(err, registry.ErrBadReference) {
					t.Fatalf("got %+v, %v; want ErrBadReference", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			if got.String() != tc.in && tc.in != "hello" {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

func TestPushAndFetch(t *testing.T) {
	cl := startCluster(t, 0)
	ctx := context.Background()
	v1, v2 := module(4096, 1), module(4096, 2)
	d1, err := registry.Push(ctx, cl.c, "hello:v1", v1)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != registry.Digest(v1) {
		t.Fatalf("push returned %s, want %s", d1, registry.Digest(v1))
	}
	d2, err := registry.Push(ctx, cl.c, "hello:v2", v2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := registry.Modules(cl.c).Get(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Spec.Tags) != 2 || m.Spec.Tags[0].Name != "v1" || m.Spec.Tags[1].Digest != d2 || m.Spec.Tags[0].Size != 4096 {
		t.Fatalf("module tags = %+v", m.Spec.Tags)
	}
	src := cl.source(t)
	for _, tc := range []struct{ image, digest string }{
		{"hello:v1", d1}, {"hello:v2", d2}, {"hello@" + d2, d2},
	} {
		t.Run(tc.image, func(t *testing.T) {
			d, b, err := src.Fetch(ctx, tc.image)
			if err != nil || d != tc.digest || registry.Digest(b) != tc.digest {
				t.Fatalf("fetch = %s, %d bytes, %v; want %s", d, len(b), err, tc.digest)
			}
		})
	}
	// Moving a tag moves what it resolves to.
	if _, err := registry.Push(ctx, cl.c, "hello:v1", v2); err != nil {
		t.Fatal(err)
	}
	if d, _, err := src.Fetch(ctx, "hello:v1"); err != nil || d != d2 {
		t.Fatalf("after retag, hello:v1 = %s, %v; want %s", d, err, d2)
	}
	// The runner's cache serves a digest it holds even when the server lost the blob.
	f, _, err := cl.blobs.Open(d1)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Remove(f.Name())
	if d, _, err := src.Fetch(ctx, "hello@"+d1); err != nil || d != d1 {
		t.Fatalf("cached fetch = %s, %v", d, err)
	}
	if _, _, err := cl.source(t).Fetch(ctx, "hello@"+d1); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("fetch of a blob the server lost, cold cache: %v; want ErrNotFound", err)
	}
}

func TestBadInputs(t *testing.T) {
	const limit = 64 << 10
	cl := startCluster(t, limit)
	ctx := context.Background()
	good := module(1024, 3)
	if _, err := registry.Push(ctx, cl.c, "app:v1", good); err != nil {
		t.Fatal(err)
	}
	put := func(c *client.Client, digest string, body []byte) error {
		_, err := c.Do(ctx, client.Request{Method: http.MethodPut, Path: registry.BlobPath(digest), Body: body, ContentType: "application/wasm"})
		return err
	}
	wrong := newClient(t, cl.api, "not-a-token")
	src := cl.source(t)
	for _, tc := range []struct {
		name     string
		do       func() error
		sentinel error
		code     int
		msg      string
	}{
		{name: "push not wasm", do: func() error { _, err := registry.Push(ctx, cl.c, "app:v2", []byte("#!/bin/sh\necho hi\n")); return err },
			sentinel: registry.ErrNotWasm, msg: "not a WebAssembly binary"},
		{name: "put not wasm", do: func() error { b := []byte("not wasm at all"); return put(cl.c, registry.Digest(b), b) },
			code: http.StatusBadRequest, msg: "not a WebAssembly binary"},
		{name: "put digest mismatch", do: func() error { return put(cl.c, registry.Digest(good), module(1024, 4)) },
			code: http.StatusBadRequest, msg: "digest mismatch"},
		{name: "put oversized", do: func() error { b := module(limit+1, 5); return put(cl.c, registry.Digest(b), b) },
			code: http.StatusRequestEntityTooLarge, msg: "too large"},
		{name: "push oversized", do: func() error { _, err := registry.Push(ctx, cl.c, "app:big", module(limit+100, 6)); return err },
			code: http.StatusRequestEntityTooLarge},
		{name: "put wrong token", do: func() error { return put(wrong, registry.Digest(good), good) }, code: http.StatusUnauthorized},
		{name: "get wrong token", do: func() error {
			_, err := wrong.Do(ctx, client.Request{Path: registry.BlobPath(registry.Digest(good))})
			return err
		}, code: http.StatusUnauthorized},
		{name: "push wrong token", do: func() error { _, err := registry.Push(ctx, wrong, "app:v3", good); return err }, code: http.StatusUnauthorized},
		{name: "missing tag", do: func() error { _, _, err := src.Fetch(ctx, "app:v3"); return err },
			sentinel: registry.ErrNotFound, msg: `module "app:v3" not found`},
		{name: "missing module", do: func() error { _, _, err := src.Fetch(ctx, "hello:v3"); return err },
			sentinel: registry.ErrNotFound, msg: `module "hello:v3" not found`},
		{name: "missing blob", do: func() error {
			_, _, err := src.Fetch(ctx, "app@"+registry.Digest(module(10, 9)))
			return err
		}, sentinel: registry.ErrNotFound},
		{name: "bad reference", do: func() error { _, _, err := src.Fetch(ctx, "App:v1"); return err }, sentinel: registry.ErrBadReference},
		{name: "get unknown path", do: func() error { _, err := cl.c.Do(ctx, client.Request{Path: "/registry/v1/blobs/sha256:zz"}); return err },
			code: http.StatusNotFound},
		{name: "delete blob", do: func() error {
			_, err := cl.c.Do(ctx, client.Request{Method: http.MethodDelete, Path: registry.BlobPath(registry.Digest(good))})
			return err
		}, code: http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if err == nil {
				t.Fatal("no error")
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %v; want %v", err, tc.sentinel)
			}
			if tc.code != 0 {
				var se *api.StatusError
				if !errors.As(err, &se) || int(se.Status.Code) != tc.code {
					t.Errorf("error %v; want a %d Status", err, tc.code)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
	// Nothing bad was stored, and the tag still points at the good module.
	entries, _ := os.ReadDir(filepath.Join(cl.blobs.Dir(), "sha256"))
	if len(entries) != 1 {
		t.Errorf("blob store holds %d files, want 1", len(entries))
	}
}

func TestFetchURLAndFile(t *testing.T) {
	good, evil := module(2048, 7), module(2048, 8)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good.wasm":
			w.Write(good)
		case "/evil.wasm":
			w.Write(evil)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "app.wasm")
	os.WriteFile(file, good, 0o600)
	notWasm := filepath.Join(t.TempDir(), "app.txt")
	os.WriteFile(notWasm, []byte("hello"), 0o600)
	dg := registry.Digest(good)
	for _, tc := range []struct {
		name, image string
		sentinel    error
	}{
		{"url pinned", srv.URL + "/good.wasm@" + dg, nil},
		{"url digest mismatch", srv.URL + "/evil.wasm@" + dg, registry.ErrDigestMismatch},
		{"url missing", srv.URL + "/gone.wasm@" + dg, registry.ErrNotFound},
		{"file", "file://" + file, nil},
		{"file missing", "file://" + file + ".gone", registry.ErrNotFound},
		{"file not wasm", "file://" + notWasm, registry.ErrNotWasm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := registry.NewSource(registry.SourceConfig{CacheDir: t.TempDir(), HTTP: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			d, b, err := src.Fetch(context.Background(), tc.image)
			if tc.sentinel != nil {
				if !errors.Is(err, tc.sentinel) {
					t.Fatalf("fetch: %v; want %v", err, tc.sentinel)
				}
				return
			}
			if err != nil || d != dg || !bytes.Equal(b, good) {
				t.Fatalf("fetch = %s, %v", d, err)
			}
		})
	}
}

// BenchmarkPush measures uploading and tagging a 3 MB module (a new blob each time).
func BenchmarkPush(b *testing.B) {
	cl := startCluster(b, 0)
	ctx := context.Background()
	m := module(3<<20, 0)
	b.SetBytes(int64(len(m)))
	for i := 0; b.Loop(); i++ {
		m[100], m[101], m[102] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := registry.Push(ctx, cl.c, "bench:v1", m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchVerify measures resolving a tag, downloading a 3 MB module, verifying it and
// writing it to a cold cache; BenchmarkFetchCached the same from a warm cache.
func BenchmarkFetchVerify(b *testing.B) {
	cl := startCluster(b, 0)
	ctx := context.Background()
	if _, err := registry.Push(ctx, cl.c, "bench:v1", module(3<<20, 1)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(3 << 20)
	for b.Loop() {
		b.StopTimer()
		src := cl.source(b)
		b.StartTimer()
		if _, _, err := src.Fetch(ctx, "bench:v1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFetchCached(b *testing.B) {
	cl := startCluster(b, 0)
	ctx := context.Background()
	if _, err := registry.Push(ctx, cl.c, "bench:v1", module(3<<20, 1)); err != nil {
		b.Fatal(err)
	}
	src := cl.source(b)
	b.SetBytes(3 << 20)
	for b.Loop() {
		if _, _, err := src.Fetch(ctx, "bench:v1"); err != nil {
			b.Fatal(err)
		}
	}
}
