package api

import (
	"encoding/json"
	"io"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Why go-json-experiment: JSON decoding was a quarter of the CPU of `wk bench scheduler`
// (clients' watch decoding, the API server's strict decoding of requests and its decoding of
// stored objects). github.com/go-json-experiment/json is the upstream of Go's encoding/json/v2
// (in Go 1.26 still behind GOEXPERIMENT=jsonv2), kept by the Go team's JSON maintainers; its v1
// options reproduce encoding/json, so decoding keeps encoding/json's meaning while a pod with
// managedFields decodes in half the time with half the allocations. Encoding stays with
// encoding/json: it is as fast. When encoding/json/v2 leaves GOEXPERIMENT, the imports change
// and nothing else.

// Unmarshal decodes data into v with encoding/json's semantics: field names match without
// regard to case, unknown fields are ignored, a duplicate name's last value wins, invalid
// UTF-8 is replaced, and UnmarshalJSON methods are called as encoding/json calls them. It is
// encoding/json.Unmarshal, faster. Its errors are go-json-experiment's v1 errors
// (*jsonv1.SyntaxError, *jsonv1.UnmarshalTypeError), not encoding/json's types, so callers
// should only wrap and print them. It is safe for concurrent use.
func Unmarshal(data []byte, v any) error { return jsonv1.Unmarshal(data, v) }

// NewStreamDecoder returns a decoder of the JSON values read from r, one after another with
// optional whitespace between them (a watch stream), set up for UnmarshalDecode.
func NewStreamDecoder(r io.Reader) *jsontext.Decoder {
	return jsontext.NewDecoder(r, jsonv1.DefaultOptionsV1())
}

// UnmarshalDecode decodes the next JSON value read by dec into v with Unmarshal's semantics.
// dec must come from NewStreamDecoder. Unlike a decode of the value's bytes, the value is
// scanned once, straight from the stream.
func UnmarshalDecode(dec *jsontext.Decoder, v any) error { return jsonv2.UnmarshalDecode(dec, v) }

// strictOptions are the fast path of Decoder.Decode: encoding/json's semantics, except that an
// unknown field is an error and names match exactly (as the walk of the slow path matches
// them; Kubernetes is case-sensitive), and that the first error ends decoding, where
// encoding/json's error semantics first scan the whole document for syntax and then decode on
// past a type error. That last change only makes more documents fail, and a failure falls back
// to the slow path, which reports the errors as ever.
var strictOptions = jsonv2.JoinOptions(
	jsonv1.DefaultOptionsV1(),
	jsonv1.ReportErrorsWithLegacySemantics(false),
	jsonv2.RejectUnknownMembers(true),
	jsonv2.MatchCaseInsensitiveNames(false),
)

// unquoteJSON decodes the JSON string b: directly when it is printable ASCII without escapes,
// which is all the API writes for quantities, times and the like, else with encoding/json
// (escapes, invalid input and its errors).
func unquoteJSON(b []byte) (string, error) {
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && plainJSON(b[1:n-1]) {
		return string(b[1 : n-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// quoteJSON encodes s as a JSON string: directly when it is printable ASCII that needs no
// escape in encoding/json's output (which also escapes <, > and &), else with encoding/json.
func quoteJSON(s string) ([]byte, error) {
	if plainJSON([]byte(s)) && !strings.ContainsAny(s, "<>&") {
		b := make([]byte, 0, len(s)+2)
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), nil
	}
	return json.Marshal(s)
}

// plainJSON reports whether b is printable ASCII with no quote or backslash: the same inside a
// JSON string as outside it.
func plainJSON(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
