package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// BlobPathPrefix is where the blob endpoints live; a blob's path is BlobPathPrefix + digest.
const BlobPathPrefix = "/registry/v1/blobs/"

// BlobPath is the path of the blob named by digest.
func BlobPath(digest string) string { return BlobPathPrefix + digest }

// Handler serves the blob endpoints of s. It does no authentication: the API server mounts it
// behind its bearer-token check.
func Handler(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		digest, ok := strings.CutPrefix(req.URL.Path, BlobPathPrefix)
		if !ok || !api.IsDigest(digest) {
			writeStatus(w, api.NewStatusError(http.StatusNotFound, api.ReasonNotFound,
				fmt.Sprintf("no registry endpoint at %s: blobs are at %ssha256:<64 hex digits>", req.URL.Path, BlobPathPrefix)))
			return
		}
		switch req.Method {
		case http.MethodGet, http.MethodHead:
			f, size, err := s.Open(digest)
			if err != nil {
				writeStatus(w, statusOf(err))
				return
			}
			defer f.Close()
			w.Header().Set("Content-Type", "application/wasm")
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			w.Header().Set("Docker-Content-Digest", digest)
			w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
			if req.Method == http.MethodHead {
				return
			}
			io.Copy(w, f)
		case http.MethodPut:
			if req.ContentLength > s.MaxBytes() {
				writeStatus(w, statusOf(fmt.Errorf("store blob %s: %w: %d bytes, the limit is %d", digest, ErrTooLarge, req.ContentLength, s.MaxBytes())))
				return
			}
			created, err := s.Put(http.MaxBytesReader(w, req.Body, s.MaxBytes()+1), digest)
			if err != nil {
				writeStatus(w, statusOf(err))
				return
			}
			code := http.StatusOK
			if created {
				code = http.StatusCreated
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Docker-Content-Digest", digest)
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(map[string]string{"digest": digest})
		default:
			w.Header().Set("Allow", "GET, HEAD, PUT")
			writeStatus(w, api.NewStatusError(http.StatusMethodNotAllowed, api.ReasonMethodNotAllowed,
				fmt.Sprintf("method %s is not allowed on a blob: use GET, HEAD or PUT", req.Method)))
		}
	})
}

// statusOf maps a store error to the Status the client sees.
func statusOf(err error) *api.StatusError {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNotFound):
		return api.NewStatusError(http.StatusNotFound, api.ReasonNotFound, err.Error())
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return api.NewStatusError(http.StatusRequestEntityTooLarge, api.ReasonRequestEntityLarge, err.Error())
	case errors.Is(err, ErrNotWasm), errors.Is(err, ErrDigestMismatch), errors.Is(err, ErrBadReference):
		return api.NewStatusError(http.StatusBadRequest, api.ReasonBadRequest, err.Error())
	}
	return api.InternalError(err)
}

func writeStatus(w http.ResponseWriter, e *api.StatusError) {
	st := e.Status
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	json.NewEncoder(w).Encode(st)
}
