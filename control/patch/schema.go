package patch

import "strings"

// Strategy says how a list field is patched, and how server-side apply owns it.
type Strategy uint8

const (
	// StrategyReplace: a patch's list replaces the whole list, and apply owns
	// the list as one field. Every list not in the table has it.
	StrategyReplace Strategy = iota
	// StrategyMerge: with a merge key, elements are objects merged element by
	// element on that key; without one, the list is a set of primitives that
	// a patch adds to.
	StrategyMerge
)

// String returns "replace" or "merge", the words of Kubernetes'
// patchStrategy tag.
func (s Strategy) String() string {
	if s == StrategyMerge {
		return "merge"
	}
	return "replace"
}

// ListRule returns how the list field at path in an object of kind is merged:
// path is the field's names from the object root with list indices removed
// (["spec", "template", "spec", "containers", "ports"]). A merge key is
// returned only with StrategyMerge. Fields and kinds the table does not know
// — our own kinds and CRDs among them — get ("", StrategyReplace), which is
// what Kubernetes does for custom resources.
func ListRule(kind string, path []string) (mergeKey string, strategy Strategy) {
	n := schemaRoot(kind)
	for _, name := range path {
		n = n.child(name)
	}
	return n.rule()
}

// schemaNode is one field of a kind's schema tree; nil means "unknown field",
// and every method works on nil.
type schemaNode struct {
	fields   map[string]*schemaNode
	mergeKey string
	strategy Strategy
}

func (n *schemaNode) child(name string) *schemaNode {
	if n == nil {
		return nil
	}
	return n.fields[name]
}

func (n *schemaNode) rule() (string, Strategy) {
	if n == nil {
		return "", StrategyReplace
	}
	return n.mergeKey, n.strategy
}

func (n *schemaNode) keyed() bool { return n != nil && n.strategy == StrategyMerge && n.mergeKey != "" }
func (n *schemaNode) set() bool   { return n != nil && n.strategy == StrategyMerge && n.mergeKey == "" }

func schemaRoot(kind string) *schemaNode { return kindSchemas[kind] }

// listRule is one row of the table: a dotted path, its merge key, strategy.
type listRule struct {
	path     string
	mergeKey string
	strategy Strategy
}

func keyedList(path, key string) listRule { return listRule{path, key, StrategyMerge} }
func setList(path string) listRule        { return listRule{path, "", StrategyMerge} }
func atomicList(path string) listRule     { return listRule{path, "", StrategyReplace} }

// under prefixes every rule's path.
func under(prefix string, rules ...[]listRule) []listRule {
	var out []listRule
	for _, rs := range rules {
		for _, r := range rs {
			r.path = prefix + "." + r.path
			out = append(out, r)
		}
	}
	return out
}

func objectMetaRules() []listRule {
	return []listRule{keyedList("ownerReferences", "uid"), setList("finalizers")}
}

func containerRules() []listRule {
	return []listRule{
		keyedList("ports", "containerPort"),
		keyedList("env", "name"),
		keyedList("volumeMounts", "mountPath"),
		keyedList("volumeDevices", "devicePath"),
	}
}

func podSpecRules() []listRule {
	rules := []listRule{
		keyedList("containers", "name"),
		keyedList("initContainers", "name"),
		keyedList("ephemeralContainers", "name"),
		keyedList("volumes", "name"),
		atomicList("tolerations"),
		keyedList("imagePullSecrets", "name"),
		keyedList("hostAliases", "ip"),
		keyedList("topologySpreadConstraints", "topologyKey"),
		keyedList("schedulingGates", "name"),
		keyedList("resourceClaims", "name"),
	}
	rules = append(rules, under("containers", containerRules())...)
	rules = append(rules, under("initContainers", containerRules())...)
	rules = append(rules, under("ephemeralContainers", containerRules())...)
	return rules
}

func podStatusRules() []listRule {
	return []listRule{
		keyedList("conditions", "type"),
		keyedList("containerStatuses", "name"),
		keyedList("initContainerStatuses", "name"),
		keyedList("ephemeralContainerStatuses", "name"),
		keyedList("podIPs", "ip"),
		keyedList("hostIPs", "ip"),
	}
}

func podTemplateRules() []listRule {
	return append(under("metadata", objectMetaRules()), under("spec", podSpecRules())...)
}

func conditionsRules() []listRule { return []listRule{keyedList("conditions", "type")} }

// workloadRules serves the kinds whose spec.template is a pod template.
func workloadRules() []listRule {
	return append(under("spec.template", podTemplateRules()), under("status", conditionsRules())...)
}

// schemaTable lists, per kind, the list fields that do not simply replace.
// It follows the patchStrategy/patchMergeKey tags of Kubernetes' API types,
// with the project's choices where they differ: status.containerStatuses
// merge by name and Namespace spec.finalizers is a set.
func schemaTable() map[string][]listRule {
	return map[string][]listRule{
		"Pod":                   append(under("spec", podSpecRules()), under("status", podStatusRules())...),
		"PodTemplate":           under("template", podTemplateRules()),
		"Deployment":            workloadRules(),
		"ReplicaSet":            workloadRules(),
		"StatefulSet":           workloadRules(),
		"DaemonSet":             workloadRules(),
		"Job":                   workloadRules(),
		"ReplicationController": workloadRules(),
		"CronJob":               under("spec.jobTemplate", under("metadata", objectMetaRules()), under("spec.template", podTemplateRules())),
		"Service": {
			keyedList("spec.ports", "port"),
			keyedList("status.conditions", "type"),
		},
		"Node": {
			atomicList("spec.taints"),
			setList("spec.podCIDRs"),
			keyedList("status.addresses", "type"),
			keyedList("status.conditions", "type"),
		},
		"Endpoints": {atomicList("subsets")},
		"Namespace": {
			setList("spec.finalizers"),
			keyedList("status.conditions", "type"),
		},
		"ServiceAccount": {
			keyedList("secrets", "name"),
			keyedList("imagePullSecrets", "name"),
		},
		"ConfigMap":               nil,
		"Secret":                  nil,
		"Event":                   nil,
		"Lease":                   nil,
		"EndpointSlice":           nil,
		"HorizontalPodAutoscaler": {keyedList("status.conditions", "type")},
	}
}

// buildSchemas turns the table into one tree per kind. Every known kind also
// gets the ObjectMeta rules under metadata.
func buildSchemas() map[string]*schemaNode {
	out := map[string]*schemaNode{}
	for kind, rules := range schemaTable() {
		root := &schemaNode{}
		for _, r := range append(under("metadata", objectMetaRules()), rules...) {
			n := root
			for name := range strings.SplitSeq(r.path, ".") {
				c := n.fields[name]
				if c == nil {
					if n.fields == nil {
						n.fields = map[string]*schemaNode{}
					}
					c = &schemaNode{}
					n.fields[name] = c
				}
				n = c
			}
			n.mergeKey, n.strategy = r.mergeKey, r.strategy
		}
		out[kind] = root
	}
	return out
}

// kindSchemas is built once and only read afterwards.
var kindSchemas = buildSchemas()
