package labels

import (
	"reflect"
	"strings"
	"testing"
)

// labelValueMsg is Kubernetes' message for a bad label value.
const labelValueMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " +
	"and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', " +
	"regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in, want string
		reqs           []Requirement // nil: not checked
	}{
		{"empty", "", "", nil},
		{"blanks only", " \t\r\n", "", nil},
		{"equals", "x=a,y=b,z=c", "x=a,y=b,z=c", nil},
		{"not equals", "x!=a,y=b", "x!=a,y=b", nil},
		{"double equals", "x==a", "x==a", []Requirement{{"x", DoubleEquals, []string{"a"}}}},
		{"empty value", "x=", "x=", []Requirement{{"x", Equals, []string{""}}}},
		{"empty value then blank", "x= ", "x=", nil},
		{"two empty values", "x=,z= ", "x=,z=", nil},
		{"blank empty values", "x= ,z= ", "x=,z=", nil},
		{"empty not equals", "x!=", "x!=", []Requirement{{"x", NotEquals, []string{""}}}},
		{"does not exist", "!x", "!x", []Requirement{{"x", DoesNotExist, nil}}},
		{"exists", "x", "x", []Requirement{{"x", Exists, nil}}},
		{"exists trailing blank", "a ", "a", nil},
		{"leading carriage return", "\rx", "x", nil},
		{"greater", "x>1", "x>1", []Requirement{{"x", GreaterThan, []string{"1"}}}},
		{"greater and less", "x>1,z<5", "x>1,z<5", nil},
		{"in", "x in (abc,def)", "x in (abc,def)", []Requirement{{"x", In, []string{"abc", "def"}}}},
		{"in sorted and deduplicated", "x in (b,a,b)", "x in (a,b)", []Requirement{{"x", In, []string{"a", "b"}}}},
		{"in trailing comma", "x in (abc,)", "x in (,abc)", []Requirement{{"x", In, []string{"", "abc"}}}},
		{"in leading comma", "x notin (, a)", "x notin (,a)", []Requirement{{"x", NotIn, []string{"", "a"}}}},
		{"in double comma", "x in (a,,b)", "x in (,a,b)", nil},
		{"in empty", "x in ()", "x in ()", []Requirement{{"x", In, []string{""}}}},
		{"notin blank", "x notin ( )", "x notin ()", nil},
		{"in tabs", "foo  in\t (abc)", "foo in (abc)", nil},
		{"notin newline", "x notin\n (abc)", "x notin (abc)", nil},
		{"notin mixed blanks", "x  notin\t\t\t(abc,def)", "x notin (abc,def)", nil},
		{"no blank before paren", "x in(a)", "x in (a)", nil},
		{"sorted by key", "x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()", nil},
		{"exists and in", "x,y in (a)", "x,y in (a)", nil},
		{"keywords as values", "a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)", nil},
		{"keywords as key and value", "in in (in),notin=notin", "in in (in),notin=notin", nil},
		{"keyword key exists", "in,!notin", "in,!notin", nil},
		{"prefixed key", "this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash", nil},
		{"prefixed key in", "this-is-another-dns.domain.com/key-with-dash in (so,what)",
			"this-is-another-dns.domain.com/key-with-dash in (so,what)", nil},
		{"dotted values", "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
			"0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)", nil},
		{"same key twice", "x=a,x!=b", "x=a,x!=b", []Requirement{{"x", Equals, []string{"a"}}, {"x", NotEquals, []string{"b"}}}},
		{"deterministic order", "z=1,a=2", "a=2,z=1", nil},
		{"full grammar", "a=b,c!=d,e in (x,y),f notin (z),g,!h", "a=b,c!=d,e in (x,y),f notin (z),g,!h", nil},
		{"NUL ends a token", "x=a\x00", "x=a", nil},
		{"NUL inside a word splits it", "x\x00=a", "x=a", nil},
		{"NUL ends the input", "x=a,y\x00 \x00garbage(", "x=a,y", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			if tt.reqs != nil && !reflect.DeepEqual(sel.Requirements(), tt.reqs) {
				t.Errorf("Parse(%q).Requirements() = %#v, want %#v", tt.in, sel.Requirements(), tt.reqs)
			}
			if sel.Empty() != (tt.want == "") {
				t.Errorf("Parse(%q).Empty() = %v", tt.in, sel.Empty())
			}
			again, err := Parse(sel.String())
			if err != nil {
				t.Fatalf("Parse(%q) of String(): %v", sel.String(), err)
			}
			if !reflect.DeepEqual(again.Requirements(), sel.Requirements()) {
				t.Errorf("round trip of %q: %#v, want %#v", tt.in, again.Requirements(), sel.Requirements())
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	const req = "unable to parse requirement: "
	const ops = "expected: in, notin, =, ==, !=, gt, lt"
	tests := []struct{ name, in, want string }{
		{"bad value", "x=a||y=b", req + `values[0][x]: Invalid value: "a||y": ` + labelValueMsg},
		{"double operator", "x==a==b", "found '==', expected: ',' or 'end of string'"},
		{"not with value", "!x=a", "found '=', expected: ',' or 'end of string'"},
		{"not in", "!x in (a)", "found 'in', expected: ',' or 'end of string'"},
		{"less than word", "x<a", req + `values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`},
		{"negative is not a label value", "x<-7", req + `values[0][x]: Invalid value: "-7": ` + labelValueMsg},
		{"greater than empty", "x>", req + `values[0]: Invalid value: "": for 'Gt', 'Lt' operators, the value must be an integer`},
		{"trailing comma", "x,", "found '', expected: identifier after ','"},
		{"trailing comma after set", "a in (xyz),", "found '', expected: identifier after ','"},
		{"comma after comma", "x,,y", "found ',', expected: identifier after ','"},
		{"leading comma", ",x,y", "found ',', expected: !, identifier, or 'end of string'"},
		{"open paren", "(", "found '(', expected: !, identifier, or 'end of string'"},
		{"unknown operator", "x nott in (y)", req + "found 'nott', " + ops},
		{"paren after key", "a (", req + "found '(', " + ops},
		{"missing comma in set", "a in (xyz abc)", req + "found 'abc', expected: ',' or ')'"},
		{"unclosed set", "a notin(", req + "found '', expected: ',', ')' or identifier"},
		{"set without parens", "x in a", req + "found 'a' expected: '('"},
		{"set then word", "a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"},
		{"only commas in set", "x in (,,)", req + "found ')', expected: ',', or identifier"},
		{"operator in set", "x in (a=b)", req + "found '=', expected: ',' or ')'"},
		{"paren as value", "x=(", req + "found '(', expected: identifier"},
		{"bare not", "!", req + "found '', expected: identifier"},
		{"double not", "!!x", req + "found '!', expected: identifier"},
		{"triple equals", "x===a", req + "found '=', expected: identifier"},
		{"two slashes", "a/b/c", req + `<nil>: Invalid value: "a/b/c": a valid label key must consist of alphanumeric characters, '-', '_' or '.', ` +
			"and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " +
			"regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
		{"long key", strings.Repeat("k", 64) + "=v", req + `<nil>: Invalid value: "` + strings.Repeat("k", 64) + `": name part must be no more than 63 bytes`},
		{"bad prefix", "Example.com/x", req + `<nil>: Invalid value: "Example.com/x": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', ` +
			"and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
		{"long value", "x=" + strings.Repeat("v", 64), req + `values[0][x]: Invalid value: "` + strings.Repeat("v", 64) + `": must be no more than 63 bytes`},
		{"bad value in set", "x in (a,-b)", req + `values[0][x]: Invalid value: "-b": ` + labelValueMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error %q", tt.in, sel, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestLexer(t *testing.T) {
	tests := []struct {
		in   string
		want []tokenKind
	}{
		{"", nil},
		{"key in ( value )", []tokenKind{tokIdent, tokIn, tokOpen, tokIdent, tokClose}},
		{"key notin ( value1, value2 )", []tokenKind{tokIdent, tokNotIn, tokOpen, tokIdent, tokComma, tokIdent, tokClose}},
		{"!key", []tokenKind{tokNot, tokIdent}},
		{"== != (), = notin", []tokenKind{tokDoubleEquals, tokNotEquals, tokOpen, tokClose, tokComma, tokEquals, tokNotIn}},
		{"key>2<1", []tokenKind{tokIdent, tokGreater, tokIdent, tokLess, tokIdent}},
		{"!==", []tokenKind{tokNotEquals, tokEquals}},
		{"=!", []tokenKind{tokEquals, tokNot}},
		{"~ ||", []tokenKind{tokIdent, tokIdent}},
		{"a\x00b", []tokenKind{tokIdent, tokIdent}},
		{"a \x00b", []tokenKind{tokIdent}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l := lexer{s: tt.in}
			var got []tokenKind
			for tok := l.next(); tok.kind != tokEOS; tok = l.next() {
				got = append(got, tok.kind)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lex(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
