package patch

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	tests := []struct{ name, orig, patch, want string }{
		{"adds and replaces", `{"a":"b","c":{"d":"e"}}`, `{"a":"z","c":{"f":"g"}}`, `{"a":"z","c":{"d":"e","f":"g"}}`},
		{"null deletes", `{"a":"b","c":{"d":"e","f":"g"}}`, `{"c":{"f":null}}`, `{"a":"b","c":{"d":"e"}}`},
		{"lists replace", `{"a":[1,2],"b":[{"x":1}]}`, `{"a":[3]}`, `{"a":[3],"b":[{"x":1}]}`},
		{"new subtree loses nulls", `{}`, `{"a":{"b":null,"c":1}}`, `{"a":{"c":1}}`},
		{"empty original", ``, `{"a":1}`, `{"a":1}`},
		{"non-object patch replaces", `{"a":1}`, `["x"]`, `["x"]`},
		{"numbers keep their text", `{"n":12345678901234567890}`, `{"m":1.50}`, `{"n":12345678901234567890,"m":1.50}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Merge([]byte(tc.orig), []byte(tc.patch))
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			assertJSON(t, got, tc.want)
		})
	}
	for name, tc := range map[string][2]string{
		"bad original": {`{`, `{}`},
		"bad patch":    {`{}`, `{"a":`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Merge([]byte(tc[0]), []byte(tc[1])); !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	orig := `{"metadata":{"labels":{"a":"1"}},"spec":{"replicas":3,"containers":[{"name":"a"},{"name":"b"}]}}`
	tests := []struct{ name, patch, want string }{
		{"replace", `[{"op":"replace","path":"/spec/replicas","value":5}]`,
			`{"metadata":{"labels":{"a":"1"}},"spec":{"replicas":5,"containers":[{"name":"a"},{"name":"b"}]}}`},
		{"add, remove, test", `[{"op":"test","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/labels/b","value":"2"},{"op":"remove","path":"/spec/containers/0"}]`,
			`{"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"replicas":3,"containers":[{"name":"b"}]}}`},
		{"append, move, copy", `[{"op":"add","path":"/spec/containers/-","value":{"name":"c"}},{"op":"move","from":"/metadata/labels/a","path":"/metadata/labels/z"},{"op":"copy","from":"/spec/replicas","path":"/spec/min"}]`,
			`{"metadata":{"labels":{"z":"1"}},"spec":{"replicas":3,"min":3,"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}}`},
		{"escaped path", `[{"op":"add","path":"/metadata/labels/app.kubernetes.io~1name","value":"x"}]`,
			`{"metadata":{"labels":{"a":"1","app.kubernetes.io/name":"x"}},"spec":{"replicas":3,"containers":[{"name":"a"},{"name":"b"}]}}`},
		{"empty patch", `[]`, orig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JSON([]byte(orig), []byte(tc.patch))
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			assertJSON(t, got, tc.want)
		})
	}
}

func TestJSONErrors(t *testing.T) {
	orig := `{"spec":{"replicas":3}}`
	tests := []struct {
		name, patch string
		want        error
		msg         string
	}{
		{"not JSON", `[{"op":`, ErrMalformed, "apply json patch"},
		{"not a list", `{"op":"add"}`, ErrMalformed, "apply json patch"},
		{"failed test names the operation", `[{"op":"add","path":"/a","value":1},{"op":"test","path":"/spec/replicas","value":4}]`,
			ErrInvalid, "operation 2 of 2 (test /spec/replicas)"},
		{"missing path", `[{"op":"replace","path":"/spec/nope","value":1}]`, ErrInvalid, "operation 1 of 1 (replace /spec/nope)"},
		{"move from missing", `[{"op":"move","from":"/x","path":"/y"}]`, ErrInvalid, "(move /y from /x)"},
		{"unknown op", `[{"op":"frobnicate","path":"/a"}]`, ErrMalformed, "frobnicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := JSON([]byte(orig), []byte(tc.patch))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	t.Run("too many operations", func(t *testing.T) {
		ops := make([]string, MaxJSONPatchOperations+1)
		for i := range ops {
			ops[i] = `{"op":"test","path":"/spec/replicas","value":3}`
		}
		_, err := JSON([]byte(orig), []byte("["+strings.Join(ops, ",")+"]"))
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v, want ErrInvalid", err)
		}
	})
	t.Run("copies cannot blow up a document", func(t *testing.T) {
		doc := fmt.Sprintf(`{"a":%q}`, strings.Repeat("x", 1<<20))
		ops := make([]string, 6)
		for i := range ops {
			ops[i] = fmt.Sprintf(`{"op":"copy","from":"/a","path":"/b%d"}`, i)
		}
		_, err := JSON([]byte(doc), []byte("["+strings.Join(ops, ",")+"]"))
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v, want ErrInvalid", err)
		}
	})
}

// randomObject builds a nested object without lists or "$" keys; with
// nulls, the object can serve as a merge patch.
func randomObject(r *rand.Rand, depth int, nulls bool) map[string]any {
	keys := []string{"a", "b", "c", "d", "e"}
	m := map[string]any{}
	for range r.IntN(5) {
		k := keys[r.IntN(len(keys))]
		switch n := r.IntN(10); {
		case n < 3 && depth > 0:
			m[k] = randomObject(r, depth-1, nulls)
		case n < 5 && nulls:
			m[k] = nil
		case n < 6:
			m[k] = json.Number(fmt.Sprint(r.IntN(100)))
		case n < 7:
			m[k] = r.IntN(2) == 0
		case n < 8:
			m[k] = map[string]any{}
		default:
			m[k] = fmt.Sprint("s", r.IntN(3))
		}
	}
	return m
}

// TestStrategicMatchesMerge holds Strategic against the plain JSON merge
// patch: without lists and directives the two formats agree.
func TestStrategicMatchesMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		orig, _ := json.Marshal(randomObject(r, 3, i%2 == 0))
		p, _ := json.Marshal(randomObject(r, 3, true))
		kind := []string{"Pod", "Deployment", "Widget"}[i%3]
		want, err := Merge(orig, p)
		if err != nil {
			t.Fatalf("Merge(%s, %s): %v", orig, p, err)
		}
		got, err := Strategic(orig, p, kind)
		if err != nil {
			t.Fatalf("Strategic(%s, %s): %v", orig, p, err)
		}
		g, _ := decodeValue(got)
		w, _ := decodeValue(want)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("case %d: original %s patch %s\nstrategic %s\nmerge     %s", i, orig, p, got, want)
		}
	}
}
