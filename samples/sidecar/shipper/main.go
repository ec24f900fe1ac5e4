//go:build wasip1

// Command shipper is the sidecar sample's log shipper: a command module that follows the
// access log the web module of its pod writes into their shared volume and prints every line,
// so `wk logs POD -c shipper` shows every request. It runs until the pod stops. LOG_FILE
// overrides the file (default /var/log/app/access.log). Build it as a command:
//
//	GOOS=wasip1 GOARCH=wasm go build -o shipper.wasm ./samples/sidecar/shipper
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// poll is how often the shipper looks for the file and for new lines; sleeping costs the
// host nothing.
const poll = 50 * time.Millisecond

func main() {
	path := os.Getenv("LOG_FILE")
	if path == "" {
		path = "/var/log/app/access.log"
	}
	var f *os.File
	for {
		var err error
		if f, err = os.Open(path); err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "shipper: open %s: %v\n", path, err)
			os.Exit(1)
		}
		time.Sleep(poll)
	}
	fmt.Fprintf(os.Stderr, "shipper: following %s\n", path)
	r := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := r.ReadBytes('\n')
		partial = append(partial, line...)
		switch {
		case err == nil:
			os.Stdout.Write(partial)
			partial = partial[:0]
		case errors.Is(err, io.EOF):
			time.Sleep(poll)
		default:
			fmt.Fprintf(os.Stderr, "shipper: read %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}
