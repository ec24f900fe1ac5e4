package kubelet

import "strings"

// Variable references in a container's command, args and env values, as Kubernetes expands
// them (k8s.io/kubernetes third_party/forked/golang/expansion): $(NAME) is replaced by the
// variable's value, $$ is a literal $ (so $$(NAME) gives $(NAME)), and a reference to a
// variable that is not defined, or one that is not closed, is left as written.

const (
	refOperator = '$'
	refOpener   = '('
	refCloser   = ')'
)

// expandVars returns input with every $(NAME) replaced by mapping(NAME).
func expandVars(input string, mapping func(string) string) string {
	if strings.IndexByte(input, refOperator) < 0 {
		return input
	}
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] != refOperator || cursor+1 >= len(input) {
			continue
		}
		b.WriteString(input[checkpoint:cursor])
		read, isVar, advance := readVariableName(input[cursor+1:])
		if isVar {
			b.WriteString(mapping(read))
		} else {
			b.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	return b.String() + input[checkpoint:]
}

// readVariableName reads what follows a $: the name of a complete $(NAME) reference (isVar), or
// the text to copy unchanged; advance is how many bytes of input were consumed.
func readVariableName(input string) (read string, isVar bool, advance int) {
	switch input[0] {
	case refOperator: // $$ is an escaped $
		return input[:1], false, 1
	case refOpener:
		if i := strings.IndexByte(input[1:], refCloser); i >= 0 {
			return input[1 : i+1], true, i + 2
		}
		return string(refOperator) + string(refOpener), false, 1 // not closed: left as is
	default: // a $ that starts no reference
		return string(refOperator) + input[:1], false, 1
	}
}

// varMapping resolves a name from the first of vars that defines it; an undefined name maps to
// its own reference, $(NAME), so it is left as written.
func varMapping(vars ...map[string]string) func(string) string {
	return func(name string) string {
		for _, m := range vars {
			if v, ok := m[name]; ok {
				return v
			}
		}
		return string(refOperator) + string(refOpener) + name + string(refCloser)
	}
}
