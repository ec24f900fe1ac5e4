package kubelet

import (
	"fmt"
	"slices"
)

// WatchedConfigs returns the ConfigMaps and Secrets r's pods use, as "kind namespace/name
// (users)", with " immutable" for one no longer watched.
func WatchedConfigs(r *Runner) []string {
	m := r.configs
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for ref, item := range m.items {
		s := fmt.Sprintf("%s %s/%s (%d)", ref.kind, ref.namespace, ref.name, len(item.users))
		if item.immutable {
			s += " immutable"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
