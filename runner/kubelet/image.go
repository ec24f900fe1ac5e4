package kubelet

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// ModuleSource fetches the modules of the cluster's module registry (control/registry's Source is
// one). Fetch resolves image (name:tag, name@sha256:..., or https://...@sha256:...) to its digest
// ("sha256:<hex>") and the module's bytes; the runner verifies the digest when it compiles them.
type ModuleSource interface {
	Fetch(ctx context.Context, image string) (digest string, wasm []byte, err error)
}

// DigestResolver is a ModuleSource that can tell the digest an image names without fetching
// it (control/registry's Source can): the runner then fetches and compiles each digest once,
// however many pods name it by a tag.
type DigestResolver interface {
	Resolve(ctx context.Context, image string) (digest string, err error)
}

// Errors of resolving an image; the pod's container waits with the matching reason.
var (
	// ErrImagePull means the module could not be fetched (ImagePullBackOff).
	ErrImagePull = errors.New("cannot fetch module")
	// ErrInvalidImageName means the image is not a reference the runner understands.
	ErrInvalidImageName = errors.New("invalid image name")
)

// Waiting reasons of containers, as the kubelet words them.
const (
	ReasonContainerCreating    = "ContainerCreating"
	ReasonImagePullBackOff     = "ImagePullBackOff"
	ReasonInvalidImageName     = "InvalidImageName"
	ReasonCreateContainerError = "CreateContainerError"
	ReasonCrashLoopBackOff     = "CrashLoopBackOff"
)

// images resolves images to compiled modules, remembering file:// modules by path, size and
// modification time so that a cached module costs no read and no hash.
type images struct {
	rt      *sandbox.Runtime
	modules ModuleSource

	mu       sync.Mutex
	files    map[string]fileModule
	named    map[string]*sandbox.Module // registry references pinned by digest
	byDigest map[string]*sandbox.Module // every registry module compiled, by digest
}

type fileModule struct {
	size    int64
	modTime time.Time
	m       *sandbox.Module
}

// resolve returns the module image names. Fetch failures wrap ErrImagePull, bad names
// ErrInvalidImageName; modules the sandbox refuses wrap the sandbox's errors.
func (im *images) resolve(ctx context.Context, image string) (*sandbox.Module, error) {
	switch {
	case strings.HasPrefix(image, "file://"):
		return im.file(ctx, image)
	case image == "" || strings.Contains(image, "://") && !strings.HasPrefix(image, "https://"):
		return nil, fmt.Errorf("resolve image %q: %w: want file:///abs/path.wasm, https://...@sha256:<hex>, name:tag or name@sha256:<hex>", image, ErrInvalidImageName)
	}
	im.mu.Lock()
	m := im.named[image]
	im.mu.Unlock()
	if m != nil {
		return m, nil
	}
	if im.modules == nil {
		return nil, fmt.Errorf("resolve image %q: %w: this runner has no module registry source", image, ErrImagePull)
	}
	// A tag moves when a new module is pushed under it, so it is resolved on every start; the
	// digest it names is fetched and compiled once.
	if r, ok := im.modules.(DigestResolver); ok {
		digest, err := r.Resolve(ctx, image)
		if err != nil {
			return nil, fmt.Errorf("resolve image %q: %w: %w", image, ErrImagePull, err)
		}
		im.mu.Lock()
		m := im.byDigest[digest]
		im.mu.Unlock()
		if m != nil {
			return m, nil
		}
	}
	digest, wasm, err := im.modules.Fetch(ctx, image)
	if err != nil {
		return nil, fmt.Errorf("resolve image %q: %w: %w", image, ErrImagePull, err)
	}
	m, err = im.rt.Compile(ctx, digest, wasm)
	if err != nil {
		return nil, err
	}
	im.mu.Lock()
	if _, pinned, _ := strings.Cut(image, "@"); pinned != "" {
		im.named[image] = m
	}
	im.byDigest[digest] = m
	im.mu.Unlock()
	return m, nil
}

func (im *images) file(ctx context.Context, image string) (*sandbox.Module, error) {
	u, err := url.Parse(image)
	if err != nil || u.Host != "" || !filepath.IsAbs(u.Path) {
		return nil, fmt.Errorf("resolve image %q: %w: want file:///abs/path.wasm", image, ErrInvalidImageName)
	}
	st, err := os.Stat(u.Path)
	if err != nil {
		return nil, fmt.Errorf("resolve image %q: %w: %w", image, ErrImagePull, err)
	}
	im.mu.Lock()
	fm, ok := im.files[u.Path]
	im.mu.Unlock()
	if ok && fm.size == st.Size() && fm.modTime.Equal(st.ModTime()) {
		return fm.m, nil
	}
	wasm, err := os.ReadFile(u.Path)
	if err != nil {
		return nil, fmt.Errorf("resolve image %q: %w: %w", image, ErrImagePull, err)
	}
	m, err := im.rt.Compile(ctx, "", wasm)
	if err != nil {
		return nil, err
	}
	im.mu.Lock()
	im.files[u.Path] = fileModule{size: st.Size(), modTime: st.ModTime(), m: m}
	im.mu.Unlock()
	return m, nil
}

// waitingReason is the reason a container waits with after resolving its image failed.
func waitingReason(err error) string {
	switch {
	case errors.Is(err, ErrInvalidImageName):
		return ReasonInvalidImageName
	case errors.Is(err, ErrImagePull), errors.Is(err, sandbox.ErrDigestMismatch):
		return ReasonImagePullBackOff
	}
	return ReasonCreateContainerError
}

// cached reports whether image resolves without fetching or compiling.
func (im *images) cached(image string) bool {
	if path, ok := strings.CutPrefix(image, "file://"); ok {
		st, err := os.Stat(path)
		im.mu.Lock()
		fm, found := im.files[path]
		im.mu.Unlock()
		return err == nil && found && fm.size == st.Size() && fm.modTime.Equal(st.ModTime())
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.named[image] != nil
}
