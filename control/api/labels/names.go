package labels

import (
	"net"
	"strconv"
	"strings"
)

// The validation functions below return Kubernetes' messages for a bad
// value; an empty result means the value is valid. The regular expressions
// quoted in the messages are Kubernetes'; the checks are written out by hand
// (and tested against those expressions) because selectors validate every
// key and value they parse.

// Maximum lengths, in bytes, as Kubernetes counts them.
const (
	DNS1123LabelMaxLength     = 63
	DNS1123SubdomainMaxLength = 253
	DNS1035LabelMaxLength     = 63
	LabelValueMaxLength       = 63
	qualifiedNameMaxLength    = 63
	portNameMaxLength         = 15
)

const (
	dns1123LabelFmt     = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dns1123LabelErrMsg  = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
	dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
	dns1123SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
	dns1035LabelFmt     = "[a-z]([-a-z0-9]*[a-z0-9])?"
	dns1035LabelErrMsg  = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
	qualifiedNameFmt    = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
	qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	labelValueFmt       = "(" + qualifiedNameFmt + ")?"
	labelValueErrMsg    = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	percentFmt          = "[0-9]+%"
	percentErrMsg       = "a valid percent string must be a numeric string followed by an ending '%'"
	cIdentifierFmt      = "[A-Za-z_][A-Za-z0-9_]*"
	cIdentifierErrMsg   = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'"
	envVarNameFmt       = "[-._a-zA-Z][-._a-zA-Z0-9]*"
	envVarNameErrMsg    = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"
	configMapKeyFmt     = "[-._a-zA-Z0-9]+"
	configMapKeyErrMsg  = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
	httpHeaderNameFmt   = "[-A-Za-z0-9]+"
	httpHeaderNameMsg   = "a valid HTTP header must consist of alphanumeric characters or '-'"
)

// MaxLenError returns Kubernetes' message for a value longer than length
// bytes.
func MaxLenError(length int) string {
	return "must be no more than " + strconv.Itoa(length) + " bytes"
}

// RegexError returns Kubernetes' message for a value that does not match the
// regular expression re, with examples of good values.
func RegexError(msg, re string, examples ...string) string {
	if len(examples) == 0 {
		return msg + " (regex used for validation is '" + re + "')"
	}
	var b strings.Builder
	b.WriteString(msg)
	b.WriteString(" (e.g. ")
	for i, e := range examples {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString("'" + e + "', ")
	}
	b.WriteString("regex used for validation is '" + re + "')")
	return b.String()
}

// EmptyError returns Kubernetes' message for an empty value.
func EmptyError() string { return "must be non-empty" }

// InclusiveRangeError returns Kubernetes' message for a number outside
// [lo, hi].
func InclusiveRangeError(lo, hi int) string {
	return "must be between " + strconv.Itoa(lo) + " and " + strconv.Itoa(hi) + ", inclusive"
}

