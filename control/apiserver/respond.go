package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/patch"
	"github.com/wasmkube/wasmkube/control/store"
)

// modifiedMessage is Kubernetes' text for a write based on a stale resourceVersion.
const modifiedMessage = "the object has been modified; please apply your changes to the latest version and try again"

var errModified = errors.New(modifiedMessage)

// writeBody sends a JSON body with the given code.
func writeBody(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// writeJSON encodes v and sends it with the given code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, api.InternalError(fmt.Errorf("encode response: %w", err)))
		return
	}
	writeBody(w, code, b)
}

// writeError sends err as a Status: its own if it carries one, else a 500.
func writeError(w http.ResponseWriter, err error) {
	se := toStatus(err)
	b, _ := json.Marshal(se.Status)
	writeBody(w, int(se.Status.Code), b)
}

// toStatus returns the Status err carries, or an InternalError for err.
func toStatus(err error) *api.StatusError {
	var se *api.StatusError
	if errors.As(err, &se) {
		return se
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return api.NewStatusError(http.StatusGatewayTimeout, api.ReasonTimeout, err.Error())
	case errors.Is(err, context.Canceled):
		return api.NewStatusError(http.StatusServiceUnavailable, api.ReasonServiceUnavailable, err.Error())
	}
	return api.InternalError(err)
}

// storeError turns a store error about the object name of r into the Status Kubernetes
// answers with.
func storeError(r *resource, name string, err error) error {
	gr := r.GroupResource()
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.NotFound(gr, name)
	case errors.Is(err, store.ErrExists):
		return api.AlreadyExists(gr, name)
	case errors.Is(err, store.ErrConflict):
		return api.Conflict(gr, name, errModified)
	case errors.Is(err, store.ErrCompacted):
		return api.Gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
	case errors.Is(err, store.ErrTooLarge):
		return api.TooLarge(fmt.Sprintf("%s %q is too large: %v", gr, name, err))
	case errors.Is(err, store.ErrInvalidContinue):
		return api.BadRequest(fmt.Sprintf("invalid continue token: %v", err))
	case errors.Is(err, store.ErrFutureRevision):
		return api.NewStatusError(http.StatusGatewayTimeout, api.ReasonTimeout,
			"Too large resource version: the requested revision is newer than the server's")
	}
	var se *api.StatusError
	if errors.As(err, &se) {
		return se
	}
	return toStatus(err)
}

// patchError turns an error of control/patch into a Status.
func patchError(err error) error {
	switch {
	case errors.Is(err, patch.ErrMalformed):
		return api.BadRequest(err.Error())
	case errors.Is(err, patch.ErrInvalid):
		return api.NewStatusError(http.StatusUnprocessableEntity, api.ReasonInvalid, err.Error())
	}
	return toStatus(err)
}

// successStatus is the Status a delete answers with when the object is gone.
func successStatus(r *resource, name, uid string) *api.Status {
	return &api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   api.StatusSuccess,
		Details:  &api.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource, UID: uid},
	}
}
