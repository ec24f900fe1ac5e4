package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// Modules is the typed client of Module objects.
func Modules(c *client.Client) *client.Resource[*api.Module] {
	return client.For[*api.Module](c, "modules")
}

// Push uploads wasm to the registry behind c and points ref ("name:tag"; "name" means
// name:latest) at it, creating the Module if needed. It returns the digest. Bytes that are
// not Wasm are refused before anything is sent (ErrNotWasm); the server's refusals come back
// as *api.StatusError (413 too large, 400 not Wasm or digest mismatch, 401 bad token).
func Push(ctx context.Context, c *client.Client, ref string, wasm []byte) (string, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return "", err
	}
	if r.Kind != RefTag {
		return "", fmt.Errorf("push %s: %w: push to a name:tag reference", ref, ErrBadReference)
	}
	if !IsWasm(wasm) {
		return "", fmt.Errorf("push %s: %w (it does not start with \\0asm, version 1)", ref, ErrNotWasm)
	}
	digest := Digest(wasm)
	if _, err := c.Do(ctx, client.Request{Method: http.MethodPut, Path: BlobPath(digest), Body: wasm,
		ContentType: "application/wasm"}); err != nil {
		return "", fmt.Errorf("push %s: upload blob: %w", ref, err)
	}
	if err := Tag(ctx, c, r.Name, r.Tag, digest, int64(len(wasm))); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return digest, nil
}

// Tag points name:tag at digest (a blob the registry already holds), creating the Module if
// needed and retrying conflicting writes (concurrent pushes to the same module) until ctx
// ends.
func Tag(ctx context.Context, c *client.Client, name, tag, digest string, size int64) error {
	mods := Modules(c)
	t := api.ModuleTag{Name: tag, Digest: digest, Size: size, Pushed: api.Now()}
	for attempt := 0; ; attempt++ {
		m, err := mods.Get(ctx, name)
		switch {
		case api.IsNotFound(err):
			m = &api.Module{ObjectMeta: api.ObjectMeta{Name: name}}
			m.SetTag(t)
			_, err = mods.Create(ctx, m)
		case err == nil:
			m.SetTag(t)
			_, err = mods.Update(ctx, m)
		}
		if err == nil {
			return nil
		}
		if !api.IsConflict(err) && !api.IsAlreadyExists(err) {
			return fmt.Errorf("tag module %s:%s: %w", name, tag, err)
		}
		// Another push moved a tag of the same module: back off (jittered, up to ~100ms)
		// and apply ours to the new version.
		wait := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 7)))
		select {
		case <-ctx.Done():
			return fmt.Errorf("tag module %s:%s: %w (after %d conflicts)", name, tag, ctx.Err(), attempt+1)
		case <-time.After(wait):
		}
	}
}

// SourceConfig configures a Source.
type SourceConfig struct {
	// Client reaches the API server: tags are resolved through it and blobs fetched from it.
	// Required for name:tag and name@digest references.
	Client *client.Client
	// CacheDir holds fetched blobs (the runner's data dir/modules). Required.
	CacheDir string
	// HTTP fetches https:// references (a client with a 5 minute timeout when nil).
	HTTP *http.Client
	// MaxBytes bounds a module's size (DefaultMaxBlobBytes).
	MaxBytes int64
}

// Source resolves image references to digests and fetches verified module bytes, keeping
// every blob it fetched in its cache directory. It is the runner's ModuleSource. Safe for
// concurrent use.
type Source struct {
	cfg   SourceConfig
	cache *Store
}

// NewSource opens the cache directory.
func NewSource(cfg SourceConfig) (*Source, error) {
	if cfg.CacheDir == "" {
		return nil, errors.New("module source: CacheDir is required")
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 5 * time.Minute}
	}
	st, err := OpenStore(cfg.CacheDir, cfg.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("module source: %w", err)
	}
	st.noSync = true
	cfg.MaxBytes = st.MaxBytes()
	return &Source{cfg: cfg, cache: st}, nil
}

