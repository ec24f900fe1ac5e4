package patch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeCorpus is JSON, valid and not, that fastDecode must answer as
// encoding/json does: the same value, or a refusal that sends it there.
var decodeCorpus = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `1E-2`, `true`, `false`, `null`, ` {"a" : [1, 2 ,3] } `,
	`{"a":1,"a":2}`, `{"a":{"b":{"c":[{"d":null}]}}}`, `{"kind":"Pod","metadata":{"name":"x"}}`,
	`"caf\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"é ü 中"`, "\"\xff\"", "\"a\xc3\"",
	`{"k\u0041":1}`, "{\"\xe4\xb8\xad\":1}", `"\x"`, `"\u12"`, "\"a\x01\"", `"unterminated`, `"\`,
	`01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x10`, `1 2`, `{"a":1}x`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[,1]`,
	`{a:1}`, `tru`, `truex`, `nul`, `[`, `{`, `{"a":`, `[1 2]`, `{"a":1 "b":2}`, `NaN`, `Infinity`, ``, `   `,
	"\ufeff{}", `{"a":[]}`, `[[[[]]]]`, `123456789012345678901234567890`, `-1.0e-400`, `{"":""}`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := decodeValueStd(in)
	got, ok := fastDecode(in)
	switch {
	case ok && wantErr != nil:
		t.Errorf("fastDecode(%q) = %#v, encoding/json refuses it: %v", in, got, wantErr)
	case ok && !reflect.DeepEqual(got, want):
		t.Errorf("fastDecode(%q) = %#v, encoding/json: %#v", in, got, want)
	}
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range decodeCorpus {
		checkDecode(t, []byte(in))
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, b)
		if _, ok := fastDecode(b); !ok {
			t.Errorf("%s: fastDecode refused a plain object", f)
		}
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, in := range decodeCorpus {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkDecode(t, in) })
}

func TestKeyElementMatchesMarshal(t *testing.T) {
	for _, key := range []string{"name", "type", "a<b", `q"`, "é", ""} {
		for _, v := range []any{"web", "", "a&b", `x"y`, "tab\t", "ü", json.Number("8080"), true, nil} {
			b, _ := json.Marshal(map[string]any{key: v})
			if got, want := keyElement(key, v), "k:"+string(b); got != want {
				t.Errorf("keyElement(%q, %#v) = %s, want %s", key, v, got, want)
			}
		}
	}
}