func isLower(c byte) bool    { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool    { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool    { return isLower(c) || isUpper(c) }
func isAlphaNum(c byte) bool { return isAlpha(c) || isDigit(c) }

// isDNSLabel matches dns1123LabelFmt.
func isDNSLabel(s string) bool {
	if s == "" || !isLower(s[0]) && !isDigit(s[0]) {
		return false
	}
	last := s[len(s)-1]
	if !isLower(last) && !isDigit(last) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isLower(c) && !isDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

// isDNSSubdomain matches dns1123SubdomainFmt.
func isDNSSubdomain(s string) bool {
	for {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return isDNSLabel(s)
		}
		if !isDNSLabel(s[:i]) {
			return false
		}
		s = s[i+1:]
	}
}

// isQualifiedNamePart matches qualifiedNameFmt.
func isQualifiedNamePart(s string) bool {
	if s == "" || !isAlphaNum(s[0]) || !isAlphaNum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlphaNum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// IsDNS1123Label checks a lowercase RFC 1123 label, such as a namespace or a
// Service name: at most 63 bytes of [a-z0-9-], starting and ending with an
// alphanumeric.
func IsDNS1123Label(value string) []string {
	var errs []string
	if len(value) > DNS1123LabelMaxLength {
		errs = append(errs, MaxLenError(DNS1123LabelMaxLength))
	}
	if !isDNSLabel(value) {
		if isDNSSubdomain(value) {
			errs = append(errs, "must not contain dots")
		} else {
			errs = append(errs, RegexError(dns1123LabelErrMsg, dns1123LabelFmt, "my-name", "123-abc"))
		}
	}
	return errs
}

// IsDNS1123Subdomain checks a lowercase RFC 1123 subdomain, the rule for most
// object names: at most 253 bytes of dot-separated DNS labels.
func IsDNS1123Subdomain(value string) []string {
	var errs []string
	if len(value) > DNS1123SubdomainMaxLength {
		errs = append(errs, MaxLenError(DNS1123SubdomainMaxLength))
	}
	if !isDNSSubdomain(value) {
		errs = append(errs, RegexError(dns1123SubdomainMsg, dns1123SubdomainFmt, "example.com"))
	}
	return errs
}

// IsDNS1035Label checks an RFC 1035 label, the rule for Service names: like
// IsDNS1123Label but starting with a letter.
func IsDNS1035Label(value string) []string {
	var errs []string
	if len(value) > DNS1035LabelMaxLength {
		errs = append(errs, MaxLenError(DNS1035LabelMaxLength))
	}
	if !(isDNSLabel(value) && isLower(value[0])) {
		errs = append(errs, RegexError(dns1035LabelErrMsg, dns1035LabelFmt, "my-name", "abc-123"))
	}
	return errs
}

// IsQualifiedName checks a label key (also annotation keys, finalizers and
// other "qualified names"): an optional DNS subdomain prefix and '/', then a
// name of at most 63 bytes matching ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
func IsQualifiedName(value string) []string {
	var errs []string
	name := value
	switch strings.Count(value, "/") {
	case 0:
	case 1:
		var prefix string
		prefix, name, _ = strings.Cut(value, "/")
		if prefix == "" {
			errs = append(errs, "prefix part "+EmptyError())
		} else {
			for _, m := range IsDNS1123Subdomain(prefix) {
				errs = append(errs, "prefix part "+m)
			}
		}
	default:
		return append(errs, "a valid label key "+RegexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")+
			" with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
	}
	if name == "" {
		errs = append(errs, "name part "+EmptyError())
	} else if len(name) > qualifiedNameMaxLength {
		errs = append(errs, "name part "+MaxLenError(qualifiedNameMaxLength))
	}
	if !isQualifiedNamePart(name) {
		errs = append(errs, "name part "+RegexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc"))
	}
	return errs
}

// IsValidLabelValue checks a label value: empty, or at most 63 bytes
// matching ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
func IsValidLabelValue(value string) []string {
	var errs []string
	if len(value) > LabelValueMaxLength {
		errs = append(errs, MaxLenError(LabelValueMaxLength))
	}
	if value != "" && !isQualifiedNamePart(value) {
		errs = append(errs, RegexError(labelValueErrMsg, labelValueFmt, "MyValue", "my_value", "12345"))
	}
	return errs
}

// IsValidPortName checks an IANA service (port) name: 1 to 15 bytes of
// [-a-z0-9] with at least one letter, no leading, trailing or doubled '-'.
func IsValidPortName(port string) []string {
	var errs []string
	if len(port) > portNameMaxLength {
		errs = append(errs, MaxLenError(portNameMaxLength))
	}
	charset, letter := port != "", false
	for i := 0; i < len(port); i++ {
		c := port[i]
		if isLower(c) {
			letter = true
		} else if !isDigit(c) && c != '-' {
			charset = false
		}
	}
	if !charset {
		errs = append(errs, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
	}
	if !letter {
		errs = append(errs, "must contain at least one letter (a-z)")
	}
	if strings.Contains(port, "--") {
		errs = append(errs, "must not contain consecutive hyphens")
	}
	if port != "" && (port[0] == '-' || port[len(port)-1] == '-') {
		errs = append(errs, "must not begin or end with a hyphen")
	}
	return errs
}

// IsValidPortNum checks a port number in 1..65535.
func IsValidPortNum(port int) []string {
	if 1 <= port && port <= 65535 {
		return nil
	}
	return []string{InclusiveRangeError(1, 65535)}
}

// IsInRange checks that value lies in [lo, hi].
func IsInRange(value, lo, hi int) []string {
	if lo <= value && value <= hi {
		return nil
	}
	return []string{InclusiveRangeError(lo, hi)}
}

// IsValidIP checks an IPv4 or IPv6 address (no zone), accepting the legacy
// forms Kubernetes still accepts: IPv4 octets and IPv6 groups with leading
// zeros, such as "010.001.0.1".
func IsValidIP(value string) []string {
	if parseIPSloppy(value) == nil {
		return []string{"must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"}
	}
	return nil
}

// parseIPSloppy parses like Go 1.16's net.ParseIP (which Kubernetes keeps as
// netutils.ParseIPSloppy): leading zeros are allowed and read as decimal in
// IPv4 octets. Stripping them and using today's net.ParseIP is equivalent.
func parseIPSloppy(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	if !strings.Contains(s, "0") {
		return nil
	}
	groups := strings.Split(s, ":")
	for i, g := range groups {
		if strings.Contains(g, ".") {
			octets := strings.Split(g, ".")
			for j, o := range octets {
				octets[j] = stripZeros(o, isDigit)
			}
			groups[i] = strings.Join(octets, ".")
		} else {
			groups[i] = stripZeros(g, isHex)
		}
	}
	return net.ParseIP(strings.Join(groups, ":"))
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// stripZeros removes leading zeros from a non-empty run of digits, keeping
// at least one; anything else is returned unchanged.
func stripZeros(s string, digit func(byte) bool) string {
	if s == "" {
		return s
	}
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return s
		}
	}
	t := strings.TrimLeft(s, "0")
	if t == "" {
		return "0"
	}
	return t
}

// IsValidPercent checks a percentage such as "25%".
func IsValidPercent(percent string) []string {
	ok := len(percent) >= 2 && percent[len(percent)-1] == '%'
	for i := 0; ok && i < len(percent)-1; i++ {
		ok = isDigit(percent[i])
	}
	if !ok {
		return []string{RegexError(percentErrMsg, percentFmt, "1%", "93%")}
	}
	return nil
}

// IsCIdentifier checks a C identifier: [A-Za-z_][A-Za-z0-9_]*. It does not
// check length.
func IsCIdentifier(value string) []string {
	ok := value != "" && (isAlpha(value[0]) || value[0] == '_')
	for i := 1; ok && i < len(value); i++ {
		ok = isAlphaNum(value[i]) || value[i] == '_'
	}
	if !ok {
		return []string{RegexError(cIdentifierErrMsg, cIdentifierFmt, "my_name", "MY_NAME", "MyName")}
	}
	return nil
}

// IsEnvVarName checks an environment variable name as Kubernetes does:
// [-._a-zA-Z][-._a-zA-Z0-9]*, and not ".", ".." or starting with "..".
func IsEnvVarName(value string) []string {
	var errs []string
	ok := value != "" && (isAlpha(value[0]) || strings.IndexByte("-._", value[0]) >= 0)
	for i := 1; ok && i < len(value); i++ {
		ok = isAlphaNum(value[i]) || strings.IndexByte("-._", value[i]) >= 0
	}
	if !ok {
		errs = append(errs, RegexError(envVarNameErrMsg, envVarNameFmt, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
	}
	return append(errs, hasChDirPrefix(value)...)
}

// IsConfigMapKey checks a key of a ConfigMap or Secret: at most 253 bytes of
// [-._a-zA-Z0-9], and not ".", ".." or starting with "..".
func IsConfigMapKey(value string) []string {
	var errs []string
	if len(value) > DNS1123SubdomainMaxLength {
		errs = append(errs, MaxLenError(DNS1123SubdomainMaxLength))
	}
	ok := value != ""
	for i := 0; ok && i < len(value); i++ {
		ok = isAlphaNum(value[i]) || strings.IndexByte("-._", value[i]) >= 0
	}
	if !ok {
		errs = append(errs, RegexError(configMapKeyErrMsg, configMapKeyFmt, "key.name", "KEY_NAME", "key-name"))
	}
	return append(errs, hasChDirPrefix(value)...)
}

// IsHTTPHeaderName checks an HTTP header name as Kubernetes does:
// [-A-Za-z0-9]+.
func IsHTTPHeaderName(value string) []string {
	ok := value != ""
	for i := 0; ok && i < len(value); i++ {
		ok = isAlphaNum(value[i]) || value[i] == '-'
	}
	if !ok {
		return []string{RegexError(httpHeaderNameMsg, httpHeaderNameFmt, "X-Header-Name")}
	}
	return nil
}

func hasChDirPrefix(value string) []string {
	switch {
	case value == ".":
		return []string{"must not be '.'"}
	case value == "..":
		return []string{"must not be '..'"}
	case strings.HasPrefix(value, ".."):
		return []string{"must not start with '..'"}
	}
	return nil
}
