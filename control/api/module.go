package api

import (
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

// Module (wasmkube.io/v1alpha1, cluster-scoped) names a Wasm module in the cluster's
// registry: its tags, each pointing at the sha256 digest of a blob the registry holds. Pods
// name it in `image:` as "NAME:TAG" or "NAME@sha256:HEX". Blobs themselves are not in the
// API; see package registry.
type Module struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       ModuleSpec `json:"spec,omitempty"`
}

// ModuleSpec lists a module's tags, sorted by name.
type ModuleSpec struct {
	Tags []ModuleTag `json:"tags,omitempty"`
}

// ModuleTag points a tag at a blob.
type ModuleTag struct {
	// Name is the tag ("v1", "latest"): 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'.
	Name string `json:"name"`
	// Digest is "sha256:" and 64 lower-case hex digits.
	Digest string `json:"digest"`
	// Size is the blob's length in bytes.
	Size int64 `json:"size,omitempty"`
	// Pushed is when the tag last moved.
	Pushed Time `json:"pushed,omitzero"`
}

// Tag returns the named tag of m.
func (m *Module) Tag(name string) (ModuleTag, bool) {
	for _, t := range m.Spec.Tags {
		if t.Name == name {
			return t, true
		}
	}
	return ModuleTag{}, false
}

// SetTag points tag t.Name at t, replacing the tag if it exists, keeping tags sorted.
func (m *Module) SetTag(t ModuleTag) {
	for i := range m.Spec.Tags {
		if m.Spec.Tags[i].Name == t.Name {
			m.Spec.Tags[i] = t
			return
		}
	}
	m.Spec.Tags = append(m.Spec.Tags, t)
	sort.Slice(m.Spec.Tags, func(i, j int) bool { return m.Spec.Tags[i].Name < m.Spec.Tags[j].Name })
}

// IsModuleTag reports whether s may name a tag.
func IsModuleTag(s string) bool {
	if len(s) == 0 || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// IsDigest reports whether s is a "sha256:HEX" digest (64 lower-case hex digits).
func IsDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range []byte(hex) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func defaultModule(m *Module) {
	sort.SliceStable(m.Spec.Tags, func(i, j int) bool { return m.Spec.Tags[i].Name < m.Spec.Tags[j].Name })
}

func validateModule(m *Module) FieldErrors {
	errs := validateMeta(&m.ObjectMeta, false, labels.IsDNS1123Subdomain)
	seen := map[string]bool{}
	for i, t := range m.Spec.Tags {
		p := Path("spec").Child("tags").Index(i)
		if !IsModuleTag(t.Name) {
			errs = append(errs, InvalidValue(p.Child("name"), t.Name,
				"a tag must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'"))
		}
		if seen[t.Name] {
			errs = append(errs, InvalidValue(p.Child("name"), t.Name, "duplicate tag"))
		}
		seen[t.Name] = true
		if !IsDigest(t.Digest) {
			errs = append(errs, InvalidValue(p.Child("digest"), t.Digest, "must be sha256: followed by 64 lower-case hex digits"))
		}
		if t.Size < 0 {
			errs = append(errs, InvalidValue(p.Child("size"), t.Size, "must be greater than or equal to 0"))
		}
	}
	return errs
}
