// Package guest is the Go SDK for wasmkube modules: the program a container's image names imports
// it. It owns the guest half of the sandbox's ABI (see the sandbox package's documentation):
//
//   - Handle registers an ordinary http.Handler; the package exports the function the host calls
//     once per request, so a Go program built with
//     GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
//     is an HTTP module. In that mode main is never run: register the handler in an init function.
//   - Client returns an http.Client whose requests go back through the host: http://localhost:PORT
//     reaches the container of the same pod that declares containerPort PORT, in process; other
//     hosts go where the cluster routes them (Service names), or fail.
//   - PodName, Namespace and NodeName read the pod's identity from the environment the runner sets.
//
// The package builds on every platform so that handlers can be tested on the developer's machine
// with net/http/httptest; outside a wasip1 module, Client's requests fail with ErrNoHost and no one
// calls the registered handler.
//
// Guests run one request at a time per instance; the host runs more instances for concurrency. The
// handler registry is the one package-level variable here: a wasm export has no receiver.
package guest

import (
	"errors"
	"net/http"
	"os"
	"sync/atomic"
)

// ErrNoHost is returned by Client's requests when the program is not running as a wasmkube module
// (a test on the developer's machine, or a module run by another Wasm runtime).
var ErrNoHost = errors.New("guest: no wasmkube host: requests go through the host only in a module built with GOOS=wasip1 GOARCH=wasm and run by wasmkube")

var handler atomic.Pointer[http.Handler]

// Handle registers h as the module's HTTP handler; a later call replaces it. Call it from an init
// function: in a reactor (-buildmode=c-shared) main does not run. Until a handler is registered the
// module answers 500.
func Handle(h http.Handler) {
	handler.Store(&h)
}

// HandleFunc registers f as the module's HTTP handler, like Handle.
func HandleFunc(f func(http.ResponseWriter, *http.Request)) {
	Handle(http.HandlerFunc(f))
}

// registered returns the handler or nil.
func registered() http.Handler {
	if p := handler.Load(); p != nil {
		return *p
	}
	return nil
}

// Client returns an http.Client whose requests go through the host (see Transport). It has no
// timeout of its own: the host bounds each request by the caller's deadline.
func Client() *http.Client {
	return &http.Client{Transport: Transport{}}
}

// Transport is an http.RoundTripper that hands requests to the host. Request bodies are read whole
// before sending; response bodies stream from the host and must be closed. Outside a wasmkube
// module RoundTrip fails with ErrNoHost.
type Transport struct{}

var _ http.RoundTripper = Transport{}

// PodName returns the name of the pod this module runs in (POD_NAME, else HOSTNAME), or "" outside a
// pod.
func PodName() string {
	if v := os.Getenv("POD_NAME"); v != "" {
		return v
	}
	return os.Getenv("HOSTNAME")
}

// Namespace returns the namespace of the pod this module runs in (POD_NAMESPACE), or "".
func Namespace() string { return os.Getenv("POD_NAMESPACE") }

// NodeName returns the name of the node running the pod (NODE_NAME), or "".
func NodeName() string { return os.Getenv("NODE_NAME") }
