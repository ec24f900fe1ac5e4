package api

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Quantity is a resource amount in Kubernetes' notation: "500m", "2", "128Mi", "1G", "1e3".
// It keeps the string it was given (so objects round-trip byte for byte) and its value in
// thousandths, which is what scheduling adds up.
type Quantity struct {
	s     string
	milli int64
}

// ParseQuantity parses s, or fails with a message that says what is accepted.
func ParseQuantity(s string) (Quantity, error) {
	m, err := parseMilli(s)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{s: s, milli: m}, nil
}

// MustParseQuantity is ParseQuantity for constants; it panics on a bad literal.
func MustParseQuantity(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return q
}

// NewMilliQuantity makes a quantity of m thousandths ("250m").
func NewMilliQuantity(m int64) Quantity {
	if m%1000 == 0 {
		return Quantity{s: fmt.Sprint(m / 1000), milli: m}
	}
	return Quantity{s: fmt.Sprintf("%dm", m), milli: m}
}

// NewQuantity makes a quantity of v units, in binary suffixes when v is a multiple of 1Ki.
func NewQuantity(v int64) Quantity {
	s := fmt.Sprint(v)
	for _, u := range []struct {
		suf string
		n   int64
	}{{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if v != 0 && v%u.n == 0 {
			s = fmt.Sprintf("%d%s", v/u.n, u.suf)
			break
		}
	}
	return Quantity{s: s, milli: v * 1000}
}

// MilliValue is the quantity in thousandths of a unit (cpu in millicores).
func (q Quantity) MilliValue() int64 { return q.milli }

// Value is the quantity in whole units, rounded up (memory in bytes).
func (q Quantity) Value() int64 { return (q.milli + 999) / 1000 }

// IsZero reports whether q is zero or unset.
func (q Quantity) IsZero() bool { return q.milli == 0 }

// String is the quantity as written.
func (q Quantity) String() string {
	if q.s == "" {
		return "0"
	}
	return q.s
}

// MarshalJSON encodes the quantity as a JSON string.
func (q Quantity) MarshalJSON() ([]byte, error) { return quoteJSON(q.String()) }

// UnmarshalJSON accepts a JSON string or number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = unquoteJSON(b); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	v, err := ParseQuantity(s)
	if err != nil {
		return err
	}
	*q = v
	return nil
}

var quantitySuffixes = map[string]*big.Rat{
	"":   big.NewRat(1, 1),
	"m":  big.NewRat(1, 1000),
	"k":  big.NewRat(1e3, 1),
	"M":  big.NewRat(1e6, 1),
	"G":  big.NewRat(1e9, 1),
	"T":  big.NewRat(1e12, 1),
	"P":  big.NewRat(1e15, 1),
	"Ki": big.NewRat(1<<10, 1),
	"Mi": big.NewRat(1<<20, 1),
	"Gi": big.NewRat(1<<30, 1),
	"Ti": big.NewRat(1<<40, 1),
	"Pi": big.NewRat(1<<50, 1),
}

const quantityHelp = "must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (e.g. 500m, 2, 128Mi, 1G)"

// milliPerUnit is the value in thousandths of one unit of each suffix a whole number may take
// without big arithmetic; 0 for other suffixes.
func milliPerUnit(suffix string) int64 {
	switch suffix {
	case "m":
		return 1
	case "":
		return 1e3
	case "k":
		return 1e6
	case "M":
		return 1e9
	case "G":
		return 1e12
	case "T":
		return 1e15
	case "P":
		return 1e18
	case "Ki":
		return 1 << 10 * 1e3
	case "Mi":
		return 1 << 20 * 1e3
	case "Gi":
		return 1 << 30 * 1e3
	case "Ti":
		return 1 << 40 * 1e3
	case "Pi":
		return 1 << 50 * 1e3
	}
	return 0
}

// parseMilli parses s into thousandths. Whole numbers with a plain suffix ("500m", "2",
// "128Mi": what objects hold, and what every write decodes) take integer arithmetic; the rest,
// and anything near overflow, big.Rat.
func parseMilli(s string) (int64, error) {
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits > 0 && digits <= 18 {
		if unit := milliPerUnit(s[digits:]); unit > 0 {
			var v int64
			for _, c := range s[:digits] {
				v = v*10 + int64(c-'0')
			}
			if v <= math.MaxInt64/unit {
				return v * unit, nil
			}
		}
	}
	return parseMilliRat(s)
}

func parseMilliRat(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("quantity %q: %s", s, quantityHelp)
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, suf := s[:i], s[i:]
	if num == "" || num == "+" || num == "-" || strings.Count(num, ".") > 1 {
		return 0, fmt.Errorf("quantity %q: %s", s, quantityHelp)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("quantity %q: %s", s, quantityHelp)
	}
	if mul, ok := quantitySuffixes[suf]; ok {
		r.Mul(r, mul)
	} else if len(suf) > 1 && (suf[0] == 'e' || suf[0] == 'E') {
		var exp int
		if _, err := fmt.Sscanf(suf[1:], "%d", &exp); err != nil || exp > 18 || exp < -18 {
			return 0, fmt.Errorf("quantity %q: %s", s, quantityHelp)
		}
		r.Mul(r, new(big.Rat).SetFloat64(math.Pow10(exp)))
	} else {
		return 0, fmt.Errorf("quantity %q: unknown suffix %q: %s", s, suf, quantityHelp)
	}
	r.Mul(r, big.NewRat(1000, 1))
	// Round up, as Kubernetes does for milli values.
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if new(big.Rat).SetInt(n).Cmp(r) < 0 {
		n.Add(n, big.NewInt(1))
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("quantity %q: too large", s)
	}
	return n.Int64(), nil
}

// IntOrString is a number or a string, as in maxSurge ("25%" or 1) or targetPort (8080 or "http").
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

// FromInt makes an IntOrString holding i.
func FromInt(i int32) IntOrString { return IntOrString{IntVal: i} }

// FromString makes an IntOrString holding s.
func FromString(s string) IntOrString { return IntOrString{IsString: true, StrVal: s} }

// IsZero reports whether the value is unset (0 or "").
func (v IntOrString) IsZero() bool {
	return !v.IsString && v.IntVal == 0 || v.IsString && v.StrVal == ""
}

// String is the value as text.
func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return fmt.Sprint(v.IntVal)
}

// MarshalJSON encodes a JSON number or string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return quoteJSON(v.StrVal)
	}
	return strconv.AppendInt(nil, int64(v.IntVal), 10), nil
}

// UnmarshalJSON accepts a JSON number or string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsString = true
		v.IntVal = 0
		s, err := unquoteJSON(b)
		v.StrVal = s
		return err
	}
	v.IsString = false
	v.StrVal = ""
	return json.Unmarshal(b, &v.IntVal)
}

// ScaledValue resolves a percentage against total (rounding up when roundUp, else down), or
// returns the integer. It fails on a string that is not a percentage.
func (v IntOrString) ScaledValue(total int, roundUp bool) (int, error) {
	if !v.IsString {
		return int(v.IntVal), nil
	}
	p, ok := strings.CutSuffix(v.StrVal, "%")
	var pct int
	if _, err := fmt.Sscanf(p, "%d", &pct); !ok || err != nil || fmt.Sprint(pct) != p {
		return 0, fmt.Errorf("invalid value %q: must be an integer or a percentage (e.g. '25%%')", v.StrVal)
	}
	if roundUp {
		return int(math.Ceil(float64(pct) * float64(total) / 100)), nil
	}
	return int(math.Floor(float64(pct) * float64(total) / 100)), nil
}
