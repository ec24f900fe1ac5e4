//go:build wasip1

// Command web is the sidecar sample's HTTP module: it answers every request and appends an
// access-log line for it to /var/log/app/access.log, on the emptyDir volume it shares with the
// shipper module of its pod. Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o web.wasm ./samples/sidecar/web
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/wasmkube/wasmkube/wasm/guest"
)

// logPath is where the shared volume is mounted (see sidecar.yaml).
const logPath = "/var/log/app/access.log"

func init() {
	guest.HandleFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	code := http.StatusOK
	if r.URL.Path == "/missing" {
		code = http.StatusNotFound
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "%d from %s\n", code, guest.PodName())
	// One write per line with O_APPEND: lines of concurrent instances never interleave.
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "web: open access log: %v\n", err)
		return
	}
	defer f.Close()
	line := fmt.Sprintf("%s %s %s %d\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.RequestURI(), code)
	if _, err := f.WriteString(line); err != nil {
		fmt.Fprintf(os.Stderr, "web: write access log: %v\n", err)
	}
}

// main is not run: a reactor's host calls its handler export instead.
func main() {}
