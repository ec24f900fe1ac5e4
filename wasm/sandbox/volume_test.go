package sandbox_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// TestVolumes shares a volume between two containers of a pod, one mounting it read-only, on
// disk and in memory, with a size limit.
func TestVolumes(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	web := compile(t, rt, webWasm(t))
	for _, medium := range []sandbox.Medium{sandbox.MediumDisk, sandbox.MediumMemory} {
		t.Run("medium="+string(medium), func(t *testing.T) {
			dir := t.TempDir()
			p := startPod(t, rt, sandbox.PodConfig{Name: "vols", Dir: dir,
				Volumes: []sandbox.VolumeConfig{{Name: "scratch", Medium: medium, SizeLimit: 100_000}},
				Containers: []sandbox.ContainerConfig{
					{Name: "writer", Module: web, Ports: []int{8080}, Mounts: []sandbox.Mount{{Volume: "scratch", Path: "/data"}}},
					{Name: "reader", Module: web, Ports: []int{8081}, Mounts: []sandbox.Mount{{Volume: "scratch", Path: "/shared", ReadOnly: true}}},
				}})
			writer, reader := serve(t, p, 8080), serve(t, p, 8081)
			steps := []struct {
				name, url, path, want string
				prefix                bool // want is a prefix of the body
			}{
				{"write", writer, "/write?path=/data/log&bytes=1000", "wrote 1000, enospc=false, err=<nil>", false},
				{"sibling reads", reader, "/read?path=/shared/log", strings.Repeat("\x00", 1000), false},
				{"read-only mount", reader, "/write?path=/shared/x&bytes=1", "open: open /shared/x: Read-only file system", false},
				{"write past sizeLimit", writer, "/write?path=/data/big&bytes=200000",
					"wrote 99000, enospc=true, err=write /data/big: No space left on device", false},
				{"still full", writer, "/write?path=/data/more&bytes=1", "wrote 0, enospc=true", true},
				{"listing", writer, "/ls?path=/data", "big\nlog\nmore\n", false},
				{"host path", writer, "/read?path=/etc/passwd", "error: open /etc/passwd: Bad file number", false},
				{"escape by dot-dot", writer, "/read?path=/data/../../etc/passwd", "error: open /data/../../etc/passwd: Bad file number", false},
				{"root", writer, "/ls?path=/", "error: open /:", true},
				{"symlink out", writer, "/symlink?old=/etc/passwd&new=/data/passwd", "symlink /etc/passwd /data/passwd: Operation not permitted", false},
				{"relative symlink", writer, "/symlink?old=../../etc/passwd&new=/data/p", "symlink ../../etc/passwd /data/p: Operation not permitted", false},
			}
			for _, s := range steps {
				_, body := fetch(t, s.url+s.path)
				if s.prefix && !strings.HasPrefix(body, s.want) || !s.prefix && body != s.want {
					t.Fatalf("%s: GET %s = %q, want %q", s.name, s.path, body, s.want)
				}
			}
			if medium == sandbox.MediumDisk {
				info, err := os.Stat(filepath.Join(dir, "scratch", "log"))
				if err != nil || info.Size() != 1000 {
					t.Fatalf("the disk volume holds %v, %v", info, err)
				}
			}
		})
	}
}

// TestMemoryVolumeDefaultLimit: a Memory volume without sizeLimit is bounded by the containers'
// memory limits, as in Kubernetes.
func TestMemoryVolumeDefaultLimit(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	p := startPod(t, rt, sandbox.PodConfig{Name: "mem",
		Volumes: []sandbox.VolumeConfig{{Name: "tmp", Medium: sandbox.MediumMemory}},
		Containers: []sandbox.ContainerConfig{{Name: "web", Module: compile(t, rt, webWasm(t)), Ports: []int{80},
			MemoryLimitBytes: 32 << 20, Mounts: []sandbox.Mount{{Volume: "tmp", Path: "/tmp"}}}}})
	_, body := fetch(t, serve(t, p, 80)+"/write?path=/tmp/x&bytes=40000000")
	if want := "wrote 33554432, enospc=true"; !strings.HasPrefix(body, want) {
		t.Fatalf("write = %q, want %q", body, want)
	}
}
