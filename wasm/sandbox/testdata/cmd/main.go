//go:build wasip1

// Command cmd is the sandbox tests' command module: its first argument picks what it does.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/wasmkube/wasmkube/wasm/guest"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Println("no mode")
		os.Exit(1)
	}
	switch args[0] {
	case "exit":
		code, _ := strconv.Atoi(args[1])
		fmt.Println("exiting with", code)
		fmt.Fprintln(os.Stderr, "to stderr")
		os.Exit(code)
	case "args":
		fmt.Println(os.Args)
	case "env":
		fmt.Println(os.Getenv(args[1]))
	case "write":
		n, _ := strconv.Atoi(args[2])
		f, err := os.OpenFile(args[1], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(3)
		}
		written, err := f.Write(make([]byte, n))
		fmt.Printf("wrote %d, enospc=%v\n", written, errors.Is(err, syscall.ENOSPC))
	case "cat":
		b, err := os.ReadFile(args[1])
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		os.Stdout.Write(b)
	case "loop":
		for i := 0; ; i++ {
			if i < 0 {
				break
			}
		}
	case "sleep":
		d, _ := time.ParseDuration(args[1])
		time.Sleep(d)
		fmt.Println("slept")
	case "alloc":
		var hoard [][]byte
		for {
			hoard = append(hoard, make([]byte, 1<<20))
			hoard[len(hoard)-1][0] = 1
		}
	case "call":
		resp, err := guest.Client().Get(args[1])
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s\n", resp.StatusCode, b)
	case "panic":
		panic("command panic")
	}
}
