package labels

import (
	"fmt"
	"slices"
	"strings"
)

// The label selector grammar, as Kubernetes' labels.Parse reads it:
//
//	<selector>    ::= <requirement> | <requirement> "," <selector>
//	<requirement> ::= [!] KEY [ <set-based> | <exact-match> | <compare> ]
//	<set-based>   ::= ( "in" | "notin" ) "(" VALUE { "," VALUE } ")"
//	<exact-match> ::= ( "=" | "==" | "!=" ) VALUE
//	<compare>     ::= ( ">" | "<" ) INTEGER
//
// KEY must be a qualified name and VALUE a label value (possibly empty).
// Blanks (' ', '\t', '\r', '\n') separate tokens and are otherwise ignored.
// "in" and "notin" are keywords only where an operator is expected. Like
// Kubernetes' lexer, a NUL byte ends the token it appears in, and ends the
// input where a token would start.

type tokenKind int

const (
	tokEOS tokenKind = iota
	tokIdent
	tokComma
	tokOpen
	tokClose
	tokNot
	tokEquals
	tokDoubleEquals
	tokNotEquals
	tokGreater
	tokLess
	tokIn
	tokNotIn
)

type token struct {
	kind tokenKind
	lit  string
}

// symbolToken maps the operator and punctuation spellings to tokens.
func symbolToken(s string) (tokenKind, bool) {
	switch s {
	case ",":
		return tokComma, true
	case "(":
		return tokOpen, true
	case ")":
		return tokClose, true
	case "!":
		return tokNot, true
	case "=":
		return tokEquals, true
	case "==":
		return tokDoubleEquals, true
	case "!=":
		return tokNotEquals, true
	case ">":
		return tokGreater, true
	case "<":
		return tokLess, true
	}
	return tokEOS, false
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSymbol(c byte) bool {
	switch c {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

// lexer turns a selector into tokens. read returns 0 at the end of input,
// which is why a NUL byte in the input behaves as an end marker.
type lexer struct {
	s    string
	pos  int
	done bool // an end token was returned; everything after it is ignored
}

func (l *lexer) read() byte {
	if l.pos < len(l.s) {
		c := l.s[l.pos]
		l.pos++
		return c
	}
	return 0
}

func (l *lexer) unread() { l.pos-- }

func (l *lexer) next() token {
	if l.done {
		return token{tokEOS, ""}
	}
	c := l.read()
	for isBlank(c) {
		c = l.read()
	}
	switch {
	case c == 0:
		l.done = true
		return token{tokEOS, ""}
	case isSymbol(c):
		l.unread()
		return l.symbol()
	default:
		l.unread()
		return l.word()
	}
}

// symbol reads the longest run of symbol characters that spells a token.
func (l *lexer) symbol() token {
	start := l.pos
	best := token{tokEOS, ""}
	found := false
	for {
		c := l.read()
		if c == 0 {
			break
		}
		if !isSymbol(c) {
			l.unread()
			break
		}
		lit := l.s[start:l.pos]
		if k, ok := symbolToken(lit); ok {
			best, found = token{k, lit}, true
		} else if found {
			l.unread()
			break
		}
	}
	return best
}

// word reads an identifier or the keywords "in" and "notin".
func (l *lexer) word() token {
	start, end := l.pos, l.pos
	for {
		c := l.read()
		if c == 0 {
			break
		}
		if isSymbol(c) || isBlank(c) {
			l.unread()
			end = l.pos
			break
		}
		end = l.pos
	}
	lit := l.s[start:end]
	switch lit {
	case "in":
		return token{tokIn, lit}
	case "notin":
		return token{tokNotIn, lit}
	}
	return token{tokIdent, lit}
}

// context says whether "in" and "notin" are keywords (where an operator may
// appear) or plain identifiers (keys and values).
type context int

const (
	keyAndOperator context = iota
	valuesContext
)

// parser reads tokens with one token of look-ahead.
type parser struct {
	lex    lexer
	next   token
	peeked bool
}

func (p *parser) peek(ctx context) token {
	if !p.peeked {
		p.next, p.peeked = p.lex.next(), true
	}
	t := p.next
	if ctx == valuesContext && (t.kind == tokIn || t.kind == tokNotIn) {
		t.kind = tokIdent
	}
	return t
}

func (p *parser) consume(ctx context) token {
	t := p.peek(ctx)
	p.peeked = false
	return t
}

// Parse parses a label selector in Kubernetes syntax, e.g.
// "app=web,tier!=db,env in (prod,stage),!canary,release". The empty string
// gives Everything. Requirements are sorted by key; set values are sorted and
// de-duplicated. Errors are worded as Kubernetes words them, e.g.
// "unable to parse requirement: found '(', expected: identifier" or
// "found 'b', expected: ',' or 'end of string'".
func Parse(s string) (Selector, error) {
	p := parser{lex: lexer{s: s}}
	reqs, err := p.parse(1 + strings.Count(s, ","))
	if err != nil {
		return nil, err
	}
	sortByKey(reqs)
	return selector(reqs), nil
}

// parse reads requirements until the end of input; size is a hint.
func (p *parser) parse(size int) ([]Requirement, error) {
	reqs := make([]Requirement, 0, size)
	for {
		t := p.peek(valuesContext)
		switch t.kind {
		case tokIdent, tokNot:
			r, err := p.requirement()
			if err != nil {
				return nil, fmt.Errorf("unable to parse requirement: %w", err)
			}
			reqs = append(reqs, r)
			t := p.consume(valuesContext)
			switch t.kind {
			case tokEOS:
				return reqs, nil
			case tokComma:
				if t2 := p.peek(valuesContext); t2.kind != tokIdent && t2.kind != tokNot {
					return nil, fmt.Errorf("found '%s', expected: identifier after ','", t2.lit)
				}
			default:
				return nil, fmt.Errorf("found '%s', expected: ',' or 'end of string'", t.lit)
			}
		case tokEOS:
			if len(reqs) == 0 {
				return nil, nil
			}
			return reqs, nil
		default:
			return nil, fmt.Errorf("found '%s', expected: !, identifier, or 'end of string'", t.lit)
		}
	}
}

func (p *parser) requirement() (Requirement, error) {
	key, op, err := p.keyAndInferredOperator()
	if err != nil {
		return Requirement{}, err
	}
	if op == Exists || op == DoesNotExist {
		return NewRequirement(key, op, nil)
	}
	op, err = p.operator()
	if err != nil {
		return Requirement{}, err
	}
	var vals []string
	switch op {
	case In, NotIn:
		vals, err = p.setValues()
	default:
		vals, err = p.exactValue()
	}
	if err != nil {
		return Requirement{}, err
	}
	return NewRequirement(key, op, vals)
}

// keyAndInferredOperator reads "[!] KEY". It returns DoesNotExist after '!',
// Exists when KEY ends the requirement, and "" when an operator follows.
func (p *parser) keyAndInferredOperator() (string, Operator, error) {
	var op Operator
	t := p.consume(valuesContext)
	if t.kind == tokNot {
		op = DoesNotExist
		t = p.consume(valuesContext)
	}
	if t.kind != tokIdent {
		return "", "", fmt.Errorf("found '%s', expected: identifier", t.lit)
	}
	if msgs := IsQualifiedName(t.lit); len(msgs) != 0 {
		// Kubernetes validates the key here with a nil field path.
		return "", "", invalid("<nil>", t.lit, strings.Join(msgs, "; "))
	}
	if next := p.peek(valuesContext); next.kind == tokEOS || next.kind == tokComma {
		if op != DoesNotExist {
			op = Exists
		}
	}
	return t.lit, op, nil
}

func (p *parser) operator() (Operator, error) {
	t := p.consume(keyAndOperator)
	switch t.kind {
	case tokIn:
		return In, nil
	case tokNotIn:
		return NotIn, nil
	case tokEquals:
		return Equals, nil
	case tokDoubleEquals:
		return DoubleEquals, nil
	case tokNotEquals:
		return NotEquals, nil
	case tokGreater:
		return GreaterThan, nil
	case tokLess:
		return LessThan, nil
	}
	return "", fmt.Errorf("found '%s', expected: in, notin, =, ==, !=, gt, lt", t.lit)
}

// setValues reads "(v1,v2,...)" and returns the values sorted and
// de-duplicated. Empty entries are the empty value: "()" is {""}.
func (p *parser) setValues() ([]string, error) {
	t := p.consume(valuesContext)
	if t.kind != tokOpen {
		return nil, fmt.Errorf("found '%s' expected: '('", t.lit)
	}
	t = p.peek(valuesContext)
	switch t.kind {
	case tokIdent, tokComma:
		vals, err := p.valueList()
		if err != nil {
			return nil, err
		}
		if c := p.consume(valuesContext); c.kind != tokClose {
			return nil, fmt.Errorf("found '%s', expected: ')'", t.lit)
		}
		return uniqueSorted(vals), nil
	case tokClose:
		p.consume(valuesContext)
		return []string{""}, nil
	}
	return nil, fmt.Errorf("found '%s', expected: ',', ')' or identifier", t.lit)
}

// valueList reads comma-separated, possibly empty values up to (not
// including) ')', following Kubernetes' treatment of empty entries.
func (p *parser) valueList() ([]string, error) {
	var vals []string
	for {
		t := p.consume(valuesContext)
		switch t.kind {
		case tokIdent:
			vals = append(vals, t.lit)
			switch next := p.peek(valuesContext); next.kind {
			case tokComma:
				continue
			case tokClose:
				return vals, nil
			default:
				return nil, fmt.Errorf("found '%s', expected: ',' or ')'", next.lit)
			}
		case tokComma:
			if len(vals) == 0 {
				vals = append(vals, "") // "(,"
			}
			switch next := p.peek(valuesContext); next.kind {
			case tokClose:
				return append(vals, ""), nil // ",)"
			case tokComma:
				p.consume(valuesContext)
				vals = append(vals, "") // ",,"
			}
		default:
			return nil, fmt.Errorf("found '%s', expected: ',', or identifier", t.lit)
		}
	}
}

// exactValue reads the single, possibly empty, value after =, ==, !=, > or <.
func (p *parser) exactValue() ([]string, error) {
	if t := p.peek(valuesContext); t.kind == tokEOS || t.kind == tokComma {
		return []string{""}, nil
	}
	t := p.consume(valuesContext)
	if t.kind == tokIdent {
		return []string{t.lit}, nil
	}
	return nil, fmt.Errorf("found '%s', expected: identifier", t.lit)
}

func uniqueSorted(vals []string) []string {
	slices.Sort(vals)
	return slices.Compact(vals)
}
