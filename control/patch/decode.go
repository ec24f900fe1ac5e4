package patch

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// fastDecode decodes one JSON value into what encoding/json with UseNumber
// makes of it (map[string]any, []any, string, json.Number, bool, nil), without
// its reflection and its streaming Decoder: decoding objects was most of the
// cost of RecordUpdate. It handles plain JSON only and reports ok false for
// anything it does not fully understand — invalid JSON, escapes in keys, a
// nesting deeper than encoding/json allows — so decodeValue can hand that to
// encoding/json, which then answers exactly as before (errors included). When
// ok is true the value is the one encoding/json would return
// (TestFastDecodeMatchesEncodingJSON and FuzzFastDecode hold it to that).
func fastDecode(b []byte) (v any, ok bool) {
	d := decoder{b: b}
	d.space()
	v, ok = d.value(0)
	if !ok {
		return nil, false
	}
	d.space()
	return v, d.i == len(d.b)
}

// maxDepth is encoding/json's nesting limit; deeper input goes to it for its error.
const maxDepth = 10000

type decoder struct {
	b []byte
	i int
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		s, ok := d.str()
		return s, ok
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

func (d *decoder) literal(s string) bool {
	if len(d.b)-d.i < len(s) || string(d.b[d.i:d.i+len(s)]) != s {
		return false
	}
	d.i += len(s)
	return true
}

func (d *decoder) object(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	d.i++ // {
	m := map[string]any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, true
	}
	for {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, false
		}
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, false
		}
		d.i++
		d.space()
		v, ok := d.value(depth)
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated key: the last wins, as in encoding/json
		d.space()
		if d.i >= len(d.b) {
			return nil, false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			d.space()
		case '}':
			d.i++
			return m, true
		default:
			return nil, false
		}
	}
}

func (d *decoder) array(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	d.i++ // [
	l := []any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return l, true
	}
	for {
		v, ok := d.value(depth)
		if !ok {
			return nil, false
		}
		l = append(l, v)
		d.space()
		if d.i >= len(d.b) {
			return nil, false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			d.space()
		case ']':
			d.i++
			return l, true
		default:
			return nil, false
		}
	}
}

// plainEnd returns the index of the closing quote of the string at d.i when it
// holds only printable ASCII without escapes, else -1.
func (d *decoder) plainEnd() (end int, plain bool) {
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			return j, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return j, false
		}
	}
	return -1, false
}

// key reads an object key, as str reads a string.
func (d *decoder) key() (string, bool) {
	end, plain := d.plainEnd()
	if !plain {
		return d.str()
	}
	k := string(d.b[d.i+1 : end])
	d.i = end + 1
	return k, true
}

// str reads a string. Plain ones are copied; valid UTF-8 without escapes is
// too; anything with an escape is unquoted by encoding/json itself.
func (d *decoder) str() (string, bool) {
	end, plain := d.plainEnd()
	if plain {
		s := string(d.b[d.i+1 : end])
		d.i = end + 1
		return s, true
	}
	if end < 0 {
		return "", false
	}
	escaped := false
	j := end
	for ; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return "", false
		}
		if c == '\\' {
			escaped = true
			j++ // skip the escaped character; encoding/json checks it below
		}
	}
	if j >= len(d.b) {
		return "", false
	}
	raw := d.b[d.i : j+1]
	if !escaped {
		body := raw[1 : len(raw)-1]
		if !utf8.Valid(body) {
			return "", false // encoding/json replaces invalid bytes: let it
		}
		d.i = j + 1
		return string(body), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	d.i = j + 1
	return s, true
}

// number reads a number with JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (any, bool) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		d.digits()
	default:
		return nil, false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !d.digits() {
			return nil, false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !d.digits() {
			return nil, false
		}
	}
	return json.Number(d.b[start:d.i]), true
}

// digits skips one or more digits and reports whether there was one.
func (d *decoder) digits() bool {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// decodeOwned decodes a JSON object for RecordUpdate, leaving out what
// ownedView would drop anyway: through "status" everything but kind,
// apiVersion and status; otherwise status and metadata.managedFields, which
// are the larger part of a stored pod. Skipped values are still checked to be
// JSON. ok is false where fastDecode would refuse.
func decodeOwned(b []byte, sc scope) (map[string]any, bool) {
	d := decoder{b: b}
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return nil, false
	}
	m, ok := d.objectSkipping(1, func(k string) bool {
		if sc == scopeStatus {
			return k != "status" && k != "kind" && k != "apiVersion"
		}
		return k == "status"
	}, func(k string) bool { return sc == scopeMain && k == "metadata" })
	if !ok {
		return nil, false
	}
	d.space()
	return m, d.i == len(d.b)
}

// objectSkipping decodes an object at d.i whose keys for which skip holds are
// checked but left out; the values of keys for which meta holds are decoded
// without managedFields.
func (d *decoder) objectSkipping(depth int, skip, meta func(string) bool) (map[string]any, bool) {
	d.i++ // {
	m := map[string]any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, true
	}
	for {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, false
		}
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, false
		}
		d.i++
		d.space()
		var v any
		switch {
		case skip(k):
			ok = d.skip(depth)
			delete(m, k) // a repeated key that is skipped leaves nothing, as ownedView would
		case meta(k) && d.i < len(d.b) && d.b[d.i] == '{':
			v, ok = d.objectSkipping(depth+1, func(k string) bool { return k == "managedFields" }, func(string) bool { return false })
			m[k] = v
		default:
			v, ok = d.value(depth)
			m[k] = v
		}
		if !ok {
			return nil, false
		}
		d.space()
		if d.i >= len(d.b) {
			return nil, false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			d.space()
		case '}':
			d.i++
			return m, true
		default:
			return nil, false
		}
	}
}