// Resolve returns the digest image names now. A file:// reference is read to hash it. A
// missing module or tag is an error wrapping ErrNotFound, worded `module "hello:v3" not
// found`.
func (s *Source) Resolve(ctx context.Context, image string) (string, error) {
	r, err := ParseReference(image)
	if err != nil {
		return "", err
	}
	switch r.Kind {
	case RefDigest, RefURL:
		return r.Digest, nil
	case RefFile:
		d, _, err := s.readFile(r)
		return d, err
	}
	if s.cfg.Client == nil {
		return "", fmt.Errorf("resolve module %q: no API client configured", image)
	}
	m, err := Modules(s.cfg.Client).Get(ctx, r.Name)
	if api.IsNotFound(err) {
		return "", fmt.Errorf("module %q not found: %w", r.String(), ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("resolve module %q: %w", r.String(), err)
	}
	t, ok := m.Tag(r.Tag)
	if !ok {
		return "", fmt.Errorf("module %q not found: %w", r.String(), ErrNotFound)
	}
	return t.Digest, nil
}

// Fetch resolves image and returns its digest and verified bytes, from the cache when it
// holds the digest, else from the registry or the URL (then cached). Errors wrap
// ErrNotFound, ErrDigestMismatch, ErrNotWasm, ErrTooLarge or ErrBadReference where those are
// the cause.
func (s *Source) Fetch(ctx context.Context, image string) (string, []byte, error) {
	r, err := ParseReference(image)
	if err != nil {
		return "", nil, err
	}
	if r.Kind == RefFile {
		return s.readFile(r)
	}
	digest, err := s.Resolve(ctx, image)
	if err != nil {
		return "", nil, err
	}
	if b, err := s.cached(digest); err == nil {
		return digest, b, nil
	}
	var body io.ReadCloser
	var size int64 = -1
	if r.Kind == RefURL {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
		if err != nil {
			return "", nil, fmt.Errorf("fetch module %s: %w", image, err)
		}
		resp, err := s.cfg.HTTP.Do(req)
		if err != nil {
			return "", nil, fmt.Errorf("fetch module %s: %w", image, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return "", nil, fmt.Errorf("fetch module %s: %w (404 from %s)", image, ErrNotFound, r.URL)
			}
			return "", nil, fmt.Errorf("fetch module %s: %s answered %s", image, r.URL, resp.Status)
		}
		body, size = resp.Body, resp.ContentLength
	} else {
		if s.cfg.Client == nil {
			return "", nil, fmt.Errorf("fetch module %s: no API client configured", image)
		}
		var h http.Header
		body, h, err = s.cfg.Client.Stream(ctx, client.Request{Path: BlobPath(digest), Accept: "application/wasm"})
		if err == nil {
			if n, perr := strconv.ParseInt(h.Get("Content-Length"), 10, 64); perr == nil {
				size = n
			}
		}
		if api.IsNotFound(err) {
			return "", nil, fmt.Errorf("fetch module %s: blob %s: %w", image, digest, ErrNotFound)
		}
		if err != nil {
			return "", nil, fmt.Errorf("fetch module %s: %w", image, err)
		}
	}
	defer body.Close()
	if size > s.cfg.MaxBytes {
		return "", nil, fmt.Errorf("fetch module %s: %w: %d bytes, the limit is %d", image, ErrTooLarge, size, s.cfg.MaxBytes)
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(size, 0)+1))
	if _, err := buf.ReadFrom(io.LimitReader(body, s.cfg.MaxBytes+1)); err != nil {
		return "", nil, fmt.Errorf("fetch module %s: read: %w", image, err)
	}
	b := buf.Bytes()
	if int64(len(b)) > s.cfg.MaxBytes {
		return "", nil, fmt.Errorf("fetch module %s: %w: larger than %d bytes", image, ErrTooLarge, s.cfg.MaxBytes)
	}
	if err := Verify(b, digest); err != nil {
		return "", nil, fmt.Errorf("fetch module %s: %w", image, err)
	}
	if _, err := s.cache.Put(bytes.NewReader(b), digest); err != nil {
		return "", nil, fmt.Errorf("fetch module %s: cache: %w", image, err)
	}
	return digest, b, nil
}

// cached reads and re-verifies a cached blob; a corrupt file is removed so it is fetched
// again.
func (s *Source) cached(digest string) ([]byte, error) {
	f, size, err := s.cache.Open(digest)
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	_, err = io.ReadFull(f, b)
	f.Close()
	if err != nil {
		return nil, err
	}
	if err := Verify(b, digest); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return b, nil
}

func (s *Source) readFile(r Reference) (string, []byte, error) {
	f, err := os.Open(r.Path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("module %q not found: %w", r.String(), ErrNotFound)
	}
	if err != nil {
		return "", nil, fmt.Errorf("read module %s: %w", r.String(), err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, s.cfg.MaxBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("read module %s: %w", r.String(), err)
	}
	if int64(len(b)) > s.cfg.MaxBytes {
		return "", nil, fmt.Errorf("read module %s: %w: larger than %d bytes", r.String(), ErrTooLarge, s.cfg.MaxBytes)
	}
	if !IsWasm(b) {
		return "", nil, fmt.Errorf("read module %s: %w", r.String(), ErrNotWasm)
	}
	return Digest(b), b, nil
}
