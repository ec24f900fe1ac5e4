package labels

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// checkValidator runs a validator over values Kubernetes' own tests accept
// and reject.
func checkValidator(t *testing.T, name string, fn func(string) []string, good, bad []string) {
	t.Helper()
	for _, v := range good {
		t.Run("good/"+v, func(t *testing.T) {
			if msgs := fn(v); len(msgs) != 0 {
				t.Errorf("%s(%q) = %q, want valid", name, v, msgs)
			}
		})
	}
	for _, v := range bad {
		t.Run("bad/"+v, func(t *testing.T) {
			if msgs := fn(v); len(msgs) == 0 {
				t.Errorf("%s(%q) is valid, want errors", name, v)
			}
		})
	}
}

func TestIsDNS1123Label(t *testing.T) {
	checkValidator(t, "IsDNS1123Label", IsDNS1123Label,
		[]string{"a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", strings.Repeat("a", 63)},
		[]string{"", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1",
			"_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2",
			" ", "a ", " a", "a b", "1 ", " 1", "1 2", strings.Repeat("a", 64), "a\n"})
}

func TestIsDNS1123Subdomain(t *testing.T) {
	checkValidator(t, "IsDNS1123Subdomain", IsDNS1123Subdomain,
		[]string{"a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
			"a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1", "a-1.1", "a--1--2--b.1",
			"0.a", "01.a", "012.a", "1a.a", "1-a.a", "0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1",
			"a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", strings.Repeat("a", 253)},
		[]string{"", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1",
			"_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2",
			" ", "a ", " a", "a b", "1 ", " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A",
			"A.1", "aB.1", "A1.1", "1A.1", "0.A", "01.A", "012.A", "1A.a", "1a.A",
			"A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee",
			"a@b", "a,b", "a;b", "a:b", "a%b", "a?b", "a$b", strings.Repeat("a", 254)})
}

func TestIsDNS1035Label(t *testing.T) {
	checkValidator(t, "IsDNS1035Label", IsDNS1035Label,
		[]string{"a", "ab", "abc", "a1", "a-1", "a--1--2--b", strings.Repeat("a", 63)},
		[]string{"0", "01", "012", "1a", "1-a", "1--a--b--2", "", "A", "ABC", "aBc", "A1", "A-1", "1-A",
			"-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b", "1_", "_1", "1_2",
			".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a", "a b", "1 ", " 1", "1 2", strings.Repeat("a", 64)})
}

func TestIsQualifiedName(t *testing.T) {
	checkValidator(t, "IsQualifiedName", IsQualifiedName,
		[]string{"simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple",
			"now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
			"1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123",
			"requests.storage-foo", strings.Repeat("a", 63), strings.Repeat("a", 253) + "/" + strings.Repeat("b", 63)},
		[]string{"nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash", "Example.com/abc",
			"example_com/abc", "example.com/", "/simple", strings.Repeat("a", 64), strings.Repeat("a", 254) + "/abc", ""})
}

func TestIsValidLabelValue(t *testing.T) {
	checkValidator(t, "IsValidLabelValue", IsValidLabelValue,
		[]string{"simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", strings.Repeat("a", 63), "", "Mixed_Case.ok"},
		[]string{"nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", `\backslashes\are\bad`, "-starts-with-dash",
			"ends-with-dash-", ".starts.with.dot", "ends.with.dot.", strings.Repeat("a", 64), "-7"})
}

func TestIsValidPortName(t *testing.T) {
	checkValidator(t, "IsValidPortName", IsValidPortName,
		[]string{"telnet", "re-mail-ck", "pop3", "a", "a-1", "1-a", "a-1-b-2-c", "1-a-2-b-3"},
		[]string{"longerthan15characters", "", strings.Repeat("a", 16), "12345", "1-2-3-4", "-begin", "end-", "two--hyphens", "whois++", "HTTP"})
}

func TestIsValidPercent(t *testing.T) {
	checkValidator(t, "IsValidPercent", IsValidPercent,
		[]string{"0%", "00000%", "1%", "01%", "99%", "100%", "101%"},
		[]string{"", "%", "0", "100", "0.0%", "99.9%", "hundred", " 1%", "1% ", "-0%", "-1%", "+1%"})
}

