package registry

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
)

// RefKind says where a reference points.
type RefKind int

// The kinds of reference.
const (
	// RefTag is "name:tag" (or "name", meaning "name:latest") in the cluster's registry.
	RefTag RefKind = iota + 1
	// RefDigest is "name@sha256:HEX" in the cluster's registry.
	RefDigest
	// RefFile is "file:///abs/path", read from the runner's own disk.
	RefFile
	// RefURL is "https://host/path@sha256:HEX", fetched and verified against the digest.
	RefURL
)

// DefaultTag is the tag of a reference that names none.
const DefaultTag = "latest"

// Reference is a parsed image reference.
type Reference struct {
	Kind RefKind
	// Name is the Module name (RefTag, RefDigest).
	Name string
	// Tag is set for RefTag.
	Tag string
	// Digest is set for RefDigest and RefURL.
	Digest string
	// Path is the absolute file path of RefFile.
	Path string
	// URL is the https URL of RefURL, without the digest.
	URL string
}

// String is the reference as a user writes it.
func (r Reference) String() string {
	switch r.Kind {
	case RefTag:
		return r.Name + ":" + r.Tag
	case RefDigest:
		return r.Name + "@" + r.Digest
	case RefFile:
		return "file://" + r.Path
	case RefURL:
		return r.URL + "@" + r.Digest
	}
	return ""
}

// ParseReference parses an image reference: "name:tag", "name" (tag latest),
// "name@sha256:HEX", "file:///path" or "https://host/path@sha256:HEX". Errors wrap
// ErrBadReference and say what would be accepted.
func ParseReference(image string) (Reference, error) {
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("%w %q: %s", ErrBadReference, image, why)
	}
	switch {
	case strings.HasPrefix(image, "file://"):
		p := strings.TrimPrefix(image, "file://")
		if !filepath.IsAbs(p) {
			return bad("a file:// reference needs an absolute path (file:///path/to/app.wasm)")
		}
		return Reference{Kind: RefFile, Path: filepath.Clean(p)}, nil
	case strings.HasPrefix(image, "https://"), strings.HasPrefix(image, "http://"):
		at := strings.LastIndex(image, "@")
		if at < 0 || !api.IsDigest(image[at+1:]) {
			return bad("a URL must be pinned by digest: https://host/path/app.wasm@sha256:<64 hex digits>")
		}
		u, err := url.Parse(image[:at])
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return bad("only https:// URLs with a host are accepted")
		}
		return Reference{Kind: RefURL, URL: u.String(), Digest: image[at+1:]}, nil
	}
	name, digest, hasDigest := strings.Cut(image, "@")
	tag := DefaultTag
	if !hasDigest {
		if i := strings.LastIndex(name, ":"); i >= 0 {
			name, tag = name[:i], name[i+1:]
		}
		if !api.IsModuleTag(tag) {
			return bad("a tag must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'")
		}
	} else if !api.IsDigest(digest) {
		return bad("a digest must be sha256: followed by 64 lower-case hex digits")
	}
	if errs := labels.IsDNS1123Subdomain(name); len(errs) > 0 || name == "" {
		return bad("a module name must be a lower-case DNS subdomain (hello, my-app); registry hosts are not supported, use https://...@sha256:... for outside modules")
	}
	if hasDigest {
		return Reference{Kind: RefDigest, Name: name, Digest: digest}, nil
	}
	return Reference{Kind: RefTag, Name: name, Tag: tag}, nil
}
