package patch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Directives of the strategic merge patch format.
const (
	directivePatch      = "$patch"
	directiveRetainKeys = "$retainKeys"
	prefixSetOrder      = "$setElementOrder/"
	prefixDeleteFrom    = "$deleteFromPrimitiveList/"
)

// Strategic applies a Kubernetes strategic merge patch to original, an object
// of the given kind, and returns the result. An empty original is taken as {}.
//
// Maps merge recursively and null deletes a field. Lists follow ListRule:
// lists merged by a key merge element by element (a patch element merges into
// the element with the same key, or is added), lists of primitives with the
// merge strategy are unioned, and other lists are replaced. Without
// $setElementOrder, patched elements keep the patch's order and the others
// keep theirs, interleaved as Kubernetes does.
//
// Directives:
//   - {"$patch": "replace"} in a map replaces the map with the rest of the
//     patch map; as an element of a list, it replaces the list with the other
//     elements.
//   - {"$patch": "delete"} in a map makes it {}; as an element of a keyed
//     list, it deletes the elements with its merge key.
//   - {"$patch": "merge"} asks for the default and is accepted in maps and as
//     an element of a list with the merge strategy.
//   - "$retainKeys": [names] drops the original map's other fields; every
//     field the patch map sets must be among the names.
//   - "$deleteFromPrimitiveList/<field>": [values] removes those values from
//     the list <field>.
//   - "$setElementOrder/<field>": [elements or {key: value}] orders the list
//     <field> as kubectl apply sends it; elements not named keep their
//     relative place.
//
// Any other key that starts with "$" is an error. Malformed JSON wraps
// ErrMalformed; a patch that cannot be applied wraps ErrInvalid and names the
// field.
func Strategic(original, patch []byte, kind string) ([]byte, error) {
	orig, err := decodeObject(original, "original")
	if err != nil {
		return nil, fmt.Errorf("apply strategic merge patch: %w", err)
	}
	p, err := decodeObject(patch, "patch")
	if err != nil {
		return nil, fmt.Errorf("apply strategic merge patch: %w", err)
	}
	out, err := strategicMap(orig, p, schemaRoot(kind), make(trail, 0, 32))
	if err != nil {
		return nil, fmt.Errorf("apply strategic merge patch: %w", err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("apply strategic merge patch: encode result: %w", err)
	}
	return b, nil
}

// step is one element of the path to the value being merged, for errors.
type step struct {
	name  string
	index int // -1 for a field
}

// trail is the path from the root. Children append to their parent's trail;
// siblings reuse its spare capacity, which is safe because only the current
// path is ever read, and only to build an error.
type trail []step

func (t trail) field(name string) trail { return append(t, step{name, -1}) }
func (t trail) index(i int) trail       { return append(t, step{"", i}) }

func (t trail) String() string {
	if len(t) == 0 {
		return "<root>"
	}
	var b strings.Builder
	for _, s := range t {
		if s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	return b.String()
}

func invalidf(at trail, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, at, fmt.Sprintf(format, args...))
}

// strategicMap merges patch into orig (which may be nil) and returns the
// result. Both maps are owned by the caller and may be modified.
func strategicMap(orig, patch map[string]any, sn *schemaNode, at trail) (map[string]any, error) {
	if d, ok := patch[directivePatch]; ok {
		switch d {
		case "replace":
			delete(patch, directivePatch)
			return strategicMap(nil, patch, sn, at)
		case "delete":
			return map[string]any{}, nil
		case "merge":
			delete(patch, directivePatch)
		default:
			return nil, invalidf(at, "unknown %s directive %v: want replace, delete or merge", directivePatch, d)
		}
	}
	if orig == nil {
		orig = make(map[string]any, len(patch))
	}
	if rk, ok := patch[directiveRetainKeys]; ok {
		delete(patch, directiveRetainKeys)
		if err := retainKeys(orig, patch, rk, at); err != nil {
			return nil, err
		}
	}

	var orders, deletions map[string][]any
	fields := make([]string, 0, len(patch))
	for k, v := range patch {
		if !strings.HasPrefix(k, "$") {
			fields = append(fields, k)
			continue
		}
		var field string
		var into *map[string][]any
		switch {
		case strings.HasPrefix(k, prefixSetOrder):
			field, into = k[len(prefixSetOrder):], &orders
		case strings.HasPrefix(k, prefixDeleteFrom):
			field, into = k[len(prefixDeleteFrom):], &deletions
		default:
			return nil, invalidf(at, "unknown directive %q", k)
		}
		list, ok := v.([]any)
		if field == "" || !ok {
			return nil, invalidf(at, "directive %q needs a field name and a list value", k)
		}
		if *into == nil {
			*into = map[string][]any{}
		}
		(*into)[field] = list
		fields = append(fields, field)
	}
	slices.Sort(fields)
	fields = slices.Compact(fields)

	for _, f := range fields {
		fat := at.field(f)
		child := sn.child(f)
		pv, hasPatch := patch[f]
		cur := orig[f]
		if hasPatch && pv == nil {
			delete(orig, f)
			continue
		}
		if hasPatch {
			merged, err := strategicValue(cur, pv, child, fat)
			if err != nil {
				return nil, err
			}
			orig[f] = merged
		}
		if order, ok := orders[f]; ok {
			if err := setElementOrder(orig, f, order, pv, cur, child, fat); err != nil {
				return nil, err
			}
		}
		if del, ok := deletions[f]; ok {
			switch list := orig[f].(type) {
			case []any:
				orig[f] = deleteFromList(list, del)
			case nil: // absent or null: nothing to delete
			default:
				return nil, invalidf(fat, "$deleteFromPrimitiveList on a field that is not a list")
			}
		}
	}
	return orig, nil
}

// strategicValue merges one non-null patch value into cur, which may be
// absent (nil) or of another type, in which case the patch value replaces it.
func strategicValue(cur, pv any, sn *schemaNode, at trail) (any, error) {
	switch p := pv.(type) {
	case map[string]any:
		c, _ := cur.(map[string]any)
		return strategicMap(c, p, sn, at)
	case []any:
		c, _ := cur.([]any)
		return strategicList(c, p, sn, at)
	default:
		return pv, nil
	}
}

func retainKeys(orig, patch map[string]any, rk any, at trail) error {
	list, ok := rk.([]any)
	if !ok {
		return invalidf(at, "%s must be a list of field names", directiveRetainKeys)
	}
	keep := make(map[string]bool, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return invalidf(at, "%s must be a list of field names", directiveRetainKeys)
		}
		keep[s] = true
	}
	for k, v := range patch {
		if v == nil || strings.HasPrefix(k, "$") {
			continue
		}
		if !keep[k] {
			return invalidf(at, "field %q is set by the patch but missing from %s", k, directiveRetainKeys)
		}
	}
	for k := range orig {
		if !keep[k] {
			delete(orig, k)
		}
	}
	return nil
}

