package labels

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestNewRequirement(t *testing.T) {
	tests := []struct {
		name string
		key  string
		op   Operator
		vals []string
		want string // "" means valid
	}{
		{"in", "x", In, []string{"foo"}, ""},
		{"notin", "x", NotIn, []string{"foo"}, ""},
		{"exists", "x", Exists, nil, ""},
		{"does not exist", "x", DoesNotExist, nil, ""},
		{"digit key", "1foo", In, []string{"bar"}, ""},
		{"numeric key", "1234", In, []string{"bar"}, ""},
		{"greater", "y", GreaterThan, []string{"1"}, ""},
		{"less", "z", LessThan, []string{"6"}, ""},
		{"empty value", "x", Equals, []string{""}, ""},
		{"in nil", "x", In, nil, `values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty`},
		{"notin empty", "x", NotIn, []string{}, `values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`},
		{"equals two", "x", Equals, []string{"a", "b"}, `values: Invalid value: ["a","b"]: exact-match compatibility requires one single value`},
		{"exists with value", "x", Exists, []string{"a"}, `values: Invalid value: ["a"]: values set must be empty for exists and does not exist`},
		{"greater word", "foo", GreaterThan, []string{"bar"}, `values[0]: Invalid value: "bar": for 'Gt', 'Lt' operators, the value must be an integer`},
		{"less two", "z", LessThan, []string{"1", "2"}, `values: Invalid value: ["1","2"]: for 'Gt', 'Lt' operators, exactly one value is required`},
		{"bad operator", "x", Operator("like"), []string{"a"},
			`operator: Unsupported value: "like": supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"`},
		{"long key", strings.Repeat("a", 254), Exists, nil,
			`key: Invalid value: "` + strings.Repeat("a", 254) + `": name part must be no more than 63 bytes`},
		{"bad value", "x", In, []string{"ok", "not ok"}, `values[1][x]: Invalid value: "not ok": ` + labelValueMsg},
		{"several problems", "", In, nil, "[key: Invalid value: \"\": name part must be non-empty; name part " +
			RegexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc") +
			", values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRequirement(tt.key, tt.op, tt.vals)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewRequirement: %v", err)
				}
				if r.Key != tt.key || r.Operator != tt.op || !slices.Equal(r.Values, tt.vals) {
					t.Errorf("NewRequirement = %#v", r)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewRequirement = %#v, want error %q", r, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestNewRequirementCopiesValues(t *testing.T) {
	vals := []string{"a", "b"}
	r, err := NewRequirement("x", In, vals)
	if err != nil {
		t.Fatal(err)
	}
	vals[0] = "z"
	if r.Values[0] != "a" {
		t.Errorf("requirement shares the caller's slice: %v", r.Values)
	}
}

func TestSelectorMatches(t *testing.T) {
	labels := Set{"foo": "bar", "baz": "blah", "n": "5", "e": ""}
	tests := []struct {
		sel  string
		set  Set
		want bool
	}{
		{"", Set{"x": "y"}, true},
		{"", nil, true},
		{"x=y", Set{"x": "y"}, true},
		{"x=y,z=w", Set{"x": "y", "z": "w"}, true},
		{"x!=y,z!=w", Set{"x": "z", "z": "a"}, true},
		{"notin=in", Set{"notin": "in"}, true},
		{"x", Set{"x": "z"}, true},
		{"!x", Set{"y": "z"}, true},
		{"x>1", Set{"x": "2"}, true},
		{"x<1", Set{"x": "0"}, true},
		{"x=z", Set{}, false},
		{"x=y", Set{"x": "z"}, false},
		{"x=y,z=w", Set{"x": "w", "z": "w"}, false},
		{"x!=y,z!=w", Set{"x": "z", "z": "w"}, false},
		{"x", Set{"y": "z"}, false},
		{"!x", Set{"x": "z"}, false},
		{"x>1", Set{"x": "0"}, false},
		{"x<1", Set{"x": "2"}, false},
		{"x>1", Set{"x": "v2"}, false},
		{"x>1", Set{}, false},
		{"x<1", Set{}, false},
		{"foo=bar", labels, true},
		{"baz=blah", labels, true},
		{"foo=bar,baz=blah", labels, true},
		{"foo=blah", labels, false},
		{"baz=bar", labels, false},
		{"foo=bar,foobar=bar,baz=blah", labels, false},
		{"foo in (bar,x)", labels, true},
		{"foo in (x)", labels, false},
		{"foo notin (x)", labels, true},
		{"foo notin (bar)", labels, false},
		{"missing notin (bar)", labels, true},
		{"missing!=bar", labels, true},
		{"missing in ()", labels, false},
		{"e in ()", labels, true},
		{"e=", labels, true},
		{"e", labels, true},
		{"e notin ()", labels, false},
		{"x notin (),y", Set{"y": ""}, true},
		{"!x,y", Set{"y": ""}, true},
		{"x notin (),!y", Set{"y": ""}, false},
		{"n>4,n<6", labels, true},
		{"n>5", labels, false},
		{"n>0", labels, true},
		{"n<9223372036854775807", labels, true},
		{"big>1", Set{"big": "99999999999999999999"}, false}, // out of int64: no match
	}
	for _, tt := range tests {
		t.Run(tt.sel+" "+tt.set.String(), func(t *testing.T) {
			sel, err := Parse(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Matches(tt.set); got != tt.want {
				t.Errorf("Parse(%q).Matches(%v) = %v, want %v", tt.sel, tt.set, got, tt.want)
			}
		})
	}
}

func TestHandMadeRequirementsMatchNothingOdd(t *testing.T) {
	set := Set{"x": "1"}
	for _, r := range []Requirement{
		{},
		{Key: "x", Operator: "like", Values: []string{"1"}},
		{Key: "x", Operator: GreaterThan},
		{Key: "x", Operator: LessThan, Values: []string{"nine"}},
	} {
		if r.Matches(set) {
			t.Errorf("%#v matches %v", r, set)
		}
	}
}

func TestEverythingAndNothing(t *testing.T) {
	all, none := Everything(), Nothing()
	if !all.Matches(Set{"x": "y"}) || !all.Matches(nil) || !all.Empty() || all.String() != "" || all.Requirements() != nil {
		t.Errorf("Everything() misbehaves")
	}
	if none.Matches(Set{"x": "y"}) || none.Matches(nil) || none.Empty() || none.String() != "" || none.Requirements() != nil {
		t.Errorf("Nothing() misbehaves")
	}
	if _, ok := none.RequiresExactMatch("x"); ok {
		t.Errorf("Nothing().RequiresExactMatch found a value")
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name string
		set  Set
		want string
	}{
		{"nil", nil, ""},
		{"empty", Set{}, ""},
		{"one", Set{"a": "b"}, "a=b"},
		{"sorted", Set{"c": "d", "a": "b"}, "a=b,c=d"},
		// Kubernetes sorts whole "k=v" strings: '.' sorts before '='.
		{"sorted as strings", Set{"a": "1", "a.b": "2"}, "a.b=2,a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			sel := tt.set.AsSelector()
			if sel.Empty() != (len(tt.set) == 0) {
				t.Errorf("AsSelector().Empty() = %v", sel.Empty())
			}
			if !sel.Matches(tt.set) {
				t.Errorf("AsSelector() does not match its own set")
			}
		})
	}
}

func TestSelectorFromSet(t *testing.T) {
	set := Set{"foo": "bar", "baz": "blah"}
	for _, tt := range []struct {
		sel  Set
		want bool
	}{
		{Set{}, true},
		{Set{"foo": "bar"}, true},
		{Set{"baz": "blah"}, true},
		{Set{"foo": "bar", "baz": "blah"}, true},
		{Set{"foo": "=blah"}, false},
		{Set{"foo": "bar", "foobar": "bar"}, false},
	} {
		if got := SelectorFromSet(tt.sel).Matches(set); got != tt.want {
			t.Errorf("SelectorFromSet(%v).Matches(%v) = %v", tt.sel, set, got)
		}
		if got := SelectorFromValidatedSet(tt.sel).Matches(set); got != tt.want {
			t.Errorf("SelectorFromValidatedSet(%v).Matches(%v) = %v", tt.sel, set, got)
		}
	}
	if got := SelectorFromSet(Set{"b": "2", "a": "1"}).String(); got != "a=1,b=2" {
		t.Errorf("SelectorFromSet String() = %q", got)
	}
	if _, err := ValidatedSelectorFromSet(Set{"ok": "fine", "b": "bad value"}); err == nil ||
		!strings.HasPrefix(err.Error(), `values[0][b]: Invalid value: "bad value": `) {
		t.Errorf("ValidatedSelectorFromSet error = %v", err)
	}
	sel, err := ValidatedSelectorFromSet(Set{"b": "2", "a": "1"})
	if err != nil || sel.String() != "a=1,b=2" {
		t.Errorf("ValidatedSelectorFromSet = %v, %v", sel, err)
	}
}

func TestFromMatch(t *testing.T) {
	tests := []struct {
		name    string
		labels  map[string]string
		exprs   []MatchExpression
		want    string // String() of the selector, or the error
		wantErr bool
	}{
		{"nothing given", nil, nil, "", false},
		{"labels", map[string]string{"app": "web", "tier": "fe"}, nil, "app=web,tier=fe", false},
		{"expressions", nil, []MatchExpression{
			{Key: "env", Operator: "In", Values: []string{"prod", "dev"}},
			{Key: "canary", Operator: "DoesNotExist"},
			{Key: "zone", Operator: "NotIn", Values: []string{"z1"}},
			{Key: "app", Operator: "Exists"},
		}, "app,!canary,env in (dev,prod),zone notin (z1)", false},
		{"both", map[string]string{"app": "web"}, []MatchExpression{{Key: "app", Operator: "Exists"}}, "app=web,app", false},
		{"lowercase operator", nil, []MatchExpression{{Key: "a", Operator: "in", Values: []string{"x"}}},
			`"in" is not a valid label selector operator`, true},
		{"equals operator", nil, []MatchExpression{{Key: "a", Operator: "Equals", Values: []string{"x"}}},
			`"Equals" is not a valid label selector operator`, true},
		{"in without values", nil, []MatchExpression{{Key: "a", Operator: "In", Values: []string{}}},
			`values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty`, true},
		{"exists with values", nil, []MatchExpression{{Key: "a", Operator: "Exists", Values: []string{"x"}}},
			`values: Invalid value: ["x"]: values set must be empty for exists and does not exist`, true},
		{"bad key", nil, []MatchExpression{{Key: "-a", Operator: "Exists"}},
			`key: Invalid value: "-a": name part ` + RegexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc"), true},
		{"bad label value", map[string]string{"a": "ok", "b": "no way"}, nil,
			`values[0][b]: Invalid value: "no way": ` + labelValueMsg, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := FromMatch(tt.labels, tt.exprs)
			if tt.wantErr {
				if err == nil || err.Error() != tt.want {
					t.Errorf("FromMatch error\n got: %v\nwant: %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("FromMatch String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel, label, value string
		ok                bool
	}{
		{"", "x", "", false},
		{"x=a", "x", "a", true},
		{"x==a", "x", "a", true},
		{"x=", "x", "", true},
		{"x in (a)", "x", "a", true},
		{"x in (a,b)", "x", "", false},
		{"x!=a", "x", "", false},
		{"x", "x", "", false},
		{"y=a", "x", "", false},
		{"y=a,x=b", "x", "b", true},
		// Only the first requirement on the label counts, as in Kubernetes.
		{"x notin (a),x=b", "x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := Parse(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := sel.RequiresExactMatch(tt.label)
			if v != tt.value || ok != tt.ok {
				t.Errorf("RequiresExactMatch(%q) = %q, %v; want %q, %v", tt.label, v, ok, tt.value, tt.ok)
			}
		})
	}
}

func TestRequirementsAreACopy(t *testing.T) {
	sel, err := Parse("a=1,b=2")
	if err != nil {
		t.Fatal(err)
	}
	reqs := sel.Requirements()
	reqs[0] = Requirement{Key: "zzz", Operator: Exists}
	if sel.String() != "a=1,b=2" {
		t.Errorf("modifying Requirements() changed the selector: %q", sel)
	}
}

func TestNewSelectorSortsStably(t *testing.T) {
	sel := NewSelector(
		Requirement{Key: "b", Operator: Exists},
		Requirement{Key: "a", Operator: NotEquals, Values: []string{"2"}},
		Requirement{Key: "a", Operator: Equals, Values: []string{"1"}},
	)
	if got, want := sel.String(), "a!=2,a=1,b"; got != want {
		t.Errorf("NewSelector String() = %q, want %q", got, want)
	}
	if !NewSelector().Empty() {
		t.Errorf("NewSelector() is not empty")
	}
}

func TestRequirementStringSortsWithoutMutating(t *testing.T) {
	r := Requirement{Key: "x", Operator: In, Values: []string{"b", "a"}}
	if got := r.String(); got != "x in (a,b)" {
		t.Errorf("String() = %q", got)
	}
	if r.Values[0] != "b" {
		t.Errorf("String() sorted the requirement's values in place")
	}
}

// Pools for random selectors: keys include the keywords, values include
// integers for gt/lt and the empty value.
var (
	randKeys   = []string{"a", "b", "in", "notin", "example.com/c", "x.y-z_w"}
	randValues = []string{"", "v", "w", "in", "notin", "1", "-3", "10", "v.2_x-y"}
	randOps    = []Operator{Equals, DoubleEquals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan}
)

func randomRequirement(rng *rand.Rand) Requirement {
	for {
		key := randKeys[rng.IntN(len(randKeys))]
		op := randOps[rng.IntN(len(randOps))]
		var vals []string
		switch op {
		case In, NotIn:
			n := 1 + rng.IntN(3)
			for range n {
				vals = append(vals, randValues[rng.IntN(len(randValues))])
			}
			vals = uniqueSorted(vals)
		case Exists, DoesNotExist:
		default:
			vals = []string{randValues[rng.IntN(len(randValues))]}
		}
		if r, err := NewRequirement(key, op, vals); err == nil {
			return r
		}
		// gt/lt with a non-integer: draw again.
	}
}

func randomSelector(rng *rand.Rand) Selector {
	reqs := make([]Requirement, rng.IntN(5))
	for i := range reqs {
		reqs[i] = randomRequirement(rng)
	}
	return NewSelector(reqs...)
}

func randomSet(rng *rand.Rand) Set {
	set := Set{}
	for _, k := range randKeys {
		if rng.IntN(2) == 0 {
			set[k] = randValues[rng.IntN(len(randValues))]
		}
	}
	return set
}

// plainMatches is the obvious reading of each operator, held against
// Selector.Matches.
func plainMatches(reqs []Requirement, set Set) bool {
	for _, r := range reqs {
		v, has := set[r.Key]
		in := false
		for _, x := range r.Values {
			in = in || x == v
		}
		var ok bool
		switch r.Operator {
		case Equals, DoubleEquals, In:
			ok = has && in
		case NotEquals, NotIn:
			ok = !has || !in
		case Exists:
			ok = has
		case DoesNotExist:
			ok = !has
		case GreaterThan, LessThan:
			a, errA := strconv.Atoi(v)
			b, errB := strconv.Atoi(r.Values[0])
			ok = has && errA == nil && errB == nil && (r.Operator == GreaterThan && a > b || r.Operator == LessThan && a < b)
		}
		if !ok {
			return false
		}
	}
	return true
}

func TestRandomRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		sel := randomSelector(rng)
		again, err := Parse(sel.String())
		if err != nil {
			t.Fatalf("case %d: Parse(%q): %v", i, sel, err)
		}
		if !reflect.DeepEqual(again.Requirements(), sel.Requirements()) {
			t.Fatalf("case %d: Parse(%q) = %#v, want %#v", i, sel, again.Requirements(), sel.Requirements())
		}
		if again.String() != sel.String() {
			t.Fatalf("case %d: String() changed from %q to %q", i, sel, again)
		}
		for range 10 {
			set := randomSet(rng)
			want := sel.Matches(set)
			if got := again.Matches(set); got != want {
				t.Fatalf("case %d: Parse(%q).Matches(%v) = %v, want %v", i, sel, set, got, want)
			}
			if got := plainMatches(sel.Requirements(), set); got != want {
				t.Fatalf("case %d: %q.Matches(%v) = %v, plain reading says %v", i, sel, set, want, got)
			}
		}
	}
}

// TestParseNeverPanics feeds Parse random strings over the selector
// alphabet; every outcome must be a selector or an error.
func TestParseNeverPanics(t *testing.T) {
	const alphabet = "ab1-_./=!(),<> \t\x00in"
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 0, 24)
	for range 50000 {
		buf = buf[:0]
		for range rng.IntN(24) {
			buf = append(buf, alphabet[rng.IntN(len(alphabet))])
		}
		sel, err := Parse(string(buf))
		if err == nil {
			if _, err := Parse(sel.String()); err != nil {
				t.Fatalf("Parse(%q) gave %q which does not parse: %v", buf, sel, err)
			}
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{
		"app=web",
		"app=web,tier!=db,env in (prod,stage),!canary,release",
		"example.com/team in (a,b,c,d,e,f,g,h),app.kubernetes.io/name=frontend,version>3",
	} {
		b.Run(strconv.Itoa(len(in)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMatches(b *testing.B) {
	set := Set{
		"app": "web", "tier": "frontend", "env": "prod", "release": "42",
		"app.kubernetes.io/name": "frontend", "pod-template-hash": "7d9f8c6b5",
	}
	for _, in := range []string{
		"app=web",
		"app=web,tier!=db,env in (prod,stage),!canary,release",
		"release>40,release<50",
	} {
		sel, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strconv.Itoa(len(in)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !sel.Matches(set) {
					b.Fatal("no match")
				}
			}
		})
	}
	b.Run("SetSelector", func(b *testing.B) {
		sel := Set{"app": "web", "tier": "frontend"}.AsSelector()
		b.ReportAllocs()
		for b.Loop() {
			if !sel.Matches(set) {
				b.Fatal("no match")
			}
		}
	})
}

// TestConcurrentUse shares selectors between goroutines; under -race it
// shows that reading a selector never writes to it.
func TestConcurrentUse(t *testing.T) {
	sel, err := Parse("app=web,env in (prod,dev),!canary,release>3")
	if err != nil {
		t.Fatal(err)
	}
	unsorted := NewSelector(Requirement{Key: "x", Operator: NotIn, Values: []string{"b", "a"}})
	fsel, err := ParseFieldSelector(`spec.nodeName=n1,status.phase!=Failed`)
	if err != nil {
		t.Fatal(err)
	}
	set := Set{"app": "web", "env": "prod", "release": "4"}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 2000 {
				if !sel.Matches(set) || sel.String() == "" || len(sel.Requirements()) != 4 {
					t.Error("selector changed under concurrent use")
					return
				}
				if _, ok := sel.RequiresExactMatch("app"); !ok {
					t.Error("lost exact match")
					return
				}
				if unsorted.String() != "x notin (a,b)" {
					t.Error("unsorted selector printed wrongly")
					return
				}
				if !fsel.Matches(map[string]string{"spec.nodeName": "n1"}) || fsel.String() == "" {
					t.Error("field selector changed under concurrent use")
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}
