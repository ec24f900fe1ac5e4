package labels

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// fieldError renders like apimachinery's field.Error, so that messages a
// client sees for a bad selector read exactly as they would from Kubernetes:
// `values[0][app]: Invalid value: "a b": a valid label must be ...`.
type fieldError struct {
	field  string
	kind   string // "Invalid value" or "Unsupported value"
	value  any    // a string is Go-quoted; anything else is rendered as JSON
	detail string
}

func invalid(field string, value any, detail string) *fieldError {
	return &fieldError{field: field, kind: "Invalid value", value: value, detail: detail}
}

func notSupported(field string, value any, supported []Operator) *fieldError {
	quoted := make([]string, len(supported))
	for i, s := range supported {
		quoted[i] = strconv.Quote(string(s))
	}
	return &fieldError{
		field:  field,
		kind:   "Unsupported value",
		value:  value,
		detail: "supported values: " + strings.Join(quoted, ", "),
	}
}

func (e *fieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.field)
	b.WriteString(": ")
	b.WriteString(e.kind)
	b.WriteString(": ")
	switch v := e.value.(type) {
	case string:
		b.WriteString(strconv.Quote(v))
	default:
		if j, err := json.Marshal(v); err == nil {
			b.Write(j)
		} else {
			fmt.Fprintf(&b, "%#v", v)
		}
	}
	if e.detail != "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	return b.String()
}

// aggregate renders like apimachinery's utilerrors.Aggregate: one error is
// shown alone, several are de-duplicated and shown as "[e1, e2]".
type aggregate []error

// toError returns nil for no errors, the error itself for one, and the
// aggregate otherwise.
func toError(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return aggregate(errs)
	}
}

func (a aggregate) Error() string {
	seen := make(map[string]bool, len(a))
	msgs := make([]string, 0, len(a))
	for _, err := range a {
		m := err.Error()
		if seen[m] {
			continue
		}
		seen[m] = true
		msgs = append(msgs, m)
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (a aggregate) Unwrap() []error { return a }
