// Package patch owns the patch formats the API server accepts and the
// field ownership that server-side apply keeps in metadata.managedFields.
//
// It works on JSON documents as bytes in and bytes out. Inside, documents are
// decoded as encoding/json with UseNumber decodes them (read with
// go-json-experiment's tokenizer where it agrees, see decode.go), so integers
// such as generation or replicas keep their exact text; numbers compare by
// value, not by spelling.
// Output objects are encoded by encoding/json, so their keys are sorted.
//
// It owns:
//   - Merge: JSON merge patch (RFC 7386, application/merge-patch+json);
//   - JSON: JSON patch (RFC 6902, application/json-patch+json);
//   - Strategic: Kubernetes' strategic merge patch
//     (application/strategic-merge-patch+json) with its directives;
//   - the schema facts both need: which list fields merge by which key
//     (ListRule);
//   - server-side apply (Apply) and the field ownership of other writes
//     (RecordUpdate), in Kubernetes' FieldsV1 encoding.
//
// It does not know the API types, validate objects, check resourceVersion
// preconditions or talk to storage: the API server does, and turns the errors
// here into Status responses (ErrMalformed: 400, ErrInvalid: 422,
// ErrConflict: 409). Every function is pure and safe for concurrent use.
package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// ErrMalformed reports a patch or document that is not JSON of the expected
// shape (the API server answers 400 Bad Request).
var ErrMalformed = errors.New("malformed patch or document")

// ErrInvalid reports a well-formed patch that cannot be applied: a failed JSON
// patch test, a missing path, an unknown or misused directive, a list element
// without its merge key (the API server answers 422 Unprocessable Entity).
var ErrInvalid = errors.New("patch cannot be applied")

// MaxJSONPatchOperations bounds the operations of one JSON patch, as
// Kubernetes does.
const MaxJSONPatchOperations = 10000

// maxCopyBytes bounds what JSON patch "copy" operations may duplicate in one
// patch, so a small patch cannot blow up a document. It is above the largest
// object etcd accepts (1.5 MiB).
const maxCopyBytes = 4 << 20

// Merge applies a JSON merge patch (RFC 7386) to original and returns the
// result. An empty original is taken as {}. As the RFC says, a patch that is
// not an object replaces the document. Errors wrap ErrMalformed.
func Merge(original, patch []byte) ([]byte, error) {
	if len(bytes.TrimSpace(original)) == 0 {
		original = []byte("{}")
	}
	if !json.Valid(original) {
		return nil, fmt.Errorf("apply merge patch: document is not JSON: %w", ErrMalformed)
	}
	if !json.Valid(patch) {
		return nil, fmt.Errorf("apply merge patch: patch is not JSON: %w", ErrMalformed)
	}
	out, err := jsonpatch.MergePatch(original, patch)
	if err != nil {
		return nil, fmt.Errorf("apply merge patch: %w: %w", ErrMalformed, err)
	}
	return out, nil
}

// JSON applies a JSON patch (RFC 6902) to original and returns the result. An
// empty original is taken as {}. A patch that does not decode wraps
// ErrMalformed; an operation that fails (a "test" that does not hold, a path
// that does not exist) wraps ErrInvalid and names the operation by its
// position, op and path.
func JSON(original, patch []byte) ([]byte, error) {
	if len(bytes.TrimSpace(original)) == 0 {
		original = []byte("{}")
	}
	if !json.Valid(original) {
		return nil, fmt.Errorf("apply json patch: document is not JSON: %w", ErrMalformed)
	}
	ops, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, fmt.Errorf("apply json patch: %w: %w", ErrMalformed, err)
	}
	if len(ops) > MaxJSONPatchOperations {
		return nil, fmt.Errorf("apply json patch: %d operations, at most %d allowed: %w",
			len(ops), MaxJSONPatchOperations, ErrInvalid)
	}
	opts := jsonPatchOptions()
	out, err := ops.ApplyWithOptions(original, opts)
	if err == nil {
		return out, nil
	}
	// Only on failure, replay one operation at a time to name the culprit.
	doc := original
	for i, op := range ops {
		next, opErr := jsonpatch.Patch{op}.ApplyWithOptions(doc, opts)
		if opErr != nil {
			return nil, fmt.Errorf("apply json patch: operation %d of %d (%s): %w: %w",
				i+1, len(ops), describeOp(op), ErrInvalid, opErr)
		}
		doc = next
	}
	// The copy limit counts over the whole patch, so it can fail only together.
	return nil, fmt.Errorf("apply json patch: %w: %w", ErrInvalid, err)
}

func jsonPatchOptions() *jsonpatch.ApplyOptions {
	opts := jsonpatch.NewApplyOptions()
	opts.AccumulatedCopySizeLimit = maxCopyBytes
	return opts
}

func describeOp(op jsonpatch.Operation) string {
	path, err := op.Path()
	if err != nil {
		path = "?"
	}
	s := op.Kind() + " " + path
	if from, err := op.From(); err == nil {
		s += " from " + from
	}
	return s
}

// decodeObject decodes a JSON object with UseNumber. Empty input is {}.
func decodeObject(b []byte, what string) (map[string]any, error) {
	return decodeObjectWith(decodeValue, b, what)
}

// decodeObjectWith is decodeObject with the value decoder given.
func decodeObjectWith(decode func([]byte) (any, error), b []byte, what string) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	v, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w: %w", what, ErrMalformed, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode %s: not a JSON object: %w", what, ErrMalformed)
	}
	return m, nil
}

// decodeValue decodes one JSON value with UseNumber and rejects trailing data.
func decodeValue(b []byte) (any, error) {
	if v, ok := fastDecode(b); ok {
		return v, nil
	}
	return decodeValueStd(b)
}

// decodeValueStd is decodeValue through encoding/json alone: for what
// fastDecode leaves, and as the reference it is tested against.
func decodeValueStd(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}
