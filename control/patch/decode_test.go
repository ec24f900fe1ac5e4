package patch

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// stdDecode is what decodeValue did before parseJSON: encoding/json with UseNumber.
func stdDecode(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// checkParseJSON fails when parseJSON accepts in but decodes it differently from
// encoding/json, or accepts what encoding/json refuses.
func checkParseJSON(t *testing.T, in []byte) {
	t.Helper()
	got, ok := parseJSON(in)
	if !ok {
		return // encoding/json decides
	}
	want, wok := stdDecode(in)
	if !wok {
		t.Fatalf("parseJSON accepted %q, which encoding/json refuses", in)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseJSON(%q) = %#v, encoding/json %#v", in, got, want)
	}
}

var parseJSONCases = []struct{ name, in string }{
	{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`},
	{"whitespace", " \t\n{ \"a\" : [ 1 , 2 ] }\r\n "},
	{"empty containers", `{"a":{},"b":[]}`},
	{"numbers", `[0,-0,1.5,-2e10,3E+2,4e-3,12345678901234567890]`},
	{"bad numbers", `[01]`},
	{"minus alone", `[-]`},
	{"dot alone", `[1.]`},
	{"escapes", `"a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\u003c"`},
	{"surrogate pair", `"\ud83d\ude00"`},
	{"lone high surrogate", `"\ud83dx"`},
	{"lone low surrogate", `"\ude00"`},
	{"utf-8", `"héllo, 世界"`},
	{"invalid utf-8", "\"a\xffb\""},
	{"control character", "\"a\nb\""},
	{"duplicate keys", `{"a":1,"a":2}`},
	{"trailing data", `{} {}`},
	{"trailing comma", `{"a":1,}`},
	{"unterminated", `{"a":`},
	{"bad literal", `[tru]`},
	{"bad escape", `"\x"`},
	{"scalar", `"s"`},
}

func TestParseJSON(t *testing.T) {
	for _, tc := range parseJSONCases {
		t.Run(tc.name, func(t *testing.T) { checkParseJSON(t, []byte(tc.in)) })
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := parseJSON(b); !ok {
				t.Fatalf("parseJSON refused %s", f)
			}
			checkParseJSON(t, b)
		})
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, tc := range parseJSONCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(checkParseJSON)
}

// checkParseFields fails when parseFieldsFast decodes in differently from parseFieldsV1, or
// calls in canonical when encoding the set would not give in back.
func checkParseFields(t *testing.T, in []byte) {
	t.Helper()
	got, canonical, ok := parseFieldsFast(in)
	if !ok {
		return // parseFieldsV1 decides
	}
	want, err := parseFieldsV1(in)
	if err != nil {
		t.Fatalf("parseFieldsFast accepted %q, which parseFieldsV1 refuses: %v", in, err)
	}
	if !got.equal(want) || got.self != want.self {
		t.Fatalf("parseFieldsFast(%q) = %s, parseFieldsV1 %s", in, got.encode(), want.encode())
	}
	if canonical && !bytes.Equal(got.encode(), in) {
		t.Fatalf("parseFieldsFast(%q) says canonical, encode gives %s", in, got.encode())
	}
}

var parseFieldsCases = []struct{ name, in string }{
	{"canonical", `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{}}}}}`},
	{"values", `{"f:metadata":{"f:finalizers":{".":{},"v:\"a\"":{}}}}`},
	{"whitespace", `{ "f:spec" : { "f:replicas" : { } } }`},
	{"lone dot", `{"f:spec":{".":{}}}`},
	{"dot with a value", `{"f:spec":{".":5,"f:a":{}}}`},
	{"unsorted", `{"f:spec":{},"f:metadata":{}}`},
	{"repeated", `{"f:spec":{"f:a":{}},"f:spec":{"f:b":{}}}`},
	{"non-canonical key", `{"k:{\"name\": \"app\"}":{}}`},
	{"escaped key", `{"f:\u0061":{}}`},
	{"html in key", `{"v:\"<a>\"":{}}`},
	{"not an object", `{"f:spec":1}`},
	{"no prefix", `{"spec":{}}`},
	{"empty", `{}`},
	{"null", `null`},
	{"trailing", `{} x`},
}

func TestParseFieldsFast(t *testing.T) {
	for _, tc := range parseFieldsCases {
		t.Run(tc.name, func(t *testing.T) { checkParseFields(t, []byte(tc.in)) })
	}
	t.Run("canonical is reused", func(t *testing.T) {
		if _, canonical, ok := parseFieldsFast([]byte(parseFieldsCases[0].in)); !ok || !canonical {
			t.Fatalf("canonical %v, ok %v; want both", canonical, ok)
		}
	})
}

func FuzzParseFieldsFast(f *testing.F) {
	for _, tc := range parseFieldsCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(checkParseFields)
}
