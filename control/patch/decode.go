package patch

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// The patch functions work on generic JSON values (map[string]any, []any, string,
// json.Number, bool, nil), and decoding into them with encoding/json was the largest part of
// recording field ownership on every write. parseJSON builds the same values directly. It
// accepts only what it can decode exactly as encoding/json with UseNumber would; for
// anything else (malformed input, invalid UTF-8, lone surrogates, extreme nesting) it reports
// false and the caller decodes with encoding/json, whose values and errors then stand.

// maxJSONDepth is encoding/json's nesting limit: deeper input takes its path.
const maxJSONDepth = 10000

// parseJSON decodes b, one JSON value with optional surrounding whitespace.
func parseJSON(b []byte) (any, bool) {
	p := jsonParser{b: b}
	v, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.b)
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, bool) {
	p.space()
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.string()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *jsonParser) literal(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

func (p *jsonParser) object(depth int) (any, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.string()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[k.(string)] = v
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return m, true
		default:
			return nil, false
		}
	}
}

func (p *jsonParser) array(depth int) (any, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	p.i++ // [
	l := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return l, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		l = append(l, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return l, true
		default:
			return nil, false
		}
	}
}

// string decodes a JSON string at p.i (its opening quote).
func (p *jsonParser) string() (any, bool) {
	p.i++
	start := p.i
	// The common case: no escapes, ASCII only.
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c >= utf8.RuneSelf:
			return p.slowString(start)
		case c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// slowString decodes a string with escapes or non-ASCII bytes, from start (after the quote).
func (p *jsonParser) slowString(start int) (any, bool) {
	out := make([]byte, 0, p.i-start+16)
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), true
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, false // encoding/json substitutes U+FFFD: let it
			}
			out = append(out, p.b[p.i:p.i+n]...)
			p.i += n
		case c != '\\':
			out = append(out, c)
			p.i++
		default:
			if p.i+1 >= len(p.b) {
				return nil, false
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return nil, false
				}
				if utf16.IsSurrogate(r) {
					if p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
						return nil, false
					}
					p.i += 2
					r2, ok := p.hex4()
					if !ok {
						return nil, false
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						return nil, false
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, false
			}
		}
	}
	return nil, false
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// number decodes a JSON number as json.Number, checking its grammar.
func (p *jsonParser) number() (any, bool) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return json.Number(p.b[start:p.i]), true
}

// parseFieldsFast decodes a FieldsV1 object as parseFieldsV1 does, straight from the bytes,
// and reports whether raw is exactly what encode writes for the set, so that an owner whose
// set a write leaves alone can keep its bytes instead of encoding them again. ok is false
// for anything it does not decode exactly as parseFieldsV1 would (malformed input, keys out
// of order or repeated, nesting too deep); parseFieldsV1 then decides.
func parseFieldsFast(raw []byte) (s *fieldSet, canonical, ok bool) {
	p := jsonParser{b: raw}
	s = &fieldSet{}
	var scratch bytes.Buffer
	canonical, ok = p.fieldsNode(s, 1, &scratch)
	if !ok {
		return nil, false, false
	}
	if p.skipSpace() {
		canonical = false
	}
	if p.i != len(p.b) {
		return nil, false, false
	}
	return s, canonical, true
}

// skipSpace skips whitespace and reports whether there was any.
func (p *jsonParser) skipSpace() bool {
	i := p.i
	p.space()
	return p.i != i
}

// fieldsNode fills s from the object at p.i.
func (p *jsonParser) fieldsNode(s *fieldSet, depth int, scratch *bytes.Buffer) (canonical, ok bool) {
	if depth > maxJSONDepth {
		return false, false
	}
	canonical = !p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return false, false
	}
	p.i++
	if p.skipSpace() {
		canonical = false
	}
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		if depth > 1 {
			s.self = true // a member: fill marks an empty object so
		}
		return canonical, true
	}
	dot, members := false, 0
	prev := ""
	for n := 0; ; n++ {
		if p.skipSpace() {
			canonical = false
		}
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return false, false
		}
		start := p.i
		kv, ok := p.string()
		if !ok {
			return false, false
		}
		k := kv.(string)
		if n > 0 && k <= prev {
			return false, false // out of order or repeated: parseFieldsV1's map decides
		}
		prev = k
		scratch.Reset()
		writeJSONString(scratch, k)
		if !bytes.Equal(scratch.Bytes(), p.b[start:p.i]) {
			canonical = false
		}
		if p.skipSpace() {
			canonical = false
		}
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false, false
		}
		p.i++
		if k == "." {
			// fill ignores the value, whatever it is.
			if p.skipSpace() {
				canonical = false
			}
			vstart := p.i
			if _, ok := p.value(depth); !ok {
				return false, false
			}
			if string(p.b[vstart:p.i]) != "{}" {
				canonical = false
			}
			s.self, dot = true, true
		} else {
			if p.skipSpace() {
				canonical = false
			}
			if p.i >= len(p.b) || p.b[p.i] != '{' {
				return false, false // not an object: parseFieldsV1's error
			}
			el, err := canonicalElement(k)
			if err != nil {
				return false, false
			}
			if el != k {
				canonical = false
			}
			c := s.ensure(el)
			if p.i+1 < len(p.b) && p.b[p.i+1] == '}' {
				p.i += 2
				c.self = true
			} else {
				cc, ok := p.fieldsNode(c, depth+1, scratch)
				if !ok {
					return false, false
				}
				canonical = canonical && cc
			}
			members++
		}
		if p.skipSpace() {
			canonical = false
		}
		if p.i >= len(p.b) {
			return false, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			if dot && members == 0 {
				canonical = false // encode writes a lone member as {}
			}
			return canonical, true
		default:
			return false, false
		}
	}
}
