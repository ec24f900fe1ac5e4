//go:build wasip1

// Command frontend is the loopback sample's front module: it answers each request by calling
// the backend module of its own pod at localhost:9000 through the host (guest.Client) and
// wrapping its answer. Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o frontend.wasm ./samples/loopback/frontend
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/wasmkube/wasmkube/wasm/guest"
)

func init() {
	guest.HandleFunc(front)
}

func front(w http.ResponseWriter, r *http.Request) {
	backend := os.Getenv("BACKEND_URL")
	if backend == "" {
		backend = "http://localhost:9000"
	}
	resp, err := guest.Client().Get(backend + r.URL.Path)
	if err != nil {
		http.Error(w, "frontend: call backend: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, "frontend: read backend: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "frontend in %s: backend answered %d: %s", guest.PodName(), resp.StatusCode, body)
}

// main is not run: a reactor's host calls its handler export instead.
func main() {}
