// Command wk is wasmkube's one binary: the server, the runner, and the CLI that drives a cluster.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