// strategicList merges a patch list into cur according to the list's rule.
func strategicList(cur, patch []any, sn *schemaNode, at trail) ([]any, error) {
	replace := false
	var deletes []any
	items := make([]any, 0, len(patch))
	for i, e := range patch {
		m, ok := e.(map[string]any)
		if !ok {
			items = append(items, e)
			continue
		}
		d, ok := m[directivePatch]
		if !ok {
			items = append(items, e)
			continue
		}
		switch d {
		case "replace":
			replace = true
		case "delete":
			if !sn.keyed() {
				return nil, invalidf(at.index(i), "{%q: \"delete\"} needs a list merged by key", directivePatch)
			}
			kv, ok := m[sn.mergeKey]
			if !ok {
				return nil, invalidf(at.index(i), "element to delete has no merge key %q", sn.mergeKey)
			}
			deletes = append(deletes, kv)
		case "merge":
			if sn == nil || sn.strategy != StrategyMerge {
				return nil, invalidf(at.index(i), "{%q: \"merge\"} on a list that is replaced, not merged", directivePatch)
			}
			if len(m) > 1 { // an element asking for the default: merge it
				items = append(items, e)
			}
		default:
			return nil, invalidf(at.index(i), "unknown %s directive %v: want replace, delete or merge", directivePatch, d)
		}
	}
	switch {
	case sn.keyed():
		return mergeKeyedList(cur, items, deletes, replace, sn, at)
	case sn.set():
		return mergeSetList(cur, items, replace, at)
	default:
		return freshList(items, sn, at)
	}
}

// freshList builds a list that replaces the old one: objects in it are
// cleaned of nulls and directives like any new value.
func freshList(items []any, sn *schemaNode, at trail) ([]any, error) {
	out := make([]any, len(items))
	for i, e := range items {
		if m, ok := e.(map[string]any); ok {
			nm, err := strategicMap(nil, m, sn, at.index(i))
			if err != nil {
				return nil, err
			}
			out[i] = nm
			continue
		}
		out[i] = e
	}
	return out, nil
}