func TestIsHTTPHeaderName(t *testing.T) {
	checkValidator(t, "IsHTTPHeaderName", IsHTTPHeaderName,
		[]string{"Accept-Encoding", "Host", "If-Modified-Since", "X-Forwarded-For", "a", "-a", "a-", "--abc-123", "A--1--2--B"},
		[]string{"Host:", "X-Forwarded-For:", "X-@Home", "", "_", "a_", "a.b", " ", "a b", "#a#", "^", ",", ";", "=", "<", "?", "@", "{"})
}

func TestIsConfigMapKey(t *testing.T) {
	checkValidator(t, "IsConfigMapKey", IsConfigMapKey,
		[]string{"a", "good", "good-good", "still.good", "this.is.also.good", ".so.is.this", "THIS_IS_GOOD", "so_is_this_17"},
		[]string{".", "..", "..bad", "b*d", "bad!&bad", "", strings.Repeat("a", 254)})
}

func TestIsCIdentifier(t *testing.T) {
	checkValidator(t, "IsCIdentifier", IsCIdentifier,
		[]string{"a", "_", "_a1", "MY_NAME", "MyName", "my_name"},
		[]string{"", "1a", "a-b", "a.b", "a b", "é"})
}

func TestIsEnvVarName(t *testing.T) {
	checkValidator(t, "IsEnvVarName", IsEnvVarName,
		[]string{"A", "ABC", "AbC123", "_123", "abc", "a.b", "a-b", "-a", ".a", "a..b", "my.env-name", "MY_ENV.NAME", "MyEnvName1"},
		[]string{"", "1a", "a b", "a=b", "a:b", ".", "..", "..a", "é"})
}

func TestIsValidIP(t *testing.T) {
	checkValidator(t, "IsValidIP", IsValidIP,
		[]string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::ffff", "2001:DB8::FFFF",
			"::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4",
			// Legacy forms Kubernetes still accepts.
			"010.001.000.001", "0001.2.3.4", "::ffff:010.1.1.1", "00001::", "0:0:0:0:0:0:0:00000001"},
		[]string{"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "0256.1.1.1", "1.2.3.4/24", "fe80::1%eth0", "::g", "1::2::3",
			"0x1.1.1.1", " 1.2.3.4", "1.2.3.4 ", "1.2.3.-4", "1.2.3.+4", "10000::", "1:2:3:4:5:6:7:8:9", "a.b.c.d"})
}

func TestIsValidPortNum(t *testing.T) {
	for _, p := range []int{1, 2, 1000, 16384, 32768, 65535} {
		if msgs := IsValidPortNum(p); msgs != nil {
			t.Errorf("IsValidPortNum(%d) = %q", p, msgs)
		}
	}
	for _, p := range []int{0, -1, 65536, 100000} {
		if msgs := IsValidPortNum(p); !reflect.DeepEqual(msgs, []string{"must be between 1 and 65535, inclusive"}) {
			t.Errorf("IsValidPortNum(%d) = %q", p, msgs)
		}
	}
	if IsInRange(5, 5, 20) != nil || IsInRange(1, 2, 10) == nil {
		t.Errorf("IsInRange misbehaves")
	}
}

