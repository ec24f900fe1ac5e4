// Package registry owns wasmkube's module registry: Wasm blobs stored content-addressed
// (sha256) on the API server's disk, the HTTPS endpoints that upload and download them, image
// references ("name:tag", "name@sha256:...", "file:///path", "https://...@sha256:..."), and
// the client side: Push (upload a blob and move a tag) and Source, which resolves a reference
// to a digest, fetches and verifies the blob and caches it on the runner's disk.
//
// Tags are not stored here: they live in the API as Module objects (wasmkube.io/v1alpha1,
// cluster-scoped, named after the module, spec.tags pointing tag names at digests). Compiling
// modules is the sandbox's business, not this package's.
//
// The blob endpoints, served by the API server process after its bearer-token check:
//
//	PUT  /registry/v1/blobs/sha256:HEX   body: the module; 201 Created, or 200 if already held
//	GET  /registry/v1/blobs/sha256:HEX   the module (application/wasm)
//	HEAD /registry/v1/blobs/sha256:HEX   200 with Content-Length, or 404
//
// A PUT is refused with 400 when the body is not a Wasm binary or does not hash to the digest
// in its path, and with 413 when it is larger than the store's limit. Errors are Kubernetes
// Status objects.
package registry
