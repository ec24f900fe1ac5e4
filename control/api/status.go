package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Status is the API's result object for errors and for deletes, as in Kubernetes.
type Status struct {
	TypeMeta `json:",inline"`
	ListMeta `json:"metadata,omitempty"`
	Status   string         `json:"status,omitempty"`
	Message  string         `json:"message,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	Details  *StatusDetails `json:"details,omitempty"`
	Code     int32          `json:"code,omitempty"`
}

// StatusDetails names the object a Status is about and, for invalid objects, the causes.
type StatusDetails struct {
	Name              string        `json:"name,omitempty"`
	Group             string        `json:"group,omitempty"`
	Kind              string        `json:"kind,omitempty"`
	UID               string        `json:"uid,omitempty"`
	Causes            []StatusCause `json:"causes,omitempty"`
	RetryAfterSeconds int32         `json:"retryAfterSeconds,omitempty"`
}

// StatusCause is one reason an object was refused, with the field path it concerns.
type StatusCause struct {
	Type    string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// Status reasons, as Kubernetes spells them.
const (
	StatusSuccess = "Success"
	StatusFailure = "Failure"

	ReasonNotFound           = "NotFound"
	ReasonAlreadyExists      = "AlreadyExists"
	ReasonConflict           = "Conflict"
	ReasonInvalid            = "Invalid"
	ReasonBadRequest         = "BadRequest"
	ReasonUnauthorized       = "Unauthorized"
	ReasonForbidden          = "Forbidden"
	ReasonGone               = "Gone"
	ReasonExpired            = "Expired"
	ReasonMethodNotAllowed   = "MethodNotAllowed"
	ReasonNotAcceptable      = "NotAcceptable"
	ReasonUnsupportedMedia   = "UnsupportedMediaType"
	ReasonRequestEntityLarge = "RequestEntityTooLarge"
	ReasonInternalError      = "InternalError"
	ReasonTimeout            = "Timeout"
	ReasonServiceUnavailable = "ServiceUnavailable"
	ReasonTooManyRequests    = "TooManyRequests"
)

// StatusError is an error that carries the Status the API answers with. Callers branch on it
// with errors.As, or with the IsNotFound family.
type StatusError struct{ Status Status }

func (e *StatusError) Error() string { return e.Status.Message }

// NewStatusError builds a failure Status with the given HTTP code, reason and message.
func NewStatusError(code int, reason, message string) *StatusError {
	return &StatusError{Status{
		TypeMeta: TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   StatusFailure, Code: int32(code), Reason: reason, Message: message,
	}}
}

// GroupKind names a kind in a group; its String is Kubernetes' "Kind.group" qualified form
// ("Deployment.apps", or "Pod" for the core group).
type GroupKind struct{ Group, Kind string }

func (gk GroupKind) String() string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// GroupResource names a resource in a group ("deployments.apps", "pods").
type GroupResource struct{ Group, Resource string }

func (gr GroupResource) String() string {
	if gr.Group == "" {
		return gr.Resource
	}
	return gr.Resource + "." + gr.Group
}

func withDetails(e *StatusError, gr GroupResource, name string) *StatusError {
	e.Status.Details = &StatusDetails{Name: name, Group: gr.Group, Kind: gr.Resource}
	return e
}

// NotFound is the 404 for a missing object: `pods "web" not found`.
func NotFound(gr GroupResource, name string) *StatusError {
	return withDetails(NewStatusError(http.StatusNotFound, ReasonNotFound,
		fmt.Sprintf("%s %q not found", gr, name)), gr, name)
}

// AlreadyExists is the 409 for a create of an existing name.
func AlreadyExists(gr GroupResource, name string) *StatusError {
	return withDetails(NewStatusError(http.StatusConflict, ReasonAlreadyExists,
		fmt.Sprintf("%s %q already exists", gr, name)), gr, name)
}

// Conflict is the 409 for a write based on a stale resourceVersion.
func Conflict(gr GroupResource, name string, err error) *StatusError {
	return withDetails(NewStatusError(http.StatusConflict, ReasonConflict,
		fmt.Sprintf("Operation cannot be fulfilled on %s %q: %v", gr, name, err)), gr, name)
}

// Gone is the 410 for a watch or list from a compacted resourceVersion.
func Gone(message string) *StatusError {
	return NewStatusError(http.StatusGone, ReasonExpired, message)
}

// BadRequest is the 400 for a request the server cannot parse.
func BadRequest(message string) *StatusError {
	return NewStatusError(http.StatusBadRequest, ReasonBadRequest, message)
}

// Unauthorized is the 401 for a missing or wrong token.
func Unauthorized(message string) *StatusError {
	return NewStatusError(http.StatusUnauthorized, ReasonUnauthorized, message)
}

// MethodNotSupported is the 405 for a verb a resource does not have.
func MethodNotSupported(gr GroupResource, verb string) *StatusError {
	return NewStatusError(http.StatusMethodNotAllowed, ReasonMethodNotAllowed,
		fmt.Sprintf("%s is not supported on resources of kind %q", verb, gr.String()))
}

// TooLarge is the 413 for an object over the size limit.
func TooLarge(message string) *StatusError {
	return NewStatusError(http.StatusRequestEntityTooLarge, ReasonRequestEntityLarge, message)
}

// InternalError is the 500 for a failure that is the server's fault.
func InternalError(err error) *StatusError {
	return NewStatusError(http.StatusInternalServerError, ReasonInternalError,
		fmt.Sprintf("Internal error occurred: %v", err))
}

// Invalid is the 422 for an object that failed validation: its message lists every field
// error the way Kubernetes does, and its causes carry the field paths.
func Invalid(gk GroupKind, name string, errs FieldErrors) *StatusError {
	causes := make([]StatusCause, 0, len(errs))
	msgs := make([]string, 0, len(errs))
	for _, fe := range errs {
		causes = append(causes, StatusCause{Type: fe.Type, Message: fe.ErrorBody(), Field: fe.Field})
		msgs = append(msgs, fe.Error())
	}
	var msg string
	switch len(msgs) {
	case 0:
		msg = fmt.Sprintf("%s %q is invalid", gk, name)
	case 1:
		msg = fmt.Sprintf("%s %q is invalid: %s", gk, name, msgs[0])
	default:
		msg = fmt.Sprintf("%s %q is invalid: [%s]", gk, name, strings.Join(msgs, ", "))
	}
	e := NewStatusError(http.StatusUnprocessableEntity, ReasonInvalid, msg)
	e.Status.Details = &StatusDetails{Name: name, Group: gk.Group, Kind: gk.Kind, Causes: causes}
	return e
}

// ReasonOf returns the Status reason of err, or "" if err carries no Status.
func ReasonOf(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status.Reason
	}
	return ""
}

// CodeOf returns the HTTP code of err's Status, or 0.
func CodeOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return int(se.Status.Code)
	}
	return 0
}

// IsNotFound reports whether err is a 404 Status.
func IsNotFound(err error) bool { return ReasonOf(err) == ReasonNotFound }

// IsAlreadyExists reports whether err is a 409 AlreadyExists Status.
func IsAlreadyExists(err error) bool { return ReasonOf(err) == ReasonAlreadyExists }

// IsConflict reports whether err is a 409 Conflict Status.
func IsConflict(err error) bool { return ReasonOf(err) == ReasonConflict }

// IsInvalid reports whether err is a 422 Status.
func IsInvalid(err error) bool { return ReasonOf(err) == ReasonInvalid }

// IsGone reports whether err is a 410 Status (resourceVersion too old).
func IsGone(err error) bool { return CodeOf(err) == http.StatusGone }

// Field error types, as Kubernetes names them in Status causes.
const (
	FieldValueRequired     = "FieldValueRequired"
	FieldValueInvalid      = "FieldValueInvalid"
	FieldValueNotSupported = "FieldValueNotSupported"
	FieldValueDuplicate    = "FieldValueDuplicate"
	FieldValueForbidden    = "FieldValueForbidden"
	FieldValueTooLong      = "FieldValueTooLong"
	FieldValueTypeInvalid  = "FieldValueTypeInvalid"
	FieldUnknown           = "FieldValueUnknown"
)

// FieldError is one validation failure at a field path such as spec.template.spec.containers[0].image.
type FieldError struct {
	Type     string
	Field    string
	BadValue any
	Detail   string
}

// ErrorBody is the message without the field path: `Invalid value: -1: must be ...`.
func (e *FieldError) ErrorBody() string {
	var s string
	switch e.Type {
	case FieldValueRequired:
		s = "Required value"
	case FieldValueNotSupported:
		s = fmt.Sprintf("Unsupported value: %s", fmtValue(e.BadValue))
	case FieldValueDuplicate:
		s = fmt.Sprintf("Duplicate value: %s", fmtValue(e.BadValue))
	case FieldValueForbidden:
		s = "Forbidden"
	case FieldValueTooLong:
		s = "Too long"
	case FieldUnknown:
		s = "Unknown field"
	default:
		s = fmt.Sprintf("Invalid value: %s", fmtValue(e.BadValue))
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *FieldError) Error() string { return e.Field + ": " + e.ErrorBody() }

func fmtValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case *int32:
		if v == nil {
			return "null"
		}
		return fmt.Sprint(*v)
	default:
		return fmt.Sprint(v)
	}
}

// FieldErrors is a list of validation failures.
type FieldErrors []*FieldError

// Path builds field paths: Path("spec").Child("containers").Index(0).Child("image").
type Path string

// Child appends ".name".
func (p Path) Child(name string) Path {
	if p == "" {
		return Path(name)
	}
	return Path(string(p) + "." + name)
}

// Index appends "[i]".
func (p Path) Index(i int) Path { return Path(fmt.Sprintf("%s[%d]", p, i)) }

// Key appends "[key]".
func (p Path) Key(k string) Path { return Path(fmt.Sprintf("%s[%s]", p, k)) }

// Required is a FieldValueRequired error at p.
func Required(p Path, detail string) *FieldError {
	return &FieldError{Type: FieldValueRequired, Field: string(p), Detail: detail}
}

// InvalidValue is a FieldValueInvalid error at p.
func InvalidValue(p Path, v any, detail string) *FieldError {
	return &FieldError{Type: FieldValueInvalid, Field: string(p), BadValue: v, Detail: detail}
}

// NotSupported is a FieldValueNotSupported error at p listing the accepted values.
func NotSupported(p Path, v any, accepted []string) *FieldError {
	q := make([]string, len(accepted))
	for i, a := range accepted {
		q[i] = fmt.Sprintf("%q", a)
	}
	return &FieldError{Type: FieldValueNotSupported, Field: string(p), BadValue: v,
		Detail: "supported values: " + strings.Join(q, ", ")}
}

// Duplicate is a FieldValueDuplicate error at p.
func Duplicate(p Path, v any) *FieldError {
	return &FieldError{Type: FieldValueDuplicate, Field: string(p), BadValue: v}
}

// Forbidden is a FieldValueForbidden error at p.
func Forbidden(p Path, detail string) *FieldError {
	return &FieldError{Type: FieldValueForbidden, Field: string(p), Detail: detail}
}

// UnknownField is the error for a field wasmkube does not implement.
func UnknownField(p Path) *FieldError {
	return &FieldError{Type: FieldUnknown, Field: string(p),
		Detail: "field not declared in schema (wasmkube does not implement it)"}
}