// skip passes over one value, checking it as value would, without keeping it.
func (d *decoder) skip(depth int) bool {
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '{' || c == '[':
		if depth+1 > maxDepth {
			return false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.i++
		d.space()
		if d.i < len(d.b) && d.b[d.i] == closer {
			d.i++
			return true
		}
		for {
			if c == '{' {
				if d.i >= len(d.b) || d.b[d.i] != '"' || !d.skipString() {
					return false
				}
				d.space()
				if d.i >= len(d.b) || d.b[d.i] != ':' {
					return false
				}
				d.i++
				d.space()
			}
			if !d.skip(depth + 1) {
				return false
			}
			d.space()
			if d.i >= len(d.b) {
				return false
			}
			switch d.b[d.i] {
			case ',':
				d.i++
				d.space()
			case closer:
				d.i++
				return true
			default:
				return false
			}
		}
	case c == '"':
		return d.skipString()
	}
	_, ok := d.value(depth)
	return ok
}

// skipString passes over a string, checking it as str would.
func (d *decoder) skipString() bool {
	end, plain := d.plainEnd()
	if plain {
		d.i = end + 1
		return true
	}
	_, ok := d.str()
	return ok
}

// fastFieldsV1 decodes the FieldsV1 encoding straight into a fieldSet,
// without the map[string]any tree parseFieldsV1Std builds first. It takes
// what our own encoder and Kubernetes' write — canonical list keys, no
// repeated keys — and reports ok false for anything else, which
// parseFieldsV1Std then decodes (or refuses) as before.
func fastFieldsV1(raw []byte) (*fieldSet, bool) {
	d := decoder{b: raw}
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return nil, false
	}
	s := &fieldSet{}
	if !d.fields(s, 1) {
		return nil, false
	}
	d.space()
	return s, d.i == len(d.b)
}

// fields fills s from the object at d.i, as fieldSet.fill does from its map.
func (d *decoder) fields(s *fieldSet, depth int) bool {
	if depth > maxDepth {
		return false
	}
	d.i++ // {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return true
	}
	var seen []string
	for {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return false
		}
		k, ok := d.key()
		if !ok || slices.Contains(seen, k) {
			return false // a repeated key: the map decides which one counts
		}
		seen = append(seen, k)
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return false
		}
		d.i++
		d.space()
		switch {
		case k == ".":
			if !d.skip(depth) {
				return false
			}
			s.self = true
		case !canonicalPlain(k) || d.i >= len(d.b) || d.b[d.i] != '{':
			return false
		default:
			c := s.ensure(k)
			j := d.i + 1
			for j < len(d.b) && (d.b[j] == ' ' || d.b[j] == '\t' || d.b[j] == '\n' || d.b[j] == '\r') {
				j++
			}
			if j < len(d.b) && d.b[j] == '}' {
				d.i = j + 1
				c.self = true
			} else if !d.fields(c, depth+1) {
				return false
			}
		}
		d.space()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			d.space()
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// canonicalPlain reports whether canonicalElement would return el unchanged,
// for the common spellings: any "f:" or "i:" element, a "v:" of a plain string
// or an integer, a "k:" of an object whose keys are sorted and whose values
// are plain strings or integers, with no spaces.
func canonicalPlain(el string) bool {
	prefix, body, ok := strings.Cut(el, ":")
	if !ok {
		return false
	}
	switch prefix {
	case "f", "i":
		return true
	case "v":
		n := plainScalar(body)
		return n > 0 && n == len(body)
	case "k":
		if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
			return false
		}
		rest, prev := body[1:len(body)-1], ""
		for i := 0; ; i++ {
			n := plainString(rest)
			if n < 0 || (i > 0 && rest[1:n-1] <= prev) || n >= len(rest) || rest[n] != ':' {
				return false
			}
			prev = rest[1 : n-1]
			rest = rest[n+1:]
			v := plainScalar(rest)
			if v <= 0 {
				return false
			}
			rest = rest[v:]
			if rest == "" {
				return true
			}
			if rest[0] != ',' {
				return false
			}
			rest = rest[1:]
		}
	}
	return false
}

// plainScalar returns the length of the plain string or JSON integer at the
// start of s, or -1.
func plainScalar(s string) int {
	if s == "" {
		return -1
	}
	if s[0] == '"' {
		return plainString(s)
	}
	i := 0
	if s[0] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	return i
}

// plainString returns the length of the quoted string at the start of s when
// encoding/json would write it back byte for byte (printable ASCII, nothing
// it escapes), or -1.
func plainString(s string) int {
	if s == "" || s[0] != '"' {
		return -1
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c < 0x20 || c >= 0x7f || c == '\\' || c == '<' || c == '>' || c == '&':
			return -1
		}
	}
	return -1
}
