// Package labels owns Kubernetes label selectors, field selectors and the
// identifier rules Kubernetes applies to names, label keys and label values.
//
// It follows k8s.io/apimachinery (pkg/labels, pkg/fields and
// pkg/util/validation) in grammar, matching semantics, canonical String()
// forms and error wording, so that `wk` and an unmodified kubectl see the same
// answers and the same messages from wasmkube as from Kubernetes. Length
// errors use the current upstream wording ("must be no more than 63 bytes").
//
// It does not own API types: metav1.LabelSelector lives in the API package,
// which converts it with FromMatch and builds field paths around the plain
// string messages returned by the Is* functions. It imports only the
// standard library so that every other package may use it.
//
// Selectors are immutable once built and safe for concurrent use.
package labels

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Set is a map of label keys to values: the labels of an object, or the
// exact-match form of a selector.
type Set map[string]string

// String returns the labels as "k1=v1,k2=v2", sorted as whole "k=v" strings
// (as Kubernetes does), so equal sets print equally.
func (s Set) String() string {
	parts := make([]string, 0, len(s))
	for k, v := range s {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// AsSelector returns a selector that matches objects carrying every label of
// s; see SelectorFromSet.
func (s Set) AsSelector() Selector { return SelectorFromSet(s) }

// Operator relates a requirement's key to its values. The values are those of
// Kubernetes' selection.Operator.
type Operator string

// The operators of label selectors. Field selectors use only Equals and
// NotEquals.
const (
	Equals       Operator = "="
	DoubleEquals Operator = "=="
	NotEquals    Operator = "!="
	In           Operator = "in"
	NotIn        Operator = "notin"
	Exists       Operator = "exists"
	DoesNotExist Operator = "!"
	GreaterThan  Operator = "gt"
	LessThan     Operator = "lt"
)

// supportedOperators lists the operators in Kubernetes' order, binary first;
// it appears verbatim in "Unsupported value" messages.
var supportedOperators = []Operator{In, NotIn, Equals, DoubleEquals, NotEquals, GreaterThan, LessThan, Exists, DoesNotExist}

// Requirement is one term of a label selector: Key, related by Operator to
// Values. Build one with NewRequirement, which validates it; a Requirement
// built by hand that NewRequirement would reject matches nothing sensible.
type Requirement struct {
	Key      string
	Operator Operator
	// Values holds one value for Equals, DoubleEquals, NotEquals,
	// GreaterThan and LessThan; one or more for In and NotIn; none for
	// Exists and DoesNotExist. The empty string is a valid value.
	Values []string
}

// NewRequirement validates and returns a requirement, as Kubernetes'
// labels.NewRequirement does: the key must be a qualified name, every value a
// valid label value; In and NotIn need at least one value, Equals,
// DoubleEquals and NotEquals exactly one, GreaterThan and LessThan exactly one
// integer, Exists and DoesNotExist none. The error lists every problem, worded
// as Kubernetes words it (e.g. `values: Invalid value: null: for 'in',
// 'notin' operators, values set can't be empty`). vals is copied.
func NewRequirement(key string, op Operator, vals []string) (Requirement, error) {
	var errs []error
	if msgs := IsQualifiedName(key); len(msgs) != 0 {
		errs = append(errs, invalid("key", key, strings.Join(msgs, "; ")))
	}
	switch op {
	case In, NotIn:
		if len(vals) == 0 {
			errs = append(errs, invalid("values", vals, "for 'in', 'notin' operators, values set can't be empty"))
		}
	case Equals, DoubleEquals, NotEquals:
		if len(vals) != 1 {
			errs = append(errs, invalid("values", vals, "exact-match compatibility requires one single value"))
		}
	case Exists, DoesNotExist:
		if len(vals) != 0 {
			errs = append(errs, invalid("values", vals, "values set must be empty for exists and does not exist"))
		}
	case GreaterThan, LessThan:
		if len(vals) != 1 {
			errs = append(errs, invalid("values", vals, "for 'Gt', 'Lt' operators, exactly one value is required"))
		}
		for i, v := range vals {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				errs = append(errs, invalid("values["+strconv.Itoa(i)+"]", v, "for 'Gt', 'Lt' operators, the value must be an integer"))
			}
		}
	default:
		errs = append(errs, notSupported("operator", op, supportedOperators))
	}
	for i, v := range vals {
		if msgs := IsValidLabelValue(v); len(msgs) != 0 {
			errs = append(errs, invalid("values["+strconv.Itoa(i)+"]["+key+"]", v, strings.Join(msgs, "; ")))
		}
	}
	if err := toError(errs); err != nil {
		return Requirement{}, err
	}
	var values []string
	if len(vals) > 0 {
		values = slices.Clone(vals)
	}
	return Requirement{Key: key, Operator: op, Values: values}, nil
}

// Matches reports whether labels satisfy r. A missing key satisfies NotIn,
// NotEquals and DoesNotExist and nothing else; GreaterThan and LessThan
// compare base-10 int64 values and fail when either side is not one.
func (r Requirement) Matches(labels Set) bool {
	switch r.Operator {
	case In, Equals, DoubleEquals:
		v, ok := labels[r.Key]
		return ok && slices.Contains(r.Values, v)
	case NotIn, NotEquals:
		v, ok := labels[r.Key]
		return !ok || !slices.Contains(r.Values, v)
	case Exists:
		_, ok := labels[r.Key]
		return ok
	case DoesNotExist:
		_, ok := labels[r.Key]
		return !ok
	case GreaterThan, LessThan:
		v, ok := labels[r.Key]
		if !ok || len(r.Values) != 1 {
			return false
		}
		have, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		want, err := strconv.ParseInt(r.Values[0], 10, 64)
		if err != nil {
			return false
		}
		if r.Operator == GreaterThan {
			return have > want
		}
		return have < want
	default:
		return false
	}
}

// String returns r in selector syntax ("k in (a,b)", "!k", "k>3"); values of
// In and NotIn print sorted. Parse accepts the result.
func (r Requirement) String() string {
	var b strings.Builder
	b.Grow(len(r.Key) + len(r.Operator) + 2 + 5*len(r.Values))
	if r.Operator == DoesNotExist {
		b.WriteByte('!')
	}
	b.WriteString(r.Key)
	switch r.Operator {
	case Equals:
		b.WriteString("=")
	case DoubleEquals:
		b.WriteString("==")
	case NotEquals:
		b.WriteString("!=")
	case In:
		b.WriteString(" in (")
	case NotIn:
		b.WriteString(" notin (")
	case GreaterThan:
		b.WriteString(">")
	case LessThan:
		b.WriteString("<")
	case Exists, DoesNotExist:
		return b.String()
	}
	vals := r.Values
	if len(vals) > 1 && !slices.IsSorted(vals) {
		vals = slices.Sorted(slices.Values(vals))
	}
	b.WriteString(strings.Join(vals, ","))
	if r.Operator == In || r.Operator == NotIn {
		b.WriteByte(')')
	}
	return b.String()
}

// Selector selects objects by their labels. Implementations are immutable
// and safe for concurrent use.
type Selector interface {
	// Matches reports whether labels satisfy every requirement.
	Matches(labels Set) bool
	// Empty reports whether the selector selects everything. A selector
	// that is not Empty but has no Requirements (Nothing) selects nothing.
	Empty() bool
	// String returns the selector in the syntax Parse accepts, requirements
	// sorted by key; "" for Everything and for Nothing.
	String() string
	// Requirements returns the requirements, sorted by key, in a new slice;
	// their Values are shared and must not be modified.
	Requirements() []Requirement
	// RequiresExactMatch reports the single value the selector requires
	// for label (through =, == or an In of one value), for index look-ups.
	// Like Kubernetes, it considers only the first requirement on label.
	RequiresExactMatch(label string) (value string, ok bool)
}

// selector is a conjunction of requirements sorted by key. The nil selector
// is Everything.
type selector []Requirement

var _ Selector = selector(nil)

func (s selector) Matches(labels Set) bool {
	for i := range s {
		if !s[i].Matches(labels) {
			return false
		}
	}
	return true
}

func (s selector) Empty() bool { return len(s) == 0 }

func (s selector) String() string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0].String()
	}
	parts := make([]string, len(s))
	for i := range s {
		parts[i] = s[i].String()
	}
	return strings.Join(parts, ",")
}

