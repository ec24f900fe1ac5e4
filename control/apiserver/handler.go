package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// request is one API request on a resource, as routing understood it.
type request struct {
	w    http.ResponseWriter
	req  *http.Request
	ctx  context.Context
	q    url.Values
	user User

	res       *resource
	verb      string // get list watch create update patch delete deletecollection
	namespace string
	name      string
	sub       string // subresource: status, scale, binding, log, finalize
}

// Verbs as Kubernetes names them.
const (
	verbGet              = "get"
	verbList             = "list"
	verbWatch            = "watch"
	verbCreate           = "create"
	verbUpdate           = "update"
	verbPatch            = "patch"
	verbDelete           = "delete"
	verbDeleteCollection = "deletecollection"
)

func (s *Server) buildHandler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if !s.track() {
		w.Header().Set("Connection", "close")
		writeError(w, api.NewStatusError(http.StatusServiceUnavailable, api.ReasonServiceUnavailable, "the API server is shutting down"))
		return
	}
	defer s.inflight.Done()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("apiserver: panic serving request", "method", req.Method, "path", req.URL.Path,
				"panic", v, "stack", string(debug.Stack()))
			writeError(w, api.InternalError(fmt.Errorf("panic: %v", v)))
		}
	}()
	path := req.URL.Path
	switch path {
	case "/livez", "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
		return
	case "/readyz":
		s.serveReadyz(w, req)
		return
	case "/version", "/version/":
		writeJSON(w, http.StatusOK, versionInfo())
		return
	}
	user, ok := s.authenticate(req)
	if !ok {
		writeError(w, api.Unauthorized("Unauthorized"))
		return
	}
	if !s.isReady() {
		writeError(w, api.NewStatusError(http.StatusServiceUnavailable, api.ReasonServiceUnavailable,
			"the API server is starting: its watch caches are not filled yet"))
		return
	}
	parts := splitPath(path)
	if len(parts) == 0 {
		s.serveRootPaths(w)
		return
	}
	switch parts[0] {
	case "api":
		if len(parts) == 1 {
			s.serveAPIVersions(w, req)
			return
		}
		s.serveGroupVersion(w, req, user, "", parts[1], parts[2:])
	case "apis":
		switch len(parts) {
		case 1:
			s.serveAPIGroupList(w, req)
		case 2:
			s.serveAPIGroup(w, parts[1])
		default:
			s.serveGroupVersion(w, req, user, parts[1], parts[2], parts[3:])
		}
	case "openapi":
		s.serveOpenAPI(w, req, parts[1:])
	case "registry":
		if s.cfg.Registry == nil {
			notFound(w)
			return
		}
		s.cfg.Registry.ServeHTTP(w, req)
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	writeError(w, api.NewStatusError(http.StatusNotFound, api.ReasonNotFound, "the server could not find the requested resource"))
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// serveGroupVersion routes /api/{v}/... and /apis/{g}/{v}/...: rest is what follows the
// version.
func (s *Server) serveGroupVersion(w http.ResponseWriter, req *http.Request, user User, group, version string, rest []string) {
	if len(rest) == 0 {
		s.serveResourceList(w, group, version)
		return
	}
	rq := &request{w: w, req: req, ctx: req.Context(), q: req.URL.Query(), user: user}
	watchPath := false
	if rest[0] == "watch" { // the deprecated /watch/ paths
		watchPath = true
		rest = rest[1:]
	}
	if len(rest) >= 2 && rest[0] == "namespaces" {
		rq.namespace = rest[1]
		// namespaces/{ns}/status and /finalize are subresources of the namespace itself.
		if len(rest) > 2 && rest[2] != "status" && rest[2] != "finalize" {
			rest = rest[2:]
		} else {
			rq.namespace = ""
		}
	}
	if len(rest) == 0 || len(rest) > 3 || rest[0] == "" {
		notFound(w)
		return
	}
	if rv, ok := selfReviewAt(group, version, rest[0]); ok && len(rest) == 1 && rq.namespace == "" && !watchPath {
		s.serveSelfReview(rq, rv)
		return
	}
	rq.res = s.byPath[group+"/"+version+"/"+rest[0]]
	if rq.res == nil {
		notFound(w)
		return
	}
	if len(rest) > 1 {
		rq.name = rest[1]
	}
	if len(rest) > 2 {
		rq.sub = rest[2]
	}
	r := rq.res
	if !r.Namespaced {
		if rq.namespace != "" {
			notFound(w)
			return
		}
	} else if rq.name != "" && rq.namespace == "" {
		// A namespaced object must be named with its namespace.
		notFound(w)
		return
	}
	if rq.sub != "" && !r.HasSubresource(rq.sub) && !(r.Resource == "namespaces" && rq.sub == "finalize") {
		notFound(w)
		return
	}
	isWatch := watchPath || rq.q.Get("watch") == "true" || rq.q.Get("watch") == "1"
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case isWatch && rq.sub == "":
			rq.verb = verbWatch
		case rq.name == "":
			rq.verb = verbList
		default:
			rq.verb = verbGet
		}
	case http.MethodPost:
		switch {
		case rq.name == "":
			rq.verb = verbCreate
		case rq.sub == "binding", rq.sub == "eviction":
			rq.verb = verbCreate
		}
	case http.MethodPut:
		if rq.name != "" {
			rq.verb = verbUpdate
		}
	case http.MethodPatch:
		if rq.name != "" {
			rq.verb = verbPatch
		}
	case http.MethodDelete:
		if rq.name == "" {
			rq.verb = verbDeleteCollection
		} else if rq.sub == "" {
			rq.verb = verbDelete
		}
	}
	if rq.verb == "" || !subresourceAllows(rq.sub, rq.verb) {
		writeError(w, api.MethodNotSupported(r.GroupResource(), methodVerb(req.Method)))
		return
	}
	s.dispatch(rq)
}

