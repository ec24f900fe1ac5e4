package patch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// fieldSet is a set of field paths in the tree shape of Kubernetes' FieldsV1
// encoding. A path is a list of elements: "f:<field>" for a field of an
// object, "k:<json object>" for the element of a keyed list with that merge
// key, "v:<json value>" for a value of a list of primitives (and "i:<n>", an
// index, which this package reads but never writes). A node is a member when
// self is set; intermediate nodes exist only to hold members below them.
type fieldSet struct {
	self     bool
	children map[string]*fieldSet
}

func (s *fieldSet) empty() bool { return s == nil || (!s.self && len(s.children) == 0) }

func (s *fieldSet) child(el string) *fieldSet {
	if s == nil {
		return nil
	}
	return s.children[el]
}

// attach adds c under el unless it is empty; an existing child is merged.
func (s *fieldSet) attach(el string, c *fieldSet) {
	if c.empty() {
		return
	}
	if s.children == nil {
		s.children = map[string]*fieldSet{}
	}
	if old := s.children[el]; old != nil {
		old.union(c)
		return
	}
	s.children[el] = c
}

func (s *fieldSet) ensure(el string) *fieldSet {
	if s.children == nil {
		s.children = map[string]*fieldSet{}
	}
	c := s.children[el]
	if c == nil {
		c = &fieldSet{}
		s.children[el] = c
	}
	return c
}

func (s *fieldSet) clone() *fieldSet {
	if s == nil {
		return &fieldSet{}
	}
	out := &fieldSet{self: s.self}
	if len(s.children) > 0 {
		out.children = make(map[string]*fieldSet, len(s.children))
		for k, c := range s.children {
			out.children[k] = c.clone()
		}
	}
	return out
}

// union adds o's members to s.
func (s *fieldSet) union(o *fieldSet) {
	if o == nil {
		return
	}
	s.self = s.self || o.self
	for k, oc := range o.children {
		if oc.empty() {
			continue
		}
		s.ensure(k).union(oc)
	}
}

// contains reports whether every member of o is a member of s.
func (s *fieldSet) contains(o *fieldSet) bool {
	if o == nil {
		return true
	}
	if o.self && (s == nil || !s.self) {
		return false
	}
	for k, oc := range o.children {
		if !oc.empty() && !s.child(k).contains(oc) {
			return false
		}
	}
	return true
}

// subtract removes o's members from s (only those exact paths) and reports
// whether s changed.
func (s *fieldSet) subtract(o *fieldSet) bool {
	if s == nil || o == nil {
		return false
	}
	changed := false
	if o.self && s.self {
		s.self, changed = false, true
	}
	for k, oc := range o.children {
		sc := s.children[k]
		if sc == nil {
			continue
		}
		if sc.subtract(oc) {
			changed = true
		}
		if sc.empty() {
			delete(s.children, k)
		}
	}
	return changed
}

// subtractTrees removes o's members and everything below them from s, and
// reports whether s changed.
func (s *fieldSet) subtractTrees(o *fieldSet) bool {
	if s == nil || o == nil {
		return false
	}
	changed := false
	for k, oc := range o.children {
		sc := s.children[k]
		if sc == nil {
			continue
		}
		if oc.self {
			delete(s.children, k)
			changed = true
			continue
		}
		if sc.subtractTrees(oc) {
			changed = true
		}
		if sc.empty() {
			delete(s.children, k)
		}
	}
	return changed
}

// overlaps reports whether s and o have a member in common: whether
// s.subtract(o) would change s.
func (s *fieldSet) overlaps(o *fieldSet) bool {
	if s == nil || o == nil {
		return false
	}
	if s.self && o.self {
		return true
	}
	for k, oc := range o.children {
		if sc := s.children[k]; sc != nil && sc.overlaps(oc) {
			return true
		}
	}
	return false
}

// treesOverlap reports whether s has a node at or below a member of o: whether
// s.subtractTrees(o) would change s (sets never hold nodes without members).
func (s *fieldSet) treesOverlap(o *fieldSet) bool {
	if s == nil || o == nil {
		return false
	}
	for k, oc := range o.children {
		if sc := s.children[k]; sc != nil && (oc.self || sc.treesOverlap(oc)) {
			return true
		}
	}
	return false
}

// intersect returns the members in both s and o.
func (s *fieldSet) intersect(o *fieldSet) *fieldSet {
	out := &fieldSet{}
	if s == nil || o == nil {
		return out
	}
	out.self = s.self && o.self
	for k, sc := range s.children {
		if oc := o.children[k]; oc != nil {
			out.attach(k, sc.intersect(oc))
		}
	}
	return out
}

func (s *fieldSet) equal(o *fieldSet) bool {
	if s.empty() || o.empty() {
		return s.empty() && o.empty()
	}
	if s.self != o.self || len(s.children) != len(o.children) {
		return false
	}
	for k, sc := range s.children {
		if !sc.equal(o.children[k]) {
			return false
		}
	}
	return true
}

// covers reports whether s has a member at path or below it.
func (s *fieldSet) covers(path []string) bool {
	n := s
	for _, el := range path {
		n = n.child(el)
		if n == nil {
			return false
		}
	}
	return !n.empty()
}