func (s selector) Requirements() []Requirement {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone([]Requirement(s))
}

func (s selector) RequiresExactMatch(label string) (string, bool) {
	for i := range s {
		if s[i].Key != label {
			continue
		}
		switch s[i].Operator {
		case Equals, DoubleEquals, In:
			if len(s[i].Values) == 1 {
				return s[i].Values[0], true
			}
		}
		return "", false
	}
	return "", false
}

// nothing is the selector that matches no labels.
type nothing struct{}

func (nothing) Matches(Set) bool                         { return false }
func (nothing) Empty() bool                              { return false }
func (nothing) String() string                           { return "" }
func (nothing) Requirements() []Requirement              { return nil }
func (nothing) RequiresExactMatch(string) (string, bool) { return "", false }

// Everything returns the selector that matches all labels; it is Empty.
func Everything() Selector { return selector(nil) }

// Nothing returns the selector that matches no labels. It is not Empty and
// has no Requirements; it is what a nil metav1.LabelSelector means.
func Nothing() Selector { return nothing{} }

// NewSelector returns the conjunction of reqs, sorted by key (stably, so
// requirements on one key keep their order). It does not validate them; use
// NewRequirement to build valid ones.
func NewSelector(reqs ...Requirement) Selector {
	if len(reqs) == 0 {
		return selector(nil)
	}
	s := slices.Clone(reqs)
	sortByKey(s)
	return selector(s)
}

