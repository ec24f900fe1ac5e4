package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// The fast path of Decoder.Decode (go-json-experiment with strictOptions) must accept exactly
// what the slow path accepts, into the same value, and Unmarshal must be encoding/json's
// Unmarshal. These tests hold them together on a full document of every API kind and on
// thousands of mutations of those documents: fields renamed, recased, escaped, duplicated,
// dropped, nulled, or given values of every JSON type.

// agreeStrict reports how the two strict paths disagree on doc decoded into a new value of t,
// or "" when they agree. slowOnly reports a document only the slow path accepts (allowed: it
// costs a second pass, not a different answer).
func agreeStrict(d *Decoder, t reflect.Type, doc []byte) (problem string, slowOnly bool) {
	fast, slow := reflect.New(t).Interface(), reflect.New(t).Interface()
	fastErr := jsonv2.Unmarshal(doc, fast, strictOptions)
	slowErr := d.decodeSlow(doc, slow)
	switch {
	case fastErr == nil && slowErr != nil:
		return fmt.Sprintf("fast path accepts what the slow path refuses (%v)", slowErr), false
	case fastErr == nil && !reflect.DeepEqual(fast, slow):
		return fmt.Sprintf("paths decode different values:\nfast %+v\nslow %+v", fast, slow), false
	}
	viaDecode := reflect.New(t).Interface()
	if err := d.Decode(doc, viaDecode); fmt.Sprint(err) != fmt.Sprint(slowErr) {
		return fmt.Sprintf("Decode error %v, slow path %v", err, slowErr), false
	} else if err == nil && !reflect.DeepEqual(viaDecode, slow) {
		return fmt.Sprintf("Decode decodes %+v, slow path %+v", viaDecode, slow), false
	}
	return "", fastErr != nil && slowErr == nil
}

// agreeLoose reports how Unmarshal and encoding/json.Unmarshal disagree on doc, or "".
func agreeLoose(t reflect.Type, doc []byte) string {
	ours, std := reflect.New(t).Interface(), reflect.New(t).Interface()
	oursErr, stdErr := Unmarshal(doc, ours), json.Unmarshal(doc, std)
	switch {
	case (oursErr == nil) != (stdErr == nil):
		return fmt.Sprintf("Unmarshal error %v, encoding/json %v", oursErr, stdErr)
	case oursErr == nil && !reflect.DeepEqual(ours, std):
		return fmt.Sprintf("Unmarshal decodes\n%+v\nencoding/json\n%+v", ours, std)
	}
	return ""
}

func TestStrictFastPathAgrees(t *testing.T) {
	var d Decoder
	for _, ri := range Resources() {
		t.Run(ri.Kind, func(t *testing.T) {
			typ := reflect.TypeOf(ri.New()).Elem()
			docs := mutations(t, fullDoc(t, typ))
			if ri.Kind == "Pod" {
				pod, err := os.ReadFile("testdata/pod.json")
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, mutations(t, pod)...)
			}
			// A sample of the biggest kinds' documents keeps the test to seconds; the fuzz
			// target goes further.
			stride := len(docs)/3000 + 1
			slowOnly := 0
			for i, doc := range docs {
				if i%stride != 0 {
					continue
				}
				p, so := agreeStrict(&d, typ, doc)
				if p != "" {
					t.Fatalf("%s\ndocument: %s", p, doc)
				}
				if so {
					slowOnly++
				}
				if p := agreeLoose(typ, doc); p != "" {
					t.Fatalf("%s\ndocument: %s", p, doc)
				}
			}
			t.Logf("%d documents, %d accepted only by the slow path", len(docs)/stride, slowOnly)
		})
	}
}

// TestStrictFastPathTaken checks that a well-formed document of every kind takes the fast
// path, so the API server's decoding is one pass.
func TestStrictFastPathTaken(t *testing.T) {
	for _, ri := range Resources() {
		typ := reflect.TypeOf(ri.New()).Elem()
		doc := fullDoc(t, typ)
		if err := jsonv2.Unmarshal(doc, reflect.New(typ).Interface(), strictOptions); err != nil {
			t.Errorf("%s: fast path refuses a full document: %v\n%s", ri.Kind, err, doc)
		}
	}
}

