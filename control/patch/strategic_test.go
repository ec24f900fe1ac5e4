package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// assertJSON compares JSON documents by value (object key order aside, list
// order included).
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	g, err := decodeValue(got)
	if err != nil {
		t.Fatalf("result is not JSON: %v: %s", err, got)
	}
	w, err := decodeValue([]byte(want))
	if err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		var cw bytes.Buffer
		_ = json.Compact(&cw, []byte(want))
		t.Errorf("got  %s\nwant %s", got, cw.String())
	}
}

func TestStrategic(t *testing.T) {
	tests := []struct {
		name, kind, orig, patch, want string
	}{
		{"maps merge recursively", "Pod",
			`{"metadata":{"name":"p","labels":{"a":"1","b":"2"}}}`,
			`{"metadata":{"labels":{"b":"3","c":"4"}}}`,
			`{"metadata":{"name":"p","labels":{"a":"1","b":"3","c":"4"}}}`},
		{"null deletes", "Pod",
			`{"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"hostname":"h"}}`,
			`{"metadata":{"labels":{"a":null}},"spec":{"hostname":null,"absent":null}}`,
			`{"metadata":{"labels":{"b":"2"}},"spec":{}}`},
		{"new subtree loses its nulls", "Pod",
			`{}`,
			`{"spec":{"nodeSelector":{"a":"1","b":null}}}`,
			`{"spec":{"nodeSelector":{"a":"1"}}}`},
		{"type change replaces", "Pod",
			`{"spec":{"x":"scalar","y":{"a":1}}}`,
			`{"spec":{"x":{"a":1,"b":null},"y":"scalar"}}`,
			`{"spec":{"x":{"a":1},"y":"scalar"}}`},
		{"numbers keep their text", "Pod",
			`{"spec":{"big":12345678901234567890,"f":1.50}}`,
			`{"spec":{"n":7}}`,
			`{"spec":{"big":12345678901234567890,"f":1.50,"n":7}}`},
		{"keyed list merges by name", "Pod",
			`{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y","args":["1"]}]}}`,
			`{"spec":{"containers":[{"name":"b","image":"z"}]}}`,
			`{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"z","args":["1"]}]}}`},
		{"keyed list adds new elements before server-only ones", "Pod",
			`{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}`,
			`{"spec":{"containers":[{"name":"c","image":"w"}]}}`,
			`{"spec":{"containers":[{"name":"c","image":"w"},{"name":"a"},{"name":"b"}]}}`},
		{"keyed list keeps the patch order", "Pod",
			`{"spec":{"containers":[{"name":"1"},{"name":"2","image":"b"},{"name":"3"}]}}`,
			`{"spec":{"containers":[{"name":"3","image":"c"},{"name":"1","image":"a"}]}}`,
			`{"spec":{"containers":[{"name":"2","image":"b"},{"name":"3","image":"c"},{"name":"1","image":"a"}]}}`},
		{"nested keyed lists merge by their own keys", "Pod",
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"},{"containerPort":443}],"env":[{"name":"X","value":"1"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"protocol":"TCP"}],"env":[{"name":"Y","value":"2"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http","protocol":"TCP"},{"containerPort":443}],"env":[{"name":"Y","value":"2"},{"name":"X","value":"1"}]}]}}`},
		{"merge keys compare numbers by value", "Pod",
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80.0,"protocol":"UDP"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80.0,"name":"http","protocol":"UDP"}]}]}}`},
		{"pod template rules apply under a Deployment", "Deployment",
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b"}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"y"}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"y"},{"name":"b"}]}}}}`},
		{"primitive set unions", "Pod",
			`{"metadata":{"finalizers":["a","b"]}}`,
			`{"metadata":{"finalizers":["b","c"]}}`,
			`{"metadata":{"finalizers":["a","b","c"]}}`},
		{"primitive set keeps the patch order", "Pod",
			`{"metadata":{"finalizers":["1","2","3"]}}`,
			`{"metadata":{"finalizers":["3","1"]}}`,
			`{"metadata":{"finalizers":["2","3","1"]}}`},
		{"replace-strategy list replaces", "Pod",
			`{"spec":{"tolerations":[{"key":"a"},{"key":"b"}]}}`,
			`{"spec":{"tolerations":[{"key":"c","value":null}]}}`,
			`{"spec":{"tolerations":[{"key":"c"}]}}`},
		{"unknown kind replaces every list", "Widget",
			`{"spec":{"containers":[{"name":"a"},{"name":"b"}],"m":{"x":1}}}`,
			`{"spec":{"containers":[{"name":"b","image":"z"}],"m":{"y":2}}}`,
			`{"spec":{"containers":[{"name":"b","image":"z"}],"m":{"x":1,"y":2}}}`},
		{"$patch replace in a map", "Pod",
			`{"spec":{"nodeSelector":{"a":"1","b":"2"}}}`,
			`{"spec":{"nodeSelector":{"$patch":"replace","c":"3"}}}`,
			`{"spec":{"nodeSelector":{"c":"3"}}}`},
		{"$patch replace at the root", "Pod",
			`{"a":1,"b":2}`,
			`{"$patch":"replace","c":3}`,
			`{"c":3}`},
		{"$patch delete in a map", "Pod",
			`{"spec":{"nodeSelector":{"a":"1"},"hostname":"h"}}`,
			`{"spec":{"nodeSelector":{"$patch":"delete"}}}`,
			`{"spec":{"nodeSelector":{},"hostname":"h"}}`},
		{"$patch merge in a map", "Pod",
			`{"spec":{"nodeSelector":{"a":"1"}}}`,
			`{"spec":{"nodeSelector":{"$patch":"merge","b":"2"}}}`,
			`{"spec":{"nodeSelector":{"a":"1","b":"2"}}}`},
		{"$patch delete in a keyed list", "Pod",
			`{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"b"}]}}`,
			`{"spec":{"containers":[{"name":"b","$patch":"delete"},{"name":"gone","$patch":"delete"}]}}`,
			`{"spec":{"containers":[{"name":"a"},{"name":"c"}]}}`},
		{"$patch replace in a keyed list", "Pod",
			`{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b"}]}}`,
			`{"spec":{"containers":[{"$patch":"replace"},{"name":"c","image":"y"}]}}`,
			`{"spec":{"containers":[{"name":"c","image":"y"}]}}`},
		{"$patch replace empties a keyed list", "Pod",
			`{"spec":{"containers":[{"name":"a"}]}}`,
			`{"spec":{"containers":[{"$patch":"replace"}]}}`,
			`{"spec":{"containers":[]}}`},
		{"$patch replace in a primitive set", "Pod",
			`{"metadata":{"finalizers":["a","b"]}}`,
			`{"metadata":{"finalizers":[{"$patch":"replace"},"c","c"]}}`,
			`{"metadata":{"finalizers":["c"]}}`},
		{"$patch merge in a keyed list", "Pod",
			`{"spec":{"containers":[{"name":"a","image":"x"}]}}`,
			`{"spec":{"containers":[{"$patch":"merge"},{"name":"a","image":"y"}]}}`,
			`{"spec":{"containers":[{"name":"a","image":"y"}]}}`},
		{"$patch merge on a keyed element", "Pod",
			`{"spec":{"containers":[{"name":"a","image":"x","args":["1"]}]}}`,
			`{"spec":{"containers":[{"name":"a","$patch":"merge","image":"y"}]}}`,
			`{"spec":{"containers":[{"name":"a","image":"y","args":["1"]}]}}`},
		{"$patch replace element of a replaced list is dropped", "Pod",
			`{"spec":{"tolerations":[{"key":"a"}]}}`,
			`{"spec":{"tolerations":[{"$patch":"replace"},{"key":"b"}]}}`,
			`{"spec":{"tolerations":[{"key":"b"}]}}`},
		{"new keyed list is cleaned of directives", "Pod",
			`{"spec":{}}`,
			`{"spec":{"containers":[{"name":"a"},{"name":"x","$patch":"delete"}]}}`,
			`{"spec":{"containers":[{"name":"a"}]}}`},
		{"$retainKeys drops other fields", "Deployment",
			`{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}`,
			`{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}`,
			`{"spec":{"strategy":{"type":"Recreate"}}}`},
		{"$retainKeys in keyed list elements", "Pod",
			`{"spec":{"volumes":[{"name":"v","emptyDir":{}},{"name":"w","hostPath":{"path":"/"}}]}}`,
			`{"spec":{"volumes":[{"name":"v","$retainKeys":["name","configMap"],"configMap":{"name":"c"}}]}}`,
			`{"spec":{"volumes":[{"name":"v","configMap":{"name":"c"}},{"name":"w","hostPath":{"path":"/"}}]}}`},
		{"$deleteFromPrimitiveList", "Pod",
			`{"metadata":{"finalizers":["a","b","c","b"]}}`,
			`{"metadata":{"$deleteFromPrimitiveList/finalizers":["b","zz"]}}`,
			`{"metadata":{"finalizers":["a","c"]}}`},
		{"$deleteFromPrimitiveList on a replaced list", "Pod",
			`{"spec":{"containers":[{"name":"a","args":["x","y"]}]}}`,
			`{"spec":{"containers":[{"name":"a","$deleteFromPrimitiveList/args":["x"]}]}}`,
			`{"spec":{"containers":[{"name":"a","args":["y"]}]}}`},
		{"$deleteFromPrimitiveList on an absent list adds nothing", "Pod",
			`{"metadata":{"name":"p"}}`,
			`{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}`,
			`{"metadata":{"name":"p"}}`},
		{"$setElementOrder on a keyed list", "Pod",
			`{"spec":{"containers":[{"name":"a"},{"name":"b","image":"x"}]}}`,
			`{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"},{"name":"c"}],"containers":[{"name":"c","image":"y"}]}}`,
			`{"spec":{"containers":[{"name":"b","image":"x"},{"name":"a"},{"name":"c","image":"y"}]}}`},
		{"$setElementOrder keeps unnamed server elements in place", "Pod",
			`{"spec":{"containers":[{"name":"1","other":"a"},{"name":"2","value":"2","other":"b"}]}}`,
			`{"spec":{"$setElementOrder/containers":[{"name":"4"},{"name":"1"},{"name":"2"},{"name":"3"}],"containers":[{"name":"4","value":"4"},{"name":"3","value":"3"}]}}`,
			`{"spec":{"containers":[{"name":"4","value":"4"},{"name":"1","other":"a"},{"name":"2","value":"2","other":"b"},{"name":"3","value":"3"}]}}`},
		{"$setElementOrder on a primitive list without a patch list", "Pod",
			`{"metadata":{"finalizers":["1","3"]}}`,
			`{"metadata":{"$setElementOrder/finalizers":["3","2","1"]}}`,
			`{"metadata":{"finalizers":["3","1"]}}`},
		{"kubectl apply patch: add and delete in a primitive list", "Pod",
			`{"metadata":{"finalizers":["1","2","3","4"]}}`,
			`{"metadata":{"$setElementOrder/finalizers":["1","2","4"],"$deleteFromPrimitiveList/finalizers":["3"],"finalizers":["4"]}}`,
			`{"metadata":{"finalizers":["1","2","4"]}}`},
		{"kubectl apply patch: change an image and drop an env var", "Deployment",
			`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},{"name":"side","image":"s:1"}]}}}}`,
			`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"side"}],"containers":[{"name":"web","image":"web:2","$setElementOrder/env":[{"name":"A"}],"env":[{"name":"B","$patch":"delete"}]}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2","env":[{"name":"A","value":"1"}]},{"name":"side","image":"s:1"}]}}}}`},
		{"empty original", "Pod", ``, `{"a":{"b":1}}`, `{"a":{"b":1}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Strategic([]byte(tc.orig), []byte(tc.patch), tc.kind)
			if err != nil {
				t.Fatalf("Strategic: %v", err)
			}
			assertJSON(t, got, tc.want)
		})
	}
}

func TestStrategicErrors(t *testing.T) {
	tests := []struct {
		name, orig, patch string
		want              error
		msg               string
	}{
		{"patch is not JSON", `{}`, `{"a":`, ErrMalformed, "decode patch"},
		{"patch is not an object", `{}`, `[1]`, ErrMalformed, "not a JSON object"},
		{"original is not JSON", `nope`, `{}`, ErrMalformed, "decode original"},
		{"unknown directive", `{}`, `{"spec":{"$bogus":1}}`, ErrInvalid, `spec: unknown directive "$bogus"`},
		{"unknown $patch value", `{}`, `{"spec":{"$patch":"explode"}}`, ErrInvalid, "unknown $patch directive explode"},
		{"unknown $patch in a list", `{}`, `{"spec":{"containers":[{"$patch":"explode"}]}}`, ErrInvalid, "spec.containers[0]"},
		{"missing merge key", `{"spec":{"containers":[{"name":"a"}]}}`, `{"spec":{"containers":[{"image":"x"}]}}`, ErrInvalid, `spec.containers[0]: element has no merge key "name"`},
		{"keyed element not an object", `{}`, `{"spec":{"containers":["a"]}}`, ErrInvalid, "not an object"},
		{"delete needs a merge key", `{}`, `{"spec":{"tolerations":[{"key":"a","$patch":"delete"}]}}`, ErrInvalid, "needs a list merged by key"},
		{"merge on a replaced list", `{}`, `{"spec":{"tolerations":[{"$patch":"merge"}]}}`, ErrInvalid, "replaced, not merged"},
		{"object in a primitive set", `{}`, `{"metadata":{"finalizers":[{"a":1}]}}`, ErrInvalid, "not a string, number or boolean"},
		{"$retainKeys misses a patched field", `{}`, `{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{}}}}`, ErrInvalid, `"rollingUpdate" is set by the patch but missing from $retainKeys`},
		{"$retainKeys not a list", `{}`, `{"spec":{"$retainKeys":"type"}}`, ErrInvalid, "list of field names"},
		{"$setElementOrder does not match the patch list", `{"spec":{"containers":[{"name":"1"},{"name":"2"},{"name":"3"}]}}`,
			`{"spec":{"$setElementOrder/containers":[{"name":"1"},{"name":"2"},{"name":"3"}],"containers":[{"name":"3"},{"name":"1"}]}}`, ErrInvalid, "does not match"},
		{"$setElementOrder without a field", `{}`, `{"spec":{"$setElementOrder/":[]}}`, ErrInvalid, "needs a field name"},
		{"$setElementOrder on a non-list", `{"spec":{"containers":"x"}}`, `{"spec":{"$setElementOrder/containers":[{"name":"a"}]}}`, ErrInvalid, "not a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Strategic([]byte(tc.orig), []byte(tc.patch), "Pod")
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}
