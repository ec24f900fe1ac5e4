//go:build wasip1

// Command hello is the sample HTTP module: it answers every request with the name of the pod it
// runs in and its version (env VERSION). Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello.wasm ./samples/hello
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/wasmkube/wasmkube/wasm/guest"
)

func init() {
	guest.HandleFunc(hello)
}

func hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Container Hostname: %s\n", guest.PodName())
	fmt.Fprintf(w, "Version: %s\n", os.Getenv("VERSION"))
}

// main is not run: a reactor's host calls its handler export instead.
func main() {}