func FuzzStrictFastPath(f *testing.F) {
	pod, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pod)
	f.Add([]byte(deployJSON))
	for _, ri := range Resources()[:4] {
		f.Add(fullDoc(f, reflect.TypeOf(ri.New()).Elem()))
	}
	var d Decoder
	types := []reflect.Type{reflect.TypeFor[Pod](), reflect.TypeFor[Deployment](), reflect.TypeFor[Node]()}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, typ := range types {
			if p, _ := agreeStrict(&d, typ, doc); p != "" {
				t.Fatalf("%s: %s\ndocument: %q", typ, p, doc)
			}
			if p := agreeLoose(typ, doc); p != "" {
				t.Fatalf("%s: %s\ndocument: %q", typ, p, doc)
			}
		}
	})
}

// fullDoc is the JSON of a value of t with every field set.
func fullDoc(tb testing.TB, t reflect.Type) []byte {
	v := reflect.New(t).Elem()
	fill(v, 0)
	b, err := json.Marshal(v.Addr().Interface())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func fill(v reflect.Value, depth int) {
	if depth > 10 {
		return
	}
	switch v.Type() {
	case reflect.TypeFor[Quantity]():
		v.Set(reflect.ValueOf(MustParseQuantity("1500m")))
		return
	case reflect.TypeFor[Time]():
		v.Set(reflect.ValueOf(Time{time.Date(2026, 11, 22, 9, 21, 57, 0, time.UTC)}))
		return
	case reflect.TypeFor[MicroTime]():
		v.Set(reflect.ValueOf(NewMicroTime(time.Date(2026, 11, 22, 9, 21, 57, 123456000, time.UTC))))
		return
	case reflect.TypeFor[IntOrString]():
		v.Set(reflect.ValueOf(IntOrString{IsString: true, StrVal: "25%"}))
		return
	case reflect.TypeFor[json.RawMessage]():
		v.Set(reflect.ValueOf(json.RawMessage(`{"f:a":{".":{}}}`)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(2)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(3)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), depth+1)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, depth+1)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf("x"))
		}
	}
}

// alternatives replace a value in mutations: one of every JSON kind, numbers that do not fit
// an integer, and strings that look like other things.
var alternatives = []any{
	nil, true, false, json.Number("0"), json.Number("-1"), json.Number("1.5"), json.Number("1e2"),
	json.Number("1e400"), json.Number("99999999999999999999"), "", "x", "1", "25%", "2026-11-22T09:21:57Z",
	[]any{}, []any{"x"}, []any{json.Number("1")}, []any{nil}, map[string]any{}, map[string]any{"x": "y"},
}

// mutations returns doc and documents that differ from it in one place each.
func mutations(tb testing.TB, doc []byte) [][]byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		tb.Fatal(err)
	}
	out := [][]byte{doc, []byte(" \n" + string(doc) + "\n "), append(bytes.Clone(doc), "{}"...), []byte("null"), []byte("")}
	variants(tree, func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	})
	// Mutations a decoded tree cannot hold: duplicate names and escaped names.
	for _, m := range regexp.MustCompile(`"([A-Za-z]+)":`).FindAllSubmatchIndex(doc, -1) {
		name := string(doc[m[2]:m[3]])
		for _, first := range []string{"null", `"x"`, "{}", `{"zz":1}`, "[]", "1"} {
			out = append(out, splice(doc, m[0], m[0], fmt.Sprintf(`"%s":%s,`, name, first)))
		}
		out = append(out, splice(doc, m[2], m[2]+1, fmt.Sprintf(`\u%04x`, name[0])))
	}
	return out
}

func splice(doc []byte, i, j int, s string) []byte {
	return append(append(append([]byte{}, doc[:i]...), s...), doc[j:]...)
}

// variants calls emit with copies of v changed in one place each.
func variants(v any, emit func(any)) {
	switch v := v.(type) {
	case map[string]any:
		with := func(k string, e any) map[string]any {
			c := make(map[string]any, len(v)+1)
			for k2, e2 := range v {
				c[k2] = e2
			}
			c[k] = e
			return c
		}
		emit(with("zzUnknown", json.Number("1")))
		for k, e := range v {
			if up := strings.ToUpper(k); up != k {
				recased := with(up, e)
				delete(recased, k)
				emit(recased)
			}
			dropped := with(k, nil)
			delete(dropped, k)
			emit(dropped)
			for _, alt := range alternatives {
				emit(with(k, alt))
			}
			variants(e, func(ev any) { emit(with(k, ev)) })
		}
	case []any:
		for i, e := range v {
			with := func(x any) []any {
				c := append([]any{}, v...)
				c[i] = x
				return c
			}
			for _, alt := range alternatives {
				emit(with(alt))
			}
			variants(e, func(ev any) { emit(with(ev)) })
		}
	}
}

