package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The fast decoders below read JSON with go-json-experiment's tokenizer into
// what encoding/json with UseNumber makes of it (map[string]any, []any,
// string, json.Number, bool, nil), without encoding/json's reflection and
// streaming Decoder: decoding was most of the cost of RecordUpdate. The
// tokenizer is stricter than encoding/json (it refuses invalid UTF-8, which
// encoding/json takes); whatever it refuses goes to
// encoding/json, which then answers exactly as before, errors included.
// TestFastDecodeMatchesEncodingJSON and the fuzzers hold the two together.

// newDecoder reads b. A repeated object key is left to the caller, as
// encoding/json does (the last one wins in a map), unless strict; strict
// decoders refuse it.
func newDecoder(b []byte, strict bool) *jsontext.Decoder {
	return jsontext.NewDecoder(bytes.NewBuffer(b), jsontext.AllowDuplicateNames(!strict))
}

// atEnd reports whether nothing but white space is left.
func atEnd(d *jsontext.Decoder) bool {
	_, err := d.ReadToken()
	return err == io.EOF
}

// fastDecode decodes one JSON value; ok is false when the tokenizer refuses it.
func fastDecode(b []byte) (v any, ok bool) {
	d := newDecoder(b, false)
	v, err := readValue(d)
	if err != nil || !atEnd(d) {
		return nil, false
	}
	return v, true
}

func readValue(d *jsontext.Decoder) (any, error) {
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		return readObject(d, func(string) bool { return false }, func(string) bool { return false })
	case '[':
		l := []any{}
		for d.PeekKind() != ']' {
			v, err := readValue(d)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return l, nil
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	}
	return nil, nil // null
}

// readObject reads the members of an object whose '{' was read. Keys for which
// skip holds are checked but left out; the values of keys for which meta holds
// are read without managedFields.
func readObject(d *jsontext.Decoder, skip, meta func(string) bool) (map[string]any, error) {
	m := map[string]any{}
	for d.PeekKind() != '}' {
		kt, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		k := kt.String()
		var v any
		switch {
		case skip(k):
			if err := d.SkipValue(); err != nil {
				return nil, err
			}
			continue
		case meta(k) && d.PeekKind() == '{':
			d.ReadToken()
			v, err = readObject(d, func(k string) bool { return k == "managedFields" }, func(string) bool { return false })
		default:
			v, err = readValue(d)
		}
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeOwned decodes a JSON object for RecordUpdate, leaving out what
// ownedView would drop anyway: through "status" everything but kind,
// apiVersion and status; otherwise status and metadata.managedFields, which
// are the larger part of a stored pod. Skipped values are still checked to be
// JSON. ok is false where fastDecode would refuse.
func decodeOwned(b []byte, sc scope) (map[string]any, bool) {
	d := newDecoder(b, false)
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	m, err := readObject(d, func(k string) bool {
		if sc == scopeStatus {
			return k != "status" && k != "kind" && k != "apiVersion"
		}
		return k == "status"
	}, func(k string) bool { return sc == scopeMain && k == "metadata" })
	if err != nil || !atEnd(d) {
		return nil, false
	}
	return m, true
}

// fastFieldsV1 decodes the FieldsV1 encoding straight into a fieldSet,
// without the map[string]any tree parseFieldsV1Std builds first. It takes
// what our own encoder and Kubernetes' write — canonical list keys — and
// reports ok false for anything else, which parseFieldsV1Std then decodes (or
// refuses) as before.
func fastFieldsV1(raw []byte) (*fieldSet, bool) {
	d := newDecoder(raw, true)
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	s := &fieldSet{}
	if readFields(d, s) != nil || !atEnd(d) {
		return nil, false
	}
	return s, true
}

var errNotPlain = errors.New("not a plain FieldsV1 encoding")

// readFields fills s from the members of an object whose '{' was read, as
// fieldSet.fill does from its map.
func readFields(d *jsontext.Decoder, s *fieldSet) error {
	for d.PeekKind() != '}' {
		kt, err := d.ReadToken()
		if err != nil {
			return err
		}
		k := kt.String()
		if k == "." {
			if err := d.SkipValue(); err != nil {
				return err
			}
			s.self = true
			continue
		}
		if !canonicalPlain(k) || d.PeekKind() != '{' {
			return errNotPlain
		}
		d.ReadToken()
		c := s.ensure(k)
		if d.PeekKind() == '}' {
			d.ReadToken()
			c.self = true
			continue
		}
		if err := readFields(d, c); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
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
