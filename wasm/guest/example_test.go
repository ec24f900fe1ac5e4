package guest_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/wasmkube/wasmkube/wasm/guest"
)

func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "Container Hostname: %s\n", guest.PodName())
}

// A module registers its handler in init: built with -buildmode=c-shared, its main never runs.
// The same handler runs on the developer's machine under net/http/httptest.
func ExampleHandleFunc() {
	guest.HandleFunc(hello) // in the module: func init() { guest.HandleFunc(hello) }

	os.Setenv("POD_NAME", "hello-7d9c")
	defer os.Unsetenv("POD_NAME")
	rec := httptest.NewRecorder()
	hello(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Print(rec.Body.String())
	// Output: Container Hostname: hello-7d9c
}

// Any http.Handler will do, such as a ServeMux with routes.
func ExampleHandle() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /", hello)
	guest.Handle(mux)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	fmt.Print(rec.Body.String())
	// Output: ok
}

// Client reaches the pod's other containers at localhost:PORT, and Services by name. Outside a
// wasmkube module there is no host to send through.
func ExampleClient() {
	resp, err := guest.Client().Get("http://localhost:9000/orders")
	if err != nil {
		fmt.Println(errors.Is(err, guest.ErrNoHost))
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: true
}

// The pod's identity comes from the environment the runner sets.
func ExamplePodName() {
	for k, v := range map[string]string{"POD_NAME": "web-5f00", "POD_NAMESPACE": "shop", "NODE_NAME": "node-1"} {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}
	fmt.Println(guest.PodName(), guest.Namespace(), guest.NodeName())
	// Output: web-5f00 shop node-1
}
