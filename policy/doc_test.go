package policy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
)

var update = flag.Bool("update", false, "rewrite the type table in doc.go")

const (
	docBegin = "//\t--- types ---\n"
	docEnd   = "//\t--- end types ---\n"
)

// TestDocTypes keeps the type table in doc.go equal to the schema the environment builds from
// the API types: a field added to the API shows up here as a failure until the table is
// regenerated with -update.
func TestDocTypes(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	want := docTable(env)
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(src, []byte(docBegin)), bytes.Index(src, []byte(docEnd))
	if i < 0 || j < i {
		t.Fatalf("doc.go: markers %q and %q not found", docBegin, docEnd)
	}
	got := string(src[i+len(docBegin) : j])
	if got == want {
		return
	}
	if *update {
		out := append(append(append([]byte{}, src[:i+len(docBegin)]...), want...), src[j:]...)
		if err := os.WriteFile("doc.go", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("doc.go's type table is stale; run go test ./policy -run TestDocTypes -update\nwant:\n%s", want)
}

// docTable lists every object type reachable from the variables, depth first, with each
// field's CEL type and size bound.
func docTable(env *SchedulingEnv) string {
	maxBytes := env.Config().MaxObjectBytes
	var b strings.Builder
	seen := map[*objectType]bool{}
	var walk func(o *objectType)
	walk = func(o *objectType) {
		if seen[o] {
			return
		}
		seen[o] = true
		var block bytes.Buffer
		tw := tabwriter.NewWriter(&block, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\n", o.name)
		for _, f := range o.fields {
			typ := strings.ReplaceAll(f.shape.typ.String(), "google.protobuf.Timestamp", "timestamp")
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.name, typ, boundText(f.shape, maxBytes))
		}
		tw.Flush()
		for _, line := range strings.Split(strings.TrimRight(block.String(), "\n"), "\n") {
			fmt.Fprintf(&b, "//\t%s\n", strings.TrimRight(line, " "))
		}
		b.WriteString("//\n")
		for _, f := range o.fields {
			for s := f.shape; s != nil; s = s.elem {
				if s.obj != nil {
					walk(s.obj)
				}
			}
		}
	}
	walk(env.pod)
	walk(env.node)
	return b.String()
}

func boundText(s *shape, maxBytes uint64) string {
	bytesText := func(s *shape) string {
		if s == nil || s.max == 0 || s.max >= maxBytes {
			return ""
		}
		return fmt.Sprintf("<= %d bytes", s.max)
	}
	switch {
	case s.obj != nil:
		return ""
	case s.key != nil:
		parts := []string{fmt.Sprintf("<= %d entries", s.max)}
		if k := bytesText(s.key); k != "" {
			parts = append(parts, "keys "+k)
		}
		if v := bytesText(s.elem); v != "" {
			parts = append(parts, "values "+v)
		}
		return strings.Join(parts, ", ")
	case s.elem != nil:
		return fmt.Sprintf("<= %d items", s.max)
	case s.max != 0:
		if t := bytesText(s); t != "" {
			return t
		}
		return "-"
	}
	return ""
}