// TestMessages pins the exact wording Kubernetes uses.
func TestMessages(t *testing.T) {
	const (
		labelRe = "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
		nameRe  = "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
	)
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"subdomain", IsDNS1123Subdomain("A"), []string{"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
			"and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"}},
		{"subdomain too long", IsDNS1123Subdomain(strings.Repeat("a", 254)), []string{"must be no more than 253 bytes"}},
		{"label", IsDNS1123Label("a_b"), []string{"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " +
			"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', " + labelRe}},
		{"label with dots", IsDNS1123Label("a.b"), []string{"must not contain dots"}},
		{"label too long", IsDNS1123Label(strings.Repeat("a", 64)), []string{"must be no more than 63 bytes"}},
		{"label too long and bad", IsDNS1123Label(strings.Repeat("A", 64)), []string{"must be no more than 63 bytes",
			"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " +
				"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', " + labelRe}},
		{"1035", IsDNS1035Label("1a"), []string{"a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, " +
			"and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"}},
		{"qualified empty", IsQualifiedName(""), []string{"name part must be non-empty",
			"name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
				"(e.g. 'MyName',  or 'my.name',  or '123-abc', " + nameRe}},
		{"qualified empty prefix", IsQualifiedName("/a"), []string{"prefix part must be non-empty"}},
		{"qualified long", IsQualifiedName("a/" + strings.Repeat("b", 64)), []string{"name part must be no more than 63 bytes"}},
		{"qualified bad prefix", IsQualifiedName("a_b/c"), []string{"prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
			"and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"}},
		{"qualified slashes", IsQualifiedName("a/b/c"), []string{"a valid label key must consist of alphanumeric characters, '-', '_' or '.', " +
			"and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " + nameRe +
			" with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"}},
		{"label value", IsValidLabelValue("-a"), []string{labelValueMsg}},
		{"label value long", IsValidLabelValue(strings.Repeat("a", 64)), []string{"must be no more than 63 bytes"}},
		{"port name", IsValidPortName("-A--"), []string{"must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
			"must contain at least one letter (a-z)", "must not contain consecutive hyphens", "must not begin or end with a hyphen"}},
		{"port name long", IsValidPortName(strings.Repeat("a", 16)), []string{"must be no more than 15 bytes"}},
		{"ip", IsValidIP("x"), []string{"must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"}},
		{"percent", IsValidPercent("1"), []string{"a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"}},
		{"c identifier", IsCIdentifier("1"), []string{"a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_' " +
			"(e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for validation is '[A-Za-z_][A-Za-z0-9_]*')"}},
		{"env var", IsEnvVarName("1"), []string{"a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit " +
			"(e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"}},
		{"env var dots", IsEnvVarName(".."), []string{"must not be '..'"}},
		{"env var dot prefix", IsEnvVarName("..a"), []string{"must not start with '..'"}},
		{"config key", IsConfigMapKey("."), []string{"must not be '.'"}},
		{"config key chars", IsConfigMapKey("a b"), []string{"a valid config key must consist of alphanumeric characters, '-', '_' or '.' " +
			"(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"}},
		{"header", IsHTTPHeaderName("a b"), []string{"a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"}},
		{"regex without examples", []string{RegexError("bad", "x+")}, []string{"bad (regex used for validation is 'x+')"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("\n got: %q\nwant: %q", tt.got, tt.want)
			}
		})
	}
}

// TestMatchersAgainstRegexps holds each hand-written matcher against the
// regular expression Kubernetes validates with, over random strings drawn
// from an alphabet rich in edge characters.
func TestMatchersAgainstRegexps(t *testing.T) {
	anchored := func(re string) *regexp.Regexp { return regexp.MustCompile("^" + re + "$") }
	tests := []struct {
		name  string
		re    *regexp.Regexp
		valid func(string) bool
	}{
		{"dns1123 label", anchored(dns1123LabelFmt), isDNSLabel},
		{"dns1123 subdomain", anchored(dns1123SubdomainFmt), isDNSSubdomain},
		{"dns1035 label", anchored(dns1035LabelFmt), func(s string) bool { return isDNSLabel(s) && isLower(s[0]) }},
		{"qualified name part", anchored(qualifiedNameFmt), isQualifiedNamePart},
		{"label value", anchored(labelValueFmt), func(s string) bool { return s == "" || isQualifiedNamePart(s) }},
		{"percent", anchored(percentFmt), func(s string) bool { return IsValidPercent(s) == nil }},
		{"c identifier", anchored(cIdentifierFmt), func(s string) bool { return IsCIdentifier(s) == nil }},
		{"env var name", anchored(envVarNameFmt), func(s string) bool {
			return len(IsEnvVarName(s)) == len(hasChDirPrefix(s))
		}},
		{"config map key", anchored(configMapKeyFmt), func(s string) bool {
			return len(IsConfigMapKey(s)) == len(hasChDirPrefix(s))
		}},
		{"http header", anchored(httpHeaderNameFmt), func(s string) bool { return IsHTTPHeaderName(s) == nil }},
		{"port name charset", anchored("[-a-z0-9]+"), func(s string) bool {
			for _, m := range IsValidPortName(s) {
				if strings.HasPrefix(m, "must contain only") {
					return false
				}
			}
			return true
		}},
	}
	const alphabet = "aZz09-_.%/ \n@é"
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, 0, 12)
			for range 40000 {
				buf = buf[:0]
				for range rng.IntN(12) {
					buf = append(buf, alphabet[rng.IntN(len(alphabet))])
				}
				s := string(buf)
				if got, want := tt.valid(s), tt.re.MatchString(s); got != want {
					t.Fatalf("%q: matcher says %v, regexp %q says %v", s, got, tt.re, want)
				}
			}
		})
	}
}

func BenchmarkIsQualifiedName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if IsQualifiedName("app.kubernetes.io/name") != nil {
			b.Fatal("invalid")
		}
	}
}
