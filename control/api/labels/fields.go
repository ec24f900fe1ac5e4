package labels

import (
	"fmt"
	"slices"
	"strings"
)

// FieldRequirement is one term of a field selector: the field (such as
// "metadata.name" or "spec.nodeName") must equal, or must not equal, Value.
type FieldRequirement struct {
	Field string
	// Operator is Equals or NotEquals; "==" parses to Equals.
	Operator Operator
	Value    string
}

// FieldSelector selects objects by the values of some of their fields, as
// Kubernetes' fields.Selector does. The zero value selects everything. A
// FieldSelector is immutable and safe for concurrent use.
type FieldSelector struct {
	reqs []FieldRequirement
}

// ParseFieldSelector parses a field selector in Kubernetes syntax: terms
// "field=value", "field==value" or "field!=value" joined by commas. In values
// a backslash escapes ',', '=' and '\' (see EscapeFieldValue); any other
// escape, and an unescaped '=' or ',' in a value, is an error. Blanks are not
// trimmed. Terms are sorted as Kubernetes sorts them (by their text). Errors
// read like Kubernetes': "invalid selector: 'x'; can't understand 'x'".
// Which fields may be selected is for the caller to decide.
func ParseFieldSelector(s string) (FieldSelector, error) {
	terms := splitFieldTerms(s)
	slices.Sort(terms)
	var reqs []FieldRequirement
	for _, term := range terms {
		if term == "" {
			continue
		}
		field, op, raw, ok := splitFieldTerm(term)
		if !ok {
			return FieldSelector{}, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", s, term)
		}
		value, err := UnescapeFieldValue(raw)
		if err != nil {
			return FieldSelector{}, err
		}
		if op == "!=" {
			reqs = append(reqs, FieldRequirement{Field: field, Operator: NotEquals, Value: value})
		} else {
			reqs = append(reqs, FieldRequirement{Field: field, Operator: Equals, Value: value})
		}
	}
	return FieldSelector{reqs: reqs}, nil
}

// splitFieldTerms splits at commas that are not escaped by a backslash.
func splitFieldTerms(s string) []string {
	if s == "" {
		return nil
	}
	terms := make([]string, 0, 1)
	start, escaped := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == ',':
			terms = append(terms, s[start:i])
			start = i + 1
		}
	}
	return append(terms, s[start:])
}

// splitFieldTerm splits a term at the first operator, trying "!=", "==" and
// "=" at each position in turn.
func splitFieldTerm(term string) (field, op, value string, ok bool) {
	for i := range term {
		rest := term[i:]
		for _, op := range [...]string{"!=", "==", "="} {
			if strings.HasPrefix(rest, op) {
				return term[:i], op, term[i+len(op):], true
			}
		}
	}
	return "", "", "", false
}

var fieldValueEscaper = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `=`, `\=`)

// EscapeFieldValue escapes '\', ',' and '=' in a value so that it can be put
// into a field selector string.
func EscapeFieldValue(s string) string { return fieldValueEscaper.Replace(s) }

// UnescapeFieldValue reverses EscapeFieldValue. It fails, as Kubernetes
// does, on an escape other than `\\`, `\,` or `\=`, on a trailing backslash,
// and on an unescaped ',' or '='. The last error quotes the character
// ("unescaped character in value: '='") where Kubernetes prints its code
// point ("... value: 61").
func UnescapeFieldValue(s string) (string, error) {
	if !strings.ContainsAny(s, `\,=`) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	escaped := false
	for _, c := range s {
		if escaped {
			switch c {
			case '\\', ',', '=':
				b.WriteRune(c)
			default:
				return "", fmt.Errorf("invalid field selector: invalid escape sequence: %s", string([]rune{'\\', c}))
			}
			escaped = false
			continue
		}
		switch c {
		case '\\':
			escaped = true
		case ',', '=':
			return "", fmt.Errorf("invalid field selector: unescaped character in value: %q", c)
		default:
			b.WriteRune(c)
		}
	}
	if escaped {
		return "", fmt.Errorf("invalid field selector: invalid escape sequence: %s", `\`)
	}
	return b.String(), nil
}

// FieldSelectorFromSet returns a selector requiring field=value for every
// entry of set, sorted by field. A nil or empty set selects everything.
func FieldSelectorFromSet(set map[string]string) FieldSelector {
	if len(set) == 0 {
		return FieldSelector{}
	}
	reqs := make([]FieldRequirement, 0, len(set))
	for f, v := range set {
		reqs = append(reqs, FieldRequirement{Field: f, Operator: Equals, Value: v})
	}
	slices.SortFunc(reqs, func(a, b FieldRequirement) int { return strings.Compare(a.Field, b.Field) })
	return FieldSelector{reqs: reqs}
}

// Matches reports whether fields satisfy every term. A missing field reads
// as "", so "f=" matches an object without f and "f!=x" does too.
func (s FieldSelector) Matches(fields map[string]string) bool {
	for _, r := range s.reqs {
		if (fields[r.Field] == r.Value) != (r.Operator == Equals) {
			return false
		}
	}
	return true
}

// Empty reports whether the selector selects everything.
func (s FieldSelector) Empty() bool { return len(s.reqs) == 0 }

// Requirements returns the terms in a new slice, in selector order.
func (s FieldSelector) Requirements() []FieldRequirement {
	if len(s.reqs) == 0 {
		return nil
	}
	return slices.Clone(s.reqs)
}

// String returns the selector in the syntax ParseFieldSelector accepts, with
// values escaped; "" for an empty selector.
func (s FieldSelector) String() string {
	var b strings.Builder
	for i, r := range s.reqs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.Field)
		if r.Operator == NotEquals {
			b.WriteString("!=")
		} else {
			b.WriteByte('=')
		}
		b.WriteString(EscapeFieldValue(r.Value))
	}
	return b.String()
}

// RequiresExactMatch reports the value the first "field=value" term on field
// requires, for index look-ups; "!=" terms never do.
func (s FieldSelector) RequiresExactMatch(field string) (value string, ok bool) {
	for _, r := range s.reqs {
		if r.Field == field && r.Operator == Equals {
			return r.Value, true
		}
	}
	return "", false
}