// methodVerb names what an unsupported request tried, for its 405.
func methodVerb(method string) string {
	switch method {
	case http.MethodGet:
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(method)
}

// subresourceAllows reports whether a subresource serves verb.
func subresourceAllows(sub, verb string) bool {
	switch sub {
	case "":
		return true
	case "status", "scale", "approval":
		return verb == verbGet || verb == verbUpdate || verb == verbPatch
	case "binding", "eviction":
		return verb == verbCreate
	case "log":
		return verb == verbGet
	case "finalize":
		return verb == verbUpdate
	}
	return false
}

func (s *Server) dispatch(rq *request) {
	var err error
	switch rq.sub {
	case "binding":
		err = s.serveBinding(rq)
	case "eviction":
		err = s.serveEviction(rq)
	case "log":
		err = s.serveLog(rq)
	case "scale":
		err = s.serveScale(rq)
	default:
		switch rq.verb {
		case verbGet:
			err = s.serveGet(rq)
		case verbList:
			err = s.serveList(rq)
		case verbWatch:
			err = s.serveWatch(rq)
		case verbCreate:
			err = s.serveCreate(rq)
		case verbUpdate:
			err = s.serveUpdate(rq)
		case verbPatch:
			err = s.servePatch(rq)
		case verbDelete:
			err = s.serveDelete(rq)
		case verbDeleteCollection:
			err = s.serveDeleteCollection(rq)
		}
	}
	if err != nil {
		if se := toStatus(err); se.Status.Code >= 500 {
			s.log.Error("apiserver: request failed", "verb", rq.verb, "resource", rq.res.Resource,
				"namespace", rq.namespace, "name", rq.name, "subresource", rq.sub, "err", err)
		}
		writeError(rq.w, err)
	}
}

// authenticate finds the user of the request's bearer token.
func (s *Server) authenticate(req *http.Request) (User, bool) {
	h := req.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return User{}, false
	}
	tok = strings.TrimSpace(tok)
	for t, u := range s.cfg.Tokens {
		if tokenEqual(tok, t) {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) serveReadyz(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
	defer cancel()
	if !s.isReady() {
		http.Error(w, "watch caches not ready", http.StatusServiceUnavailable)
		return
	}
	if _, err := s.store.CurrentRevision(ctx); err != nil {
		http.Error(w, "store not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok"))
}
