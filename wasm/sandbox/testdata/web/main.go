//go:build wasip1

// Command web is the sandbox tests' HTTP module: each path exercises one thing a guest can do,
// well or badly.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wasmkube/wasmkube/wasm/guest"
)

var hoard [][]byte // what /alloc keeps alive

func init() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s %s", r.Method, r.URL.Path)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("/identity", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s %s", guest.PodName(), guest.Namespace(), guest.NodeName(), os.Getenv("HOSTNAME"))
	})
	mux.HandleFunc("/args", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Join(os.Args, " "))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("X-Test"))
		w.Header().Set("X-Host", r.Host)
		b, err := io.ReadAll(r.Body) // before writing: net/http may close the body once the head is out
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write(b)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		chunk := []byte(strings.Repeat("x", 1000))
		for n > 0 {
			k := min(n, len(chunk))
			w.Write(chunk[:k])
			n -= k
		}
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	})
	mux.HandleFunc("/panic-late", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic("boom after the head")
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		os.Exit(code)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; ; i++ {
			if i < 0 {
				break
			}
		}
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		start := time.Now()
		time.Sleep(d)
		fmt.Fprint(w, time.Since(start) >= d)
	})
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		for range mb {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1 // touch every page
			}
			hoard = append(hoard, b)
		}
		fmt.Fprintf(w, "holding %d MiB", len(hoard))
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, _ := strconv.Atoi(q.Get("bytes"))
		f, err := os.OpenFile(q.Get("path"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(w, "open: %v", err)
			return
		}
		defer f.Close()
		chunk := make([]byte, 64<<10)
		written := 0
		for written < n {
			var k int
			k, err = f.Write(chunk[:min(len(chunk), n-written)])
			written += k
			if err != nil {
				break
			}
		}
		fmt.Fprintf(w, "wrote %d, enospc=%v, err=%v", written, errors.Is(err, syscall.ENOSPC), err)
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			fmt.Fprintf(w, "error: %v", err)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/ls", func(w http.ResponseWriter, r *http.Request) {
		ents, err := os.ReadDir(r.URL.Query().Get("path"))
		if err != nil {
			fmt.Fprintf(w, "error: %v", err)
			return
		}
		for _, e := range ents {
			fmt.Fprintln(w, e.Name())
		}
	})
	mux.HandleFunc("/symlink", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		fmt.Fprint(w, os.Symlink(q.Get("old"), q.Get("new")))
	})
	mux.HandleFunc("/call", func(w http.ResponseWriter, r *http.Request) {
		resp, err := guest.Client().Post(r.URL.Query().Get("url"), "text/plain", strings.NewReader("ping"))
		if err != nil {
			fmt.Fprintf(w, "error: %v", err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(w, "%d %s", resp.StatusCode, b)
	})
	mux.HandleFunc("/rand", func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 16)
		rand.Read(b)
		fmt.Fprint(w, hex.EncodeToString(b))
	})
	mux.HandleFunc("/time", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, time.Now().Unix())
	})
	guest.Handle(mux)
}

func main() {}
