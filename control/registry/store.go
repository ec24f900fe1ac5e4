package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// DefaultMaxBlobBytes bounds a module's size (64 MiB): a Go guest is 2-3 MB.
const DefaultMaxBlobBytes = 64 << 20

// Errors callers branch on.
var (
	// ErrNotFound: no such blob, module or tag.
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch: the bytes do not hash to the digest they were named by.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrNotWasm: the bytes are not a WebAssembly binary.
	ErrNotWasm = errors.New("not a WebAssembly binary")
	// ErrTooLarge: the blob is larger than the limit.
	ErrTooLarge = errors.New("module too large")
	// ErrBadReference: an image reference that cannot be parsed.
	ErrBadReference = errors.New("invalid image reference")
)

// wasmMagic is the header of every Wasm binary: "\0asm" and version 1.
const wasmMagic = "\x00asm\x01\x00\x00\x00"

// IsWasm reports whether b starts with the WebAssembly binary header (version 1).
func IsWasm(b []byte) bool { return len(b) >= 8 && string(b[:8]) == wasmMagic }

// Digest returns "sha256:HEX" of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Verify checks that b hashes to digest and is Wasm.
func Verify(b []byte, digest string) error {
	if got := Digest(b); got != digest {
		return fmt.Errorf("%w: expected %s, got %s", ErrDigestMismatch, digest, got)
	}
	if !IsWasm(b) {
		return ErrNotWasm
	}
	return nil
}

// Store holds blobs in a directory, one file per digest (DIR/sha256/HEX). Files are written
// to a temporary name and renamed once verified, so a reader never sees a partial blob.
// Store is safe for concurrent use by goroutines and processes sharing the directory.
type Store struct {
	dir string
	max int64
	// noSync skips fsync: for caches, whose blobs are verified again when read.
	noSync bool
}

// OpenStore creates dir if needed and returns its Store; maxBytes <= 0 means
// DefaultMaxBlobBytes.
func OpenStore(dir string, maxBytes int64) (*Store, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBlobBytes
	}
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o700); err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return &Store{dir: dir, max: maxBytes}, nil
}

// MaxBytes is the largest blob the store accepts.
func (s *Store) MaxBytes() int64 { return s.max }

func (s *Store) path(digest string) (string, error) {
	if !api.IsDigest(digest) {
		return "", fmt.Errorf("%w: digest %q: must be sha256: followed by 64 lower-case hex digits", ErrBadReference, digest)
	}
	return filepath.Join(s.dir, "sha256", strings.TrimPrefix(digest, "sha256:")), nil
}

// Put reads a blob from r, checks that it is Wasm, no larger than MaxBytes and hashes to
// digest, and stores it. It reports whether the blob was new; a blob already held is
// verified all the same. Errors wrap ErrNotWasm,
// ErrTooLarge or ErrDigestMismatch.
func (s *Store) Put(r io.Reader, digest string) (created bool, err error) {
	final, err := s.path(digest)
	if err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "sha256"), ".upload-*")
	if err != nil {
		return false, fmt.Errorf("store blob %s: %w", digest, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	var head [8]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil || !IsWasm(head[:n]) {
		return false, fmt.Errorf("store blob %s: %w (it does not start with \\0asm, version 1)", digest, ErrNotWasm)
	}
	h.Write(head[:])
	if _, err := tmp.Write(head[:]); err != nil {
		return false, fmt.Errorf("store blob %s: %w", digest, err)
	}
	written, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, s.max-8+1))
	if err != nil {
		return false, fmt.Errorf("store blob %s: read: %w", digest, err)
	}
	if written+8 > s.max {
		return false, fmt.Errorf("store blob %s: %w: larger than %d bytes", digest, ErrTooLarge, s.max)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return false, fmt.Errorf("store blob %s: %w: the body hashes to %s", digest, ErrDigestMismatch, got)
	}
	// A cache skips fsync: a blob torn by a crash fails verification when read and is
	// fetched again.
	if !s.noSync {
		if err := tmp.Sync(); err != nil {
			return false, fmt.Errorf("store blob %s: %w", digest, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("store blob %s: %w", digest, err)
	}
	if _, err := os.Stat(final); err == nil {
		// Already held (and the body verified): keep the file readers may have open.
		os.Remove(tmp.Name())
		return false, nil
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return false, fmt.Errorf("store blob %s: %w", digest, err)
	}
	return true, nil
}

// Open returns the blob named by digest and its size; the caller closes it. A missing blob
// is ErrNotFound.
func (s *Store) Open(digest string) (*os.File, int64, error) {
	p, err := s.path(digest)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("blob %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", digest, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open blob %s: %w", digest, err)
	}
	return f, st.Size(), nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }
