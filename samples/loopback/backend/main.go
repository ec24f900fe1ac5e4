//go:build wasip1

// Command backend is the loopback sample's back module: it serves port 9000 of its pod, which
// only its siblings reach (the Service points at the frontend). It counts the requests each
// instance served. Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o backend.wasm ./samples/loopback/backend
package main

import (
	"fmt"
	"net/http"

	"github.com/wasmkube/wasmkube/wasm/guest"
)

func init() {
	guest.HandleFunc(back)
}

func back(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/fail" {
		http.Error(w, "backend: asked to fail", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "hello from the backend, path %s\n", r.URL.Path)
}

// main is not run: a reactor's host calls its handler export instead.
func main() {}
