//go:build !wasip1

package main_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/samples/internal/deploytest"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// manifest reads job.yaml as the API server would: strictly, defaulted and validated.
func manifest(t *testing.T) *api.Job {
	var j api.Job
	deploytest.Manifest(t, "job.yaml", 0, &j)
	return &j
}

// TestWordCount runs the manifest's container as a command module in a sandbox pod, as the
// runner runs a Job's pod, and checks its output and exit.
func TestWordCount(t *testing.T) {
	ctx := context.Background()
	j := manifest(t)
	rt, err := sandbox.NewRuntime(ctx, sandbox.RuntimeConfig{CacheDir: wasmtest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	m, err := rt.Compile(ctx, "", wasmtest.GoBuild(t, ".", wasmtest.Command))
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(t.TempDir(), "in")
	os.MkdirAll(input, 0o755)
	os.WriteFile(filepath.Join(input, "more.txt"), []byte("Fox! FOX? dog"), 0o644)
	var env []string
	for _, e := range j.Spec.Template.Spec.Containers[0].Env {
		env = append(env, e.Name+"="+e.Value)
	}
	tests := []struct {
		name     string
		args     []string
		env      []string
		mount    bool
		wantCode uint32
		wantOut  string
		wantErr  string
	}{
		{name: "manifest", env: env, wantOut: "      4 the\n      2 dog\n      2 fox\ntotal: 15 words, 10 distinct\n"},
		{name: "file from a volume", env: append(env, "TOP=2"), args: []string{"/input/more.txt"}, mount: true,
			wantOut: "      4 fox\n      4 the\ntotal: 18 words, 10 distinct\n"},
		{name: "missing input file", args: []string{"/input/nope.txt"}, mount: true, wantCode: 1, wantErr: "wc: read input"},
		{name: "bad TOP", env: []string{"TOP=many"}, wantCode: 2, wantErr: `wc: TOP="many"`},
		{name: "empty input", wantOut: "total: 0 words, 0 distinct\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr wasmtest.Buffer
			exits := make(chan sandbox.Exit, 1)
			ct := sandbox.ContainerConfig{Name: "wc", Module: m, Args: tt.args, Env: tt.env,
				MemoryLimitBytes: 64 << 20, Stdout: &stdout, Stderr: &stderr}
			cfg := sandbox.PodConfig{Name: "wc-abcde", Namespace: "default", Node: "node-1",
				ActiveDeadline: time.Duration(*j.Spec.ActiveDeadlineSeconds) * time.Second,
				OnExit:         func(e sandbox.Exit) { exits <- e }}
			if tt.mount {
				// The pod's volume directory holds the input, as an emptyDir a previous step filled.
				dir := t.TempDir()
				os.CopyFS(filepath.Join(dir, "input"), os.DirFS(input))
				cfg.Dir = dir
				cfg.Volumes = []sandbox.VolumeConfig{{Name: "input"}}
				ct.Mounts = []sandbox.Mount{{Volume: "input", Path: "/input", ReadOnly: true}}
			}
			cfg.Containers = []sandbox.ContainerConfig{ct}
			p, err := rt.NewPod(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			if err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			var e sandbox.Exit
			select {
			case e = <-exits:
			case <-time.After(time.Minute):
				t.Fatal("the job never finished")
			}
			if e.ExitCode != tt.wantCode || stdout.String() != tt.wantOut || !bytes.Contains([]byte(stderr.String()), []byte(tt.wantErr)) {
				t.Fatalf("exit %d (%s)\nstdout: %q\nstderr: %q", e.ExitCode, e.Message(), stdout.String(), stderr.String())
			}
		})
	}
}