func mergeKeyedList(cur, items, deletes []any, replace bool, sn *schemaNode, at trail) ([]any, error) {
	key := sn.mergeKey
	for i, e := range items {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, invalidf(at.index(i), "element of a list merged by %q is not an object", key)
		}
		if _, ok := m[key]; !ok {
			return nil, invalidf(at.index(i), "element has no merge key %q", key)
		}
	}
	if replace {
		out := make([]any, 0, len(items))
		for i, e := range items {
			nm, err := strategicMap(nil, e.(map[string]any), sn, at.index(i))
			if err != nil {
				return nil, err
			}
			out = append(out, nm)
		}
		return out, nil
	}

	// base: the current elements less the deleted ones, in their order.
	var dead map[string]bool
	if len(deletes) > 0 {
		dead = make(map[string]bool, len(deletes))
		for _, d := range deletes {
			dead[canonicalKey(d)] = true
		}
	}
	merged := make([]any, 0, len(cur)+len(items))
	where := make(map[string]int, len(cur)+len(items)) // first element with a key
	for _, e := range cur {
		k, ok := elementKey(e, key)
		if ok && dead[k] {
			continue
		}
		if ok {
			if _, seen := where[k]; !seen {
				where[k] = len(merged)
			}
		}
		merged = append(merged, e)
	}
	nBase := len(merged)
	baseOrder := make(map[string]int, nBase)
	for k, i := range where {
		baseOrder[k] = i
	}

	patched := make([]string, 0, len(items)) // keys in patch order, once each
	for i, e := range items {
		m := e.(map[string]any)
		k := canonicalKey(m[key])
		idx, found := where[k]
		if found {
			old, _ := merged[idx].(map[string]any)
			nm, err := strategicMap(old, m, sn, at.index(i))
			if err != nil {
				return nil, err
			}
			merged[idx] = nm
		} else {
			nm, err := strategicMap(nil, m, sn, at.index(i))
			if err != nil {
				return nil, err
			}
			where[k] = len(merged)
			merged = append(merged, nm)
		}
		if !slices.Contains(patched, k) {
			patched = append(patched, k)
		}
	}

	inPatch := make(map[int]bool, len(patched))
	patchItems := make([]any, 0, len(patched))
	patchPos := make([]int, 0, len(patched))
	for _, k := range patched {
		idx := where[k]
		inPatch[idx] = true
		patchItems = append(patchItems, merged[idx])
		if p, ok := baseOrder[k]; ok {
			patchPos = append(patchPos, p)
		} else {
			patchPos = append(patchPos, -1)
		}
	}
	serverOnly := make([]any, 0, nBase)
	serverPos := make([]int, 0, nBase)
	for i := range nBase {
		if !inPatch[i] {
			serverOnly = append(serverOnly, merged[i])
			serverPos = append(serverPos, i)
		}
	}
	return interleave(serverOnly, serverPos, patchItems, patchPos), nil
}

func mergeSetList(cur, items []any, replace bool, at trail) ([]any, error) {
	for i, e := range items {
		switch e.(type) {
		case string, json.Number, bool, float64:
		default:
			return nil, invalidf(at.index(i), "element of a list of primitives is not a string, number or boolean")
		}
	}
	if replace {
		return dedupe(items), nil
	}
	base := dedupe(cur)
	baseOrder := make(map[string]int, len(base))
	for i, e := range base {
		baseOrder[canonicalKey(e)] = i
	}
	patchItems := dedupe(items)
	inPatch := make(map[string]bool, len(patchItems))
	patchPos := make([]int, len(patchItems))
	for i, e := range patchItems {
		k := canonicalKey(e)
		inPatch[k] = true
		if p, ok := baseOrder[k]; ok {
			patchPos[i] = p
		} else {
			patchPos[i] = -1
		}
	}
	serverOnly := make([]any, 0, len(base))
	serverPos := make([]int, 0, len(base))
	for i, e := range base {
		if !inPatch[canonicalKey(e)] {
			serverOnly = append(serverOnly, e)
			serverPos = append(serverPos, i)
		}
	}
	return interleave(serverOnly, serverPos, patchItems, patchPos), nil
}

// interleave merges two lists that are each already in the order they must
// keep: left (elements only the server has) and right (patched elements). The
// positions are indices in the original list, -1 for elements it lacked. A
// left element goes first only when both elements were in the original list
// and it came earlier there; Kubernetes orders merged lists the same way.
func interleave(left []any, leftPos []int, right []any, rightPos []int) []any {
	out := make([]any, 0, len(left)+len(right))
	i, j := 0, 0
	for i < len(left) || j < len(right) {
		switch {
		case i >= len(left):
			out = append(out, right[j])
			j++
		case j >= len(right):
			out = append(out, left[i])
			i++
		case leftPos[i] >= 0 && rightPos[j] >= 0 && leftPos[i] < rightPos[j]:
			out = append(out, left[i])
			i++
		default:
			out = append(out, right[j])
			j++
		}
	}
	return out
}

