package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/registry"
)

// newModuleCommands are the module registry's commands: push and build.
func newModuleCommands(s *streams) []*cobra.Command {
	push := &cobra.Command{
		Use:   "push FILE NAME[:TAG]",
		Short: "Upload a Wasm module to the cluster's registry and tag it",
		Long: `Upload a Wasm module to the cluster's module registry and point NAME:TAG (TAG defaults
to latest) at it. Prints the module's digest; pods then name it in image: as NAME:TAG or
NAME@DIGEST.`,
		Example: `  wk push hello.wasm hello:v1`,
		Args:    cobra.ExactArgs(2),
		RunE: clientAction(s, func(ctx context.Context, sess *session, args []string) error {
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("push %s: %w", args[0], err)
			}
			if !registry.IsWasm(wasm) {
				return fmt.Errorf("push %s: %w: it does not start with \\0asm, version 1 (build it with GOOS=wasip1 GOARCH=wasm)", args[0], registry.ErrNotWasm)
			}
			return pushModule(ctx, sess, args[1], wasm)
		}),
	}
	build := &cobra.Command{
		Use:   "build -t NAME[:TAG] DIR",
		Short: "Build a Go guest program with GOOS=wasip1 GOARCH=wasm and push it",
		Long: `Build the Go package in DIR as a Wasm module and push it as NAME:TAG. An HTTP module (a
package that registers a handler with guest.Handle or guest.HandleFunc) is built as a reactor
(-buildmode=c-shared), anything else as a command; --mode overrides the guess. With -o the
module is also written to a file; --no-push only builds.`,
		Example: `  wk build -t hello:v1 ./samples/hello
  wk build -t wc:v1 --mode=command ./samples/job`,
		Args: cobra.ExactArgs(1),
		RunE: clientAction(s, func(ctx context.Context, sess *session, args []string) error {
			tag := sess.v.GetString("tag")
			noPush := sess.v.GetBool("no-push")
			if tag == "" && !noPush {
				return errors.New("the -t NAME[:TAG] flag is required (or --no-push)")
			}
			mode, err := buildMode(args[0], sess.v.GetString("mode"))
			if err != nil {
				return err
			}
			wasm, err := goBuildWasm(ctx, args[0], mode)
			if err != nil {
				return err
			}
			if out := sess.v.GetString("output"); out != "" {
				if err := os.WriteFile(out, wasm, 0o644); err != nil {
					return fmt.Errorf("write module: %w", err)
				}
			}
			fmt.Fprintf(sess.s.err, "built %s (%s, %d bytes)\n", args[0], modeName(mode), len(wasm))
			if noPush {
				return nil
			}
			return pushModule(ctx, sess, tag, wasm)
		}),
	}
	f := build.Flags()
	f.StringP("tag", "t", "", "the NAME[:TAG] to push the module as")
	f.String("mode", "auto", "reactor (HTTP module, -buildmode=c-shared), command, or auto")
	f.StringP("output", "o", "", "also write the module to this file")
	f.Bool("no-push", false, "only build")
	return []*cobra.Command{push, build}
}

func pushModule(ctx context.Context, sess *session, ref string, wasm []byte) error {
	if err := sess.connect(); err != nil {
		return err
	}
	digest, err := registry.Push(ctx, sess.c, ref, wasm)
	if err != nil {
		return err
	}
	fmt.Fprintln(sess.s.out, digest)
	return nil
}

func modeName(mode string) string {
	if mode == "c-shared" {
		return "reactor"
	}
	return "command"
}

// buildMode is the -buildmode for the package in dir: c-shared when it registers an HTTP
// handler with the guest SDK (or mode says reactor), exe for a command.
func buildMode(dir, mode string) (string, error) {
	switch mode {
	case "reactor":
		return "c-shared", nil
	case "command":
		return "exe", nil
	case "auto", "":
	default:
		return "", fmt.Errorf("--mode %q: must be reactor, command or auto", mode)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("build %s: no Go files", dir)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("build %s: %w", dir, err)
		}
		if bytes.Contains(b, []byte("guest.Handle(")) || bytes.Contains(b, []byte("guest.HandleFunc(")) {
			return "c-shared", nil
		}
	}
	return "exe", nil
}

// goBuildWasm runs go build in dir with GOOS=wasip1 GOARCH=wasm and returns the module.
func goBuildWasm(ctx context.Context, dir, mode string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "wk-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "module.wasm")
	goTool := "go"
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	} else if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		goTool = p
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-buildmode="+mode, "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build %s: go build -buildmode=%s: %w\n%s", dir, mode, err, strings.TrimSpace(stderr.String()))
	}
	return os.ReadFile(out)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
