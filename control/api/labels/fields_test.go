package labels

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSplitFieldTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a`, []string{`a`}},
		{`a=avalue`, []string{`a=avalue`}},
		{`a=avalue,b=bvalue`, []string{`a=avalue`, `b=bvalue`}},
		{`a=avalue,b==bvalue,c!=cvalue`, []string{`a=avalue`, `b==bvalue`, `c!=cvalue`}},
		{``, nil},
		{`a=a,`, []string{`a=a`, ``}},
		{`,a=a`, []string{``, `a=a`}},
		{`k=\,,k2=v2`, []string{`k=\,`, `k2=v2`}},
		{`k=\\,k2=v2`, []string{`k=\\`, `k2=v2`}},
		{`k=\\\,,k2=v2`, []string{`k=\\\,`, `k2=v2`}},
		{`k=\a\b\`, []string{`k=\a\b\`}},
		{`k=\`, []string{`k=\`}},
		{`함=수,목=록`, []string{`함=수`, `목=록`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := splitFieldTerms(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitFieldTerms(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitFieldTerm(t *testing.T) {
	tests := []struct {
		in, field, op, value string
		ok                   bool
	}{
		{`a=value`, `a`, `=`, `value`, true},
		{`b==value`, `b`, `==`, `value`, true},
		{`c!=value`, `c`, `!=`, `value`, true},
		{``, ``, ``, ``, false},
		{`a`, ``, ``, ``, false},
		{`k=\,`, `k`, `=`, `\,`, true},
		{`k=\=`, `k`, `=`, `\=`, true},
		{`k=\\\a\b\=\,\`, `k`, `=`, `\\\a\b\=\,\`, true},
		{`함=수`, `함`, `=`, `수`, true},
		{`=v`, ``, `=`, `v`, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			field, op, value, ok := splitFieldTerm(tt.in)
			if field != tt.field || op != tt.op || value != tt.value || ok != tt.ok {
				t.Errorf("splitFieldTerm(%q) = %q, %q, %q, %v", tt.in, field, op, value, ok)
			}
		})
	}
}

func TestEscapeFieldValue(t *testing.T) {
	for raw, escaped := range map[string]string{
		``:      ``,
		`a`:     `a`,
		`=`:     `\=`,
		`,`:     `\,`,
		`\`:     `\\`,
		`\=\,\`: `\\\=\\\,\\`,
		`함`:     `함`,
	} {
		if got := EscapeFieldValue(raw); got != escaped {
			t.Errorf("EscapeFieldValue(%q) = %q, want %q", raw, got, escaped)
		}
		got, err := UnescapeFieldValue(escaped)
		if err != nil || got != raw {
			t.Errorf("UnescapeFieldValue(%q) = %q, %v; want %q", escaped, got, err, raw)
		}
	}
	for in, want := range map[string]string{
		`\`:   `invalid field selector: invalid escape sequence: \`,
		`\\\`: `invalid field selector: invalid escape sequence: \`,
		`\a`:  `invalid field selector: invalid escape sequence: \a`,
		`\수`:  `invalid field selector: invalid escape sequence: \수`,
		`a=b`: `invalid field selector: unescaped character in value: '='`,
		`a,b`: `invalid field selector: unescaped character in value: ','`,
	} {
		if _, err := UnescapeFieldValue(in); err == nil || err.Error() != want {
			t.Errorf("UnescapeFieldValue(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestParseFieldSelector(t *testing.T) {
	tests := []struct {
		name, in, want string
		reqs           []FieldRequirement
	}{
		{"empty", "", "", nil},
		{"equals", "x=a,y=b,z=c", "x=a,y=b,z=c", nil},
		{"not equals", "x!=a,y=b", "x!=a,y=b", []FieldRequirement{{"x", NotEquals, "a"}, {"y", Equals, "b"}}},
		{"double equals", "x==a", "x=a", []FieldRequirement{{"x", Equals, "a"}}},
		{"escaped equals", `x=a||y\=b`, `x=a||y\=b`, []FieldRequirement{{"x", Equals, "a||y=b"}}},
		{"escaped equals twice", `x=a\=\=b`, `x=a\=\=b`, []FieldRequirement{{"x", Equals, "a==b"}}},
		{"escaped comma", `x=a\,b,y=c`, `x=a\,b,y=c`, []FieldRequirement{{"x", Equals, "a,b"}, {"y", Equals, "c"}}},
		{"escaped backslash", `x=a\\`, `x=a\\`, []FieldRequirement{{"x", Equals, `a\`}}},
		{"empty value", "spec.nodeName=", "spec.nodeName=", []FieldRequirement{{"spec.nodeName", Equals, ""}}},
		{"empty terms skipped", ",x=a,,", "x=a", nil},
		{"sorted", "x=a,a=x", "a=x,x=a", nil},
		{"sorted as text", "a=1,a!=2", "a!=2,a=1", nil},
		{"blanks kept", "a = b", "a = b", []FieldRequirement{{"a ", Equals, " b"}}},
		{"multi-byte", "함=수,목=록", "목=록,함=수", nil},
		{"real fields", "metadata.name=web-1,status.phase!=Running", "metadata.name=web-1,status.phase!=Running", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseFieldSelector(tt.in)
			if err != nil {
				t.Fatalf("ParseFieldSelector(%q): %v", tt.in, err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if tt.reqs != nil && !reflect.DeepEqual(sel.Requirements(), tt.reqs) {
				t.Errorf("Requirements() = %#v, want %#v", sel.Requirements(), tt.reqs)
			}
			if sel.Empty() != (tt.want == "") {
				t.Errorf("Empty() = %v", sel.Empty())
			}
			again, err := ParseFieldSelector(sel.String())
			if err != nil || !reflect.DeepEqual(again, sel) {
				t.Errorf("round trip: %#v, %v; want %#v", again, err, sel)
			}
		})
	}
}

func TestParseFieldSelectorInvalid(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unescaped equals", "x=a||y=b", `invalid field selector: unescaped character in value: '='`},
		{"two operators", "x==a==b", `invalid field selector: unescaped character in value: '='`},
		{"bare word", "x=a,b", `invalid selector: 'x=a,b'; can't understand 'b'`},
		{"set syntax", "x in (a)", `invalid selector: 'x in (a)'; can't understand 'x in (a)'`},
		{"set syntax with commas", "x in (a,b,c)", `invalid selector: 'x in (a,b,c)'; can't understand 'b'`},
		{"exists syntax", "x", `invalid selector: 'x'; can't understand 'x'`},
		{"bad escape", `x=\a`, `invalid field selector: invalid escape sequence: \a`},
		{"trailing backslash", `x=a\`, `invalid field selector: invalid escape sequence: \`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseFieldSelector(tt.in)
			if err == nil {
				t.Fatalf("ParseFieldSelector(%q) = %q, want error", tt.in, sel)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestFieldSelectorMatches(t *testing.T) {
	fields := map[string]string{"foo": "bar", "baz": "blah", "complex": `=value\,\`}
	tests := []struct {
		sel  string
		set  map[string]string
		want bool
	}{
		{"", map[string]string{"x": "y"}, true},
		{"x=y", map[string]string{"x": "y"}, true},
		{"x=y,z=w", map[string]string{"x": "y", "z": "w"}, true},
		{"x!=y,z!=w", map[string]string{"x": "z", "z": "a"}, true},
		{"notin=in", map[string]string{"notin": "in"}, true},
		{"x=y", map[string]string{"x": "z"}, false},
		{"x=y,z=w", map[string]string{"x": "w", "z": "w"}, false},
		{"x!=y,z!=w", map[string]string{"x": "z", "z": "w"}, false},
		{"foo=bar", fields, true},
		{"foo=bar,baz=blah", fields, true},
		{`foo=bar,baz=blah,complex=\=value\\\,\\`, fields, true},
		{"foo=blah", fields, false},
		{"foo=bar,foobar=bar,baz=blah", fields, false},
		{"missing=", fields, true},
		{"missing!=x", fields, true},
		{"missing!=", fields, false},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := ParseFieldSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Matches(tt.set); got != tt.want {
				t.Errorf("Matches(%v) = %v, want %v", tt.set, got, tt.want)
			}
		})
	}
}

func TestFieldSelectorRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel, field, value string
		ok                bool
	}{
		{"", "test", "", false},
		{"a=b", "test", "", false},
		{"test=b", "test", "b", true},
		{"test==b", "test", "b", true},
		{"test=", "test", "", true},
		{"test!=b", "test", "", false},
		{"test!=b,test=c", "test", "c", true},
		{`test=a\,b`, "test", "a,b", true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := ParseFieldSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := sel.RequiresExactMatch(tt.field); v != tt.value || ok != tt.ok {
				t.Errorf("RequiresExactMatch(%q) = %q, %v", tt.field, v, ok)
			}
		})
	}
}

func TestFieldSelectorFromSet(t *testing.T) {
	var zero FieldSelector
	if !zero.Empty() || !zero.Matches(map[string]string{"a": "b"}) || zero.String() != "" {
		t.Errorf("zero FieldSelector is not Everything")
	}
	if !FieldSelectorFromSet(nil).Empty() {
		t.Errorf("FieldSelectorFromSet(nil) is not empty")
	}
	sel := FieldSelectorFromSet(map[string]string{"spec.nodeName": "n,1", "metadata.namespace": "default"})
	if got, want := sel.String(), `metadata.namespace=default,spec.nodeName=n\,1`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !sel.Matches(map[string]string{"spec.nodeName": "n,1", "metadata.namespace": "default", "x": "y"}) {
		t.Errorf("FieldSelectorFromSet does not match its own set")
	}
}

// TestFieldSelectorRandomRoundTrip escapes random values full of special
// characters and checks that parsing, printing and matching agree.
func TestFieldSelectorRandomRoundTrip(t *testing.T) {
	fields := []string{"metadata.name", "spec.nodeName", "status.phase"}
	const alphabet = `ab,=\!수 `
	rng := rand.New(rand.NewPCG(5, 6))
	randValue := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return strings.ToValidUTF8(b.String(), "?")
	}
	for i := range 3000 {
		var terms []string
		for range rng.IntN(4) {
			op := []string{"=", "==", "!="}[rng.IntN(3)]
			terms = append(terms, fields[rng.IntN(len(fields))]+op+EscapeFieldValue(randValue()))
		}
		in := strings.Join(terms, ",")
		sel, err := ParseFieldSelector(in)
		if err != nil {
			t.Fatalf("case %d: ParseFieldSelector(%q): %v", i, in, err)
		}
		// Terms sort by their text, as in Kubernetes, and "==" prints as
		// "=", so the order may change once; the terms may not.
		again, err := ParseFieldSelector(sel.String())
		if err != nil || !sameFieldRequirements(again.Requirements(), sel.Requirements()) {
			t.Fatalf("case %d: round trip of %q: %#v, %v", i, in, again, err)
		}
		if third, err := ParseFieldSelector(again.String()); err != nil || third.String() != again.String() {
			t.Fatalf("case %d: String() of %q is not stable: %q, %v", i, in, third, err)
		}
		for range 5 {
			obj := map[string]string{}
			for _, f := range fields {
				if rng.IntN(2) == 0 {
					obj[f] = randValue()
				}
			}
			want := true
			for _, r := range sel.Requirements() {
				want = want && (obj[r.Field] == r.Value) == (r.Operator == Equals)
			}
			if got := again.Matches(obj); got != want {
				t.Fatalf("case %d: %q.Matches(%v) = %v, want %v", i, sel, obj, got, want)
			}
		}
	}
}

func sameFieldRequirements(a, b []FieldRequirement) bool {
	key := func(r FieldRequirement) string { return r.Field + "\x00" + string(r.Operator) + "\x00" + r.Value }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func BenchmarkParseFieldSelector(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFieldSelector(`metadata.namespace=default,spec.nodeName=node-1,status.phase!=Succeeded`); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFieldSelectorMatches(b *testing.B) {
	sel, err := ParseFieldSelector(`metadata.namespace=default,spec.nodeName=node-1,status.phase!=Succeeded`)
	if err != nil {
		b.Fatal(err)
	}
	obj := map[string]string{"metadata.name": "web-1", "metadata.namespace": "default", "spec.nodeName": "node-1", "status.phase": "Running"}
	b.ReportAllocs()
	for b.Loop() {
		if !sel.Matches(obj) {
			b.Fatal("no match")
		}
	}
}
