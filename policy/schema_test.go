package policy

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

type sampleInner struct {
	A string `json:"a"`
}

type sampleEmbedded struct {
	E int `json:"e"`
}

type sample struct {
	sampleEmbedded `json:",inline"`
	Named          string           `json:"named,omitempty"`
	Skipped        string           `json:"-"`
	hidden         string           // unexported: not visible
	Ptr            *sampleInner     `json:"ptr,omitempty"`
	List           []sampleInner    `json:"list"`
	Map            map[string]int32 `json:"map"`
	Strings        []string         `json:"strings"`
	NoTag          bool
	Next           *sample `json:"next,omitempty"`
}

func TestSchemaRules(t *testing.T) {
	sch := newSchema(1<<20, nil)
	ot, err := sch.object(reflect.TypeFor[sample]())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"e", "named", "ptr", "list", "map", "strings", "NoTag", "next"}; !slices.Equal(ot.FieldNames(), want) {
		t.Fatalf("fields = %v, want %v", ot.FieldNames(), want)
	}
	for name, want := range map[string]string{
		"e": "int", "ptr": "policy.sampleInner", "list": "list(policy.sampleInner)",
		"map": "map(string, int)", "strings": "list(string)", "NoTag": "bool", "next": "policy.sample",
	} {
		if ft, ok := ot.FindFieldType(name); !ok || ft.Type.String() != want {
			t.Errorf("field %s: type %v, want %s", name, ft.Type, want)
		}
	}
	c, err := newCompiler(DefaultConfig(), sch, map[string]*shape{"x": {typ: ot.celType, obj: ot}},
		cel.Variable("x", ot.celType))
	if err != nil {
		t.Fatal(err)
	}
	v := sample{sampleEmbedded: sampleEmbedded{E: 3}, Named: "n", Skipped: "s", hidden: "h",
		List: []sampleInner{{A: "q"}}, Map: map[string]int32{"k": 7}, Strings: []string{"s1"}, NoTag: true,
		Next: &sample{Named: "second"}}
	for _, tc := range []struct{ name, expr string }{
		{"inline field", `x.e == 3`},
		{"renamed field", `x.named == "n" && has(x.named)`},
		{"nil pointer", `!has(x.ptr) && x.ptr.a == ""`},
		{"list of objects", `x.list[0].a == "q" && size(x.list) == 1`},
		{"map of ints", `x.map.k == 7 && !has(x.map.missing)`},
		{"list of strings", `x.strings == ["s1"]`},
		{"untagged field", `x.NoTag`},
		{"recursive type", `x.next.named == "second" && !has(x.next.next) && x.next.next.next.e == 0`},
		{"object equality", `x.next == x.next && x.next != x && x.ptr == policy.sampleInner{}`},
		{"object literal", `policy.sampleInner{a: "q"} == x.list[0]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.compile("filter", tc.expr, types.BoolType)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range []struct {
				name string
				val  any
			}{{"prepared", ot.convert(reflect.ValueOf(&v).Elem())}, {"go value", &v}} {
				out, _, err := p.prg.Eval(map[string]any{"x": in.val})
				if err != nil || out != types.True {
					t.Fatalf("%s input: %v, %v; want true", in.name, out, err)
				}
			}
		})
	}
	t.Run("hidden fields", func(t *testing.T) {
		for _, expr := range []string{`x.Skipped == ""`, `x.hidden == ""`, `x.sampleEmbedded.e == 3`} {
			if _, err := c.compile("filter", expr, types.BoolType); err == nil || !strings.Contains(err.Error(), "undefined field") {
				t.Errorf("%s: %v, want an undefined field", expr, err)
			}
		}
	})
}

func TestSchemaRefusesUnmappedTypes(t *testing.T) {
	type withChan struct {
		C chan int `json:"c"`
	}
	type withIntKeys struct {
		M map[int]string `json:"m"`
	}
	type dupInner struct {
		X string `json:"x"`
	}
	type withDuplicate struct {
		dupInner `json:",inline"`
		Y        string `json:"x"`
	}
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		msg  string
	}{
		{"channel", reflect.TypeFor[withChan](), "withChan.C: go type chan int has no CEL mapping"},
		{"int map keys", reflect.TypeFor[withIntKeys](), "only maps with string keys"},
		{"duplicate name", reflect.TypeFor[withDuplicate](), `field "x" appears twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newSchema(1<<20, nil).object(tc.typ)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("object(%v) = %v, want an error containing %q", tc.typ, err, tc.msg)
			}
		})
	}
}