// Types the walk of the slow path sees otherwise than encoding/json: the fast path must not
// decide for them.
type (
	trickInner struct {
		X int `json:"x"`
	}
	trickEmbeddedPointer struct {
		*trickInner
		Y int `json:"y"`
	}
	trickCollision struct {
		trickInner
		X string `json:"x"`
	}
	trickNamedInline struct {
		trickInner `json:"inner,inline"`
	}
	trickBadTag struct {
		A int `json:"a\\b"`
	}
	trickText struct {
		N net.IP `json:"n"`
	}
	// trickFits has what both paths see alike: skipped and renamed fields, Go names, an
	// embedded struct, maps, arrays, raw JSON and interfaces.
	trickFits struct {
		TypeMeta `json:",inline"`
		trickInner
		Skip     string `json:"-"`
		Dash     string `json:"-,"`
		GoName   string
		hidden   string
		Map      map[string]Time   `json:"map"`
		Arr      [2]IntOrString    `json:"arr"`
		Raw      json.RawMessage   `json:"raw"`
		Any      any               `json:"any"`
		Nested   map[string][]Pod  `json:"nested"`
		Ptr      **Quantity        `json:"ptr"`
		Str      int64             `json:"str,string"`
		Bytes    []byte            `json:"bytes"`
		Bools    map[string]*bool  `json:"bools"`
		Floats   []float32         `json:"floats"`
		Uints    map[string]uint16 `json:"uints"`
		Interior *trickInner       `json:"interior"`
	}
)

func TestStrictFastPathGuard(t *testing.T) {
	var d Decoder
	for _, tc := range []struct {
		v    any
		fits bool
	}{
		{&Pod{}, true}, {&DeleteOptions{}, true}, {&Binding{}, true}, {&Scale{}, true}, {&trickFits{}, true},
		{&trickEmbeddedPointer{}, false}, {&trickCollision{}, false}, {&trickNamedInline{}, false},
		{&trickBadTag{}, false}, {&trickText{}, false},
	} {
		typ := reflect.TypeOf(tc.v)
		if got := d.fastPathFits(typ); got != tc.fits {
			t.Errorf("fastPathFits(%s) = %v, want %v", typ, got, tc.fits)
		}
		if !tc.fits {
			continue
		}
		for i, doc := range mutations(t, fullDoc(t, typ.Elem())) {
			if i%5 != 0 {
				continue
			}
			if p, _ := agreeStrict(&d, typ.Elem(), doc); p != "" {
				t.Fatalf("%s: %s\ndocument: %s", typ, p, doc)
			}
			if p := agreeLoose(typ.Elem(), doc); p != "" {
				t.Fatalf("%s: %s\ndocument: %s", typ, p, doc)
			}
		}
	}
}

func TestQuoteUnquoteMatchEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "10m", "16Mi", "2026-11-22T09:18:57Z", "a<b", "x&y", `q"uote`, `back\slash`,
		"tab\there", "ünïcode", "\x7f", "50%", "http"} {
		want, _ := json.Marshal(s)
		got, err := quoteJSON(s)
		if err != nil || string(got) != string(want) {
			t.Errorf("quoteJSON(%q) = %s, %v; encoding/json gives %s", s, got, err, want)
		}
		back, err := unquoteJSON(want)
		if err != nil || back != s {
			t.Errorf("unquoteJSON(%s) = %q, %v", want, back, err)
		}
	}
	for _, bad := range []string{`"open`, `"bad \x escape"`, `12`, `"`} {
		var want string
		wantErr := json.Unmarshal([]byte(bad), &want)
		got, err := unquoteJSON([]byte(bad))
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("unquoteJSON(%s) = %q, %v; encoding/json gives %q, %v", bad, got, err, want, wantErr)
		}
	}
}