// setElementOrder orders the list at orig[f] by order. patchList is the
// patch's value for f (if any) and before the list as it was before merging.
func setElementOrder(orig map[string]any, f string, order []any, patchList, before any, sn *schemaNode, at trail) error {
	list, ok := orig[f].([]any)
	if !ok {
		if v, present := orig[f]; present && v != nil {
			return invalidf(at, "$setElementOrder on a field that is not a list")
		}
		return nil
	}
	keyed := sn.keyed()
	keyOf := func(e any) (string, bool) {
		if keyed {
			return elementKey(e, sn.mergeKey)
		}
		return canonicalKey(e), true
	}
	orderPos := make(map[string]int, len(order))
	orderKeys := make([]string, 0, len(order))
	for i, e := range order {
		k, ok := keyOf(e)
		if !ok {
			return invalidf(at, "$setElementOrder element %d has no merge key %q", i, sn.mergeKey)
		}
		if _, dup := orderPos[k]; !dup {
			orderPos[k] = i
			orderKeys = append(orderKeys, k)
		}
	}
	// The patch list's elements must appear in $setElementOrder, in its order.
	if pl, ok := patchList.([]any); ok {
		oi := 0
		for _, e := range pl {
			if m, ok := e.(map[string]any); ok {
				if _, directive := m[directivePatch]; directive {
					continue
				}
			}
			k, _ := keyOf(e)
			for oi < len(orderKeys) && orderKeys[oi] != k {
				oi++
			}
			if oi == len(orderKeys) {
				return invalidf(at, "the order of the patch list does not match $setElementOrder/%s", f)
			}
			oi++
		}
	}
	beforePos := map[string]int{}
	if bl, ok := before.([]any); ok {
		for i, e := range bl {
			if k, ok := keyOf(e); ok {
				if _, dup := beforePos[k]; !dup {
					beforePos[k] = i
				}
			}
		}
	}
	type placed struct {
		e     any
		order int
		pos   int
	}
	var named, others []placed
	for _, e := range list {
		k, ok := keyOf(e)
		pos, had := beforePos[k]
		if !ok || !had {
			pos = -1
		}
		if o, in := orderPos[k]; ok && in {
			named = append(named, placed{e, o, pos})
		} else {
			others = append(others, placed{e, 0, pos})
		}
	}
	slices.SortStableFunc(named, func(a, b placed) int { return a.order - b.order })
	left, leftPos := make([]any, len(others)), make([]int, len(others))
	for i, p := range others {
		left[i], leftPos[i] = p.e, p.pos
	}
	right, rightPos := make([]any, len(named)), make([]int, len(named))
	for i, p := range named {
		right[i], rightPos[i] = p.e, p.pos
	}
	orig[f] = interleave(left, leftPos, right, rightPos)
	return nil
}

// deleteFromList removes every element equal to one of del.
func deleteFromList(list, del []any) []any {
	gone := make(map[string]bool, len(del))
	for _, d := range del {
		gone[canonicalKey(d)] = true
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		if !gone[canonicalKey(e)] {
			out = append(out, e)
		}
	}
	return out
}

// dedupe keeps the first of equal elements, in order.
func dedupe(list []any) []any {
	seen := make(map[string]bool, len(list))
	out := make([]any, 0, len(list))
	for _, e := range list {
		k := canonicalKey(e)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

// elementKey returns the canonical merge key of a keyed list element.
func elementKey(e any, key string) (string, bool) {
	m, ok := e.(map[string]any)
	if !ok {
		return "", false
	}
	v, ok := m[key]
	if !ok {
		return "", false
	}
	return canonicalKey(v), true
}

// canonicalKey returns a string that is equal for equal JSON values, numbers
// compared by value.
func canonicalKey(v any) string {
	switch x := v.(type) {
	case string:
		return "s" + x
	case json.Number:
		return "n" + normalNumber(x)
	case float64:
		return "n" + normalNumber(json.Number(strconv.FormatFloat(x, 'g', -1, 64)))
	case bool:
		if x {
			return "t"
		}
		return "f"
	case nil:
		return "z"
	default:
		b, _ := json.Marshal(x)
		return "j" + string(b)
	}
}

// normalNumber spells equal numbers the same way: integers as written,
// anything with a fraction or exponent through float64, integral values
// within float64's exact range as integers.
func normalNumber(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return "0"
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	if f == float64(int64(f)) && f > -(1<<53) && f < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// valueEqual compares two decoded JSON values, numbers by value.
func valueEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !valueEqual(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number, float64:
		switch b.(type) {
		case json.Number, float64:
			return canonicalKey(a) == canonicalKey(b)
		}
		return false
	default:
		switch b.(type) {
		case map[string]any, []any:
			return false
		}
		return a == b
	}
}
