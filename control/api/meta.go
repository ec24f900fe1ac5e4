// Package api owns wasmkube's API objects: the Go types whose JSON is the wire format, their
// defaulting and validation, and the Status errors the API returns. It is a faithful subset of the
// Kubernetes API: a field that exists here is implemented; a field that does not exist here is
// rejected by strict decoding (422), never silently ignored. It does no I/O.
package api

import (
	"encoding/json"
	"time"
)

// TypeMeta is the kind and API version every object and list carries on the wire.
type TypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// GetTypeMeta returns the receiver, so every object satisfies Object through embedding.
func (t *TypeMeta) GetTypeMeta() *TypeMeta { return t }

// ObjectMeta is the metadata every persisted object has, as in Kubernetes.
type ObjectMeta struct {
	Name                       string               `json:"name,omitempty"`
	GenerateName               string               `json:"generateName,omitempty"`
	Namespace                  string               `json:"namespace,omitempty"`
	UID                        string               `json:"uid,omitempty"`
	ResourceVersion            string               `json:"resourceVersion,omitempty"`
	Generation                 int64                `json:"generation,omitempty"`
	CreationTimestamp          Time                 `json:"creationTimestamp,omitzero"`
	DeletionTimestamp          *Time                `json:"deletionTimestamp,omitzero"`
	DeletionGracePeriodSeconds *int64               `json:"deletionGracePeriodSeconds,omitempty"`
	Labels                     map[string]string    `json:"labels,omitempty"`
	Annotations                map[string]string    `json:"annotations,omitempty"`
	OwnerReferences            []OwnerReference     `json:"ownerReferences,omitempty"`
	Finalizers                 []string             `json:"finalizers,omitempty"`
	ManagedFields              []ManagedFieldsEntry `json:"managedFields,omitempty"`
	// SelfLink is deprecated in Kubernetes and never set; it is accepted (empty) so old clients
	// that echo it back are not refused.
	SelfLink string `json:"selfLink,omitempty"`
}

// GetObjectMeta returns the receiver, so every object satisfies Object through embedding.
func (m *ObjectMeta) GetObjectMeta() *ObjectMeta { return m }

// ManagedFieldsEntry records which manager owns which fields (server-side apply). FieldsV1 is
// kept as raw JSON in Kubernetes' FieldsV1 encoding.
type ManagedFieldsEntry struct {
	Manager     string          `json:"manager,omitempty"`
	Operation   string          `json:"operation,omitempty"`
	APIVersion  string          `json:"apiVersion,omitempty"`
	Time        *Time           `json:"time,omitzero"`
	FieldsType  string          `json:"fieldsType,omitempty"`
	FieldsV1    json.RawMessage `json:"fieldsV1,omitempty"`
	Subresource string          `json:"subresource,omitempty"`
}

// OwnerReference points from a dependent to its owner; the garbage collector deletes
// dependents whose owners are gone.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// ListMeta is the metadata of a list: the revision it is consistent at and paging state.
type ListMeta struct {
	ResourceVersion    string `json:"resourceVersion,omitempty"`
	Continue           string `json:"continue,omitempty"`
	RemainingItemCount *int64 `json:"remainingItemCount,omitempty"`
	SelfLink           string `json:"selfLink,omitempty"`
}

// LabelSelector selects objects by labels: all of matchLabels and all of matchExpressions.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one expression of a LabelSelector; Operator is In, NotIn, Exists
// or DoesNotExist.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Object is any persisted API object.
type Object interface {
	GetObjectMeta() *ObjectMeta
	GetTypeMeta() *TypeMeta
}

// Time is a timestamp with second precision that encodes as RFC 3339 and as null when zero,
// like Kubernetes' metav1.Time.
type Time struct{ time.Time }

// Now returns the current time truncated to seconds.
func Now() Time { return Time{time.Now().UTC().Truncate(time.Second)} }

// NewTime wraps t, truncated to seconds.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Second)} }

// MarshalJSON encodes t as RFC 3339 in UTC, or null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return appendQuotedTime(t.Time, time.RFC3339), nil
}

// UnmarshalJSON accepts RFC 3339 (with or without fractional seconds) or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	// Fast path for what the server writes, "2006-01-02T15:04:05Z": the general parser
	// (json.Unmarshal of the string, then time.Parse) showed in the write path's profile.
	// Anything else, including out-of-range fields, takes the general path and its errors.
	if len(b) == 22 && b[0] == '"' && b[5] == '-' && b[8] == '-' && b[11] == 'T' && b[14] == ':' && b[17] == ':' && b[20] == 'Z' && b[21] == '"' {
		num := func(i, n int) int {
			v := 0
			for _, c := range b[i : i+n] {
				if c < '0' || c > '9' {
					return -1
				}
				v = v*10 + int(c-'0')
			}
			return v
		}
		y, mo, d, h, mi, sec := num(1, 4), num(6, 2), num(9, 2), num(12, 2), num(15, 2), num(18, 2)
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60 {
			pt := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
			if pt.Day() == d { // not normalised past the month's end (Feb 30)
				t.Time = pt
				return nil
			}
		}
	}
	pt, err := parseTimestamp(b)
	t.Time = pt.Truncate(time.Second)
	return err
}

// parseTimestamp decodes a JSON RFC 3339 string, null or "" (the zero time), in UTC.
func parseTimestamp(b []byte) (time.Time, error) {
	if string(b) == "null" {
		return time.Time{}, nil
	}
	s, err := unquoteJSON(b)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	pt, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return pt.UTC(), nil
}

// MicroTime is a timestamp with microsecond precision, as used by Leases and Events.
type MicroTime struct{ time.Time }

// NewMicroTime wraps t, truncated to microseconds.
func NewMicroTime(t time.Time) MicroTime { return MicroTime{t.UTC().Truncate(time.Microsecond)} }

// MarshalJSON encodes t as RFC 3339 with six fractional digits, or null when zero.
func (t MicroTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return appendQuotedTime(t.Time, "2006-01-02T15:04:05.000000Z07:00"), nil
}

// appendQuotedTime is t in UTC in layout as a JSON string (the layouts here are plain ASCII).
func appendQuotedTime(t time.Time, layout string) []byte {
	b := make([]byte, 0, len(layout)+8)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, layout)
	return append(b, '"')
}

// UnmarshalJSON accepts RFC 3339 with any fractional precision, or null.
func (t *MicroTime) UnmarshalJSON(b []byte) error {
	pt, err := parseTimestamp(b)
	t.Time = pt.Truncate(time.Microsecond)
	return err
}

// ConditionStatus is "True", "False" or "Unknown".
type ConditionStatus string

// The three condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Ptr returns a pointer to v; API types use pointers for optional scalars.
func Ptr[T any](v T) *T { return &v }

// Deref returns *p, or def when p is nil.
func Deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// IsControlledBy reports whether obj's controller owner reference has the given UID.
func IsControlledBy(m *ObjectMeta, uid string) bool {
	c := ControllerOf(m)
	return c != nil && c.UID == uid
}

// ControllerOf returns the owner reference marked controller, or nil.
func ControllerOf(m *ObjectMeta) *OwnerReference {
	for i := range m.OwnerReferences {
		if r := &m.OwnerReferences[i]; r.Controller != nil && *r.Controller {
			return r
		}
	}
	return nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