// walk calls fn with the path of every member, parents before children,
// siblings in sorted order. fn must not keep path.
func (s *fieldSet) walk(fn func(path []string)) {
	var rec func(n *fieldSet, path []string)
	rec = func(n *fieldSet, path []string) {
		if n.self && len(path) > 0 {
			fn(path)
		}
		for _, k := range slices.Sorted(maps.Keys(n.children)) {
			rec(n.children[k], append(path, k))
		}
	}
	if s != nil {
		rec(s, nil)
	}
}

// encode writes s in the FieldsV1 encoding, keys sorted.
func (s *fieldSet) encode() json.RawMessage {
	var b bytes.Buffer
	s.encodeTo(&b)
	return b.Bytes()
}

func (s *fieldSet) encodeTo(b *bytes.Buffer) {
	b.WriteByte('{')
	first := true
	if s.self && len(s.children) > 0 {
		b.WriteString(`".":{}`)
		first = false
	}
	for _, k := range slices.Sorted(maps.Keys(s.children)) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(b, k)
		b.WriteByte(':')
		s.children[k].encodeTo(b)
	}
	b.WriteByte('}')
}

// writeJSONString writes s as a JSON string, quickly when it needs no escapes.
func writeJSONString(b *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if !plain {
		q, _ := json.Marshal(s)
		b.Write(q)
		return
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// parseFieldsV1 decodes the FieldsV1 encoding. Keys of list elements are
// re-encoded so that equal keys are spelled the same way.
func parseFieldsV1(raw []byte) (*fieldSet, error) {
	if s, ok := fastFieldsV1(raw); ok {
		return s, nil
	}
	return parseFieldsV1Std(raw)
}

// parseFieldsV1Std is parseFieldsV1 through decodeValue and a map: for what
// fastFieldsV1 leaves, and as the reference it is tested against.
func parseFieldsV1Std(raw []byte) (*fieldSet, error) {
	s := &fieldSet{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return s, nil
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, fmt.Errorf("decode fieldsV1: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode fieldsV1: not an object")
	}
	if err := s.fill(m); err != nil {
		return nil, fmt.Errorf("decode fieldsV1: %w", err)
	}
	return s, nil
}

func (s *fieldSet) fill(m map[string]any) error {
	for k, v := range m {
		if k == "." {
			s.self = true
			continue
		}
		sub, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("value of %q is not an object", k)
		}
		el, err := canonicalElement(k)
		if err != nil {
			return err
		}
		c := s.ensure(el)
		if len(sub) == 0 {
			c.self = true
			continue
		}
		if err := c.fill(sub); err != nil {
			return err
		}
	}
	return nil
}

func canonicalElement(el string) (string, error) {
	prefix, body, ok := strings.Cut(el, ":")
	if !ok {
		return "", fmt.Errorf("path element %q has no type prefix", el)
	}
	switch prefix {
	case "f", "i":
		return el, nil
	case "k", "v":
		v, err := decodeValue([]byte(body))
		if err != nil {
			return "", fmt.Errorf("path element %q: %w", el, err)
		}
		if _, isObj := v.(map[string]any); prefix == "k" && !isObj {
			return "", fmt.Errorf("path element %q: key is not an object", el)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("path element %q: %w", el, err)
		}
		return prefix + ":" + string(b), nil
	default:
		return "", fmt.Errorf("path element %q has unknown type %q", el, prefix)
	}
}

// keyElement returns the path element of a keyed list element.
func keyElement(mergeKey string, value any) string {
	if v, ok := value.(string); ok && isPlain(mergeKey) && isPlain(v) {
		// What json.Marshal writes for these, without its reflection.
		return `k:{"` + mergeKey + `":"` + v + `"}`
	}
	b, _ := json.Marshal(map[string]any{mergeKey: value})
	return "k:" + string(b)
}

// isPlain reports whether json.Marshal writes s as it is, between quotes.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// valueElement returns the path element of a value of a list of primitives.
func valueElement(value any) string {
	b, _ := json.Marshal(value)
	return "v:" + string(b)
}

// pathString renders a path the way Kubernetes prints conflicts:
// .spec.containers[name="web"].image, .metadata.finalizers[="x"].
func pathString(path []string) string {
	var b strings.Builder
	for _, el := range path {
		prefix, body, _ := strings.Cut(el, ":")
		switch prefix {
		case "f":
			b.WriteString("." + body)
		case "v":
			b.WriteString("[=" + body + "]")
		case "i":
			b.WriteString("[" + body + "]")
		case "k":
			v, err := decodeValue([]byte(body))
			m, ok := v.(map[string]any)
			if err != nil || !ok {
				b.WriteString("[" + body + "]")
				continue
			}
			parts := make([]string, 0, len(m))
			for _, k := range slices.Sorted(maps.Keys(m)) {
				vb, _ := json.Marshal(m[k])
				parts = append(parts, k+"="+string(vb))
			}
			b.WriteString("[" + strings.Join(parts, ",") + "]")
		}
	}
	return b.String()
}
