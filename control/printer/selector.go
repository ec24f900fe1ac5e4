package printer

import (
	"slices"
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// formatLabels is Kubernetes' labels.FormatLabels: "k1=v1,k2=v2" sorted by key, or "<none>".
func formatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	return b.String()
}

// formatLabelSelector is Kubernetes' metav1.FormatLabelSelector: the selector's string form,
// "<none>" when it selects everything or nothing, "<error>" when it is malformed.
func formatLabelSelector(s *api.LabelSelector) string {
	str, ok := selectorString(s)
	switch {
	case !ok:
		return "<error>"
	case str == "":
		return "<none>"
	}
	return str
}

// selectorString renders s as labels.Selector.String() does after LabelSelectorAsSelector:
// requirements sorted by key, "k=v", "k in (a,b)", "k notin (a,b)", "k", "!k". A nil or empty
// selector renders as "". ok is false for an unknown operator.
func selectorString(s *api.LabelSelector) (str string, ok bool) {
	if s == nil {
		return "", true
	}
	type req struct{ key, text string }
	reqs := make([]req, 0, len(s.MatchLabels)+len(s.MatchExpressions))
	for k, v := range s.MatchLabels {
		reqs = append(reqs, req{k, k + "=" + v})
	}
	for _, e := range s.MatchExpressions {
		vals := slices.Clone(e.Values)
		sort.Strings(vals)
		switch e.Operator {
		case "In":
			reqs = append(reqs, req{e.Key, e.Key + " in (" + strings.Join(vals, ",") + ")"})
		case "NotIn":
			reqs = append(reqs, req{e.Key, e.Key + " notin (" + strings.Join(vals, ",") + ")"})
		case "Exists":
			reqs = append(reqs, req{e.Key, e.Key})
		case "DoesNotExist":
			reqs = append(reqs, req{e.Key, "!" + e.Key})
		default:
			return "", false
		}
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].key < reqs[j].key })
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r.text
	}
	return strings.Join(parts, ","), true
}