func sortByKey(reqs []Requirement) {
	slices.SortStableFunc(reqs, func(a, b Requirement) int { return strings.Compare(a.Key, b.Key) })
}

// SelectorFromSet returns a selector requiring every label of set (key=value
// for each). A nil or empty set gives Everything. Like Kubernetes, it does
// not validate keys or values; see ValidatedSelectorFromSet.
func SelectorFromSet(set Set) Selector { return SelectorFromValidatedSet(set) }

// SelectorFromValidatedSet is SelectorFromSet for a set already known to be
// valid; it copies set.
func SelectorFromValidatedSet(set Set) Selector {
	if len(set) == 0 {
		return selector(nil)
	}
	reqs := make([]Requirement, 0, len(set))
	for k, v := range set {
		reqs = append(reqs, Requirement{Key: k, Operator: Equals, Values: []string{v}})
	}
	sortByKey(reqs)
	return selector(reqs)
}

// ValidatedSelectorFromSet is SelectorFromSet that validates every key and
// value with NewRequirement, reporting the first bad label in key order.
func ValidatedSelectorFromSet(set Set) (Selector, error) {
	if len(set) == 0 {
		return selector(nil), nil
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	reqs := make([]Requirement, 0, len(set))
	for _, k := range keys {
		r, err := NewRequirement(k, Equals, []string{set[k]})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	return selector(reqs), nil
}

// MatchExpression is one entry of a metav1.LabelSelector's matchExpressions.
// Operator is spelled as in the API: "In", "NotIn", "Exists" or
// "DoesNotExist".
type MatchExpression struct {
	Key      string
	Operator string
	Values   []string
}

// FromMatch converts the parts of a metav1.LabelSelector into a Selector, as
// Kubernetes' LabelSelectorAsSelector does: each matchLabels entry becomes
// key=value and each expression its requirement. With no labels and no
// expressions it returns Everything; a nil LabelSelector (which means
// Nothing) is the caller's to handle. Errors name the bad key, value or
// operator, e.g. `"Equals" is not a valid label selector operator` or
// `values: Invalid value: null: for 'in', 'notin' operators, values set can't
// be empty`. matchLabels are checked in key order.
func FromMatch(matchLabels map[string]string, exprs []MatchExpression) (Selector, error) {
	if len(matchLabels)+len(exprs) == 0 {
		return selector(nil), nil
	}
	keys := make([]string, 0, len(matchLabels))
	for k := range matchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	reqs := make([]Requirement, 0, len(matchLabels)+len(exprs))
	for _, k := range keys {
		r, err := NewRequirement(k, Equals, []string{matchLabels[k]})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	for _, e := range exprs {
		var op Operator
		switch e.Operator {
		case "In":
			op = In
		case "NotIn":
			op = NotIn
		case "Exists":
			op = Exists
		case "DoesNotExist":
			op = DoesNotExist
		default:
			return nil, fmt.Errorf("%q is not a valid label selector operator", e.Operator)
		}
		var vals []string
		if len(e.Values) > 0 {
			vals = e.Values
		}
		r, err := NewRequirement(e.Key, op, vals)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	sortByKey(reqs)
	return selector(reqs), nil
}
