package sandbox_test

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// TestFilesVolume mounts a Files volume into a guest: it reads the files, sees their
// directories, cannot write even through a mount not marked read-only, and sees a Set at once,
// with removed files gone.
func TestFilesVolume(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	files, err := sandbox.NewFiles([]sandbox.File{{Path: "app.conf", Data: []byte("v1"), Mode: 0o644},
		{Path: "tls/ca.crt", Data: []byte("CA"), Mode: 0o400}, {Path: "gone", Data: []byte("soon")}})
	if err != nil {
		t.Fatal(err)
	}
	p := startPod(t, rt, sandbox.PodConfig{Name: "files",
		Volumes: []sandbox.VolumeConfig{{Name: "config", Files: files}},
		Containers: []sandbox.ContainerConfig{{Name: "web", Module: compile(t, rt, webWasm(t)), Ports: []int{80},
			Mounts: []sandbox.Mount{{Volume: "config", Path: "/etc/app"}}}}})
	url := serve(t, p, 80)
	steps := []struct{ name, path, want string }{
		{"read", "/read?path=/etc/app/app.conf", "v1"},
		{"subdirectory", "/read?path=/etc/app/tls/ca.crt", "CA"},
		{"listing", "/ls?path=/etc/app", "app.conf\ngone\ntls\n"},
		{"write refused", "/write?path=/etc/app/app.conf&bytes=1", "open: open /etc/app/app.conf: Read-only file system"},
		{"create refused", "/write?path=/etc/app/new&bytes=1", "open: open /etc/app/new: Read-only file system"},
	}
	for _, s := range steps {
		if _, body := fetch(t, url+s.path); body != s.want {
			t.Fatalf("%s: GET %s = %q, want %q", s.name, s.path, body, s.want)
		}
	}
	if err := files.Set([]sandbox.File{{Path: "app.conf", Data: []byte("v2")}, {Path: "tls/ca.crt", Data: []byte("CA2")}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/read?path=/etc/app/app.conf": "v2", "/read?path=/etc/app/tls/ca.crt": "CA2",
		"/ls?path=/etc/app": "app.conf\ntls\n", "/read?path=/etc/app/gone": "error: open /etc/app/gone: No such file or directory"} {
		if _, body := fetch(t, url+path); body != want {
			t.Errorf("after Set: GET %s = %q, want %q", path, body, want)
		}
	}
}

func TestFilesSet(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files []sandbox.File
		err   string
	}{
		{"absolute", []sandbox.File{{Path: "/etc/x"}}, `file path "/etc/x": want a clean relative path`},
		{"dot-dot", []sandbox.File{{Path: "../x"}}, `file path "../x"`},
		{"not clean", []sandbox.File{{Path: "a//b"}}, `file path "a//b"`},
		{"empty", []sandbox.File{{Path: ""}}, `file path ""`},
		{"twice", []sandbox.File{{Path: "a"}, {Path: "a"}}, "file a: path given twice"},
		{"file and directory", []sandbox.File{{Path: "a"}, {Path: "a/b"}}, "file a/b: a is a file, not a directory"},
		{"mode", []sandbox.File{{Path: "a", Mode: fs.ModeSetuid | 0o644}}, "file a: mode"},
		{"ok", []sandbox.File{{Path: "a/b/c", Mode: 0o600}, {Path: "a/d"}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := sandbox.NewFiles([]sandbox.File{{Path: "keep", Data: []byte("k")}})
			if err != nil {
				t.Fatal(err)
			}
			err = f.Set(tt.files)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if st, err := fs.Stat(f, "a/b/c"); err != nil || st.Mode() != 0o600 {
					t.Errorf("stat a/b/c = %v, %v; want mode 0600", st, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Set = %v, want %q", err, tt.err)
			}
			if b, err := fs.ReadFile(f, "keep"); err != nil || string(b) != "k" {
				t.Errorf("a refused Set changed the files: %q, %v", b, err)
			}
		})
	}
}

// TestFilesSetHammer reads while sets replace the files: a listing always shows one whole set,
// a file always one whole version, and a file opened before a Set reads what it was opened with.
func TestFilesSetHammer(t *testing.T) {
	version := func(v int) []sandbox.File {
		files := []sandbox.File{{Path: "v", Data: []byte(strings.Repeat(fmt.Sprint(v%10), 4096))}}
		for k := range v%5 + 1 {
			files = append(files, sandbox.File{Path: fmt.Sprintf("d/k%d", k), Data: []byte(fmt.Sprint(v))})
		}
		return files
	}
	f, err := sandbox.NewFiles(version(0))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ents, err := fs.ReadDir(f, "d")
				if err != nil || len(ents) == 0 {
					t.Errorf("ReadDir d = %d entries, %v", len(ents), err)
					return
				}
				for i, e := range ents {
					if want := fmt.Sprintf("k%d", i); e.Name() != want {
						t.Errorf("entry %d is %s, want %s: a listing mixed two sets", i, e.Name(), want)
						return
					}
				}
				b, err := fs.ReadFile(f, "v")
				if err != nil || len(b) != 4096 || strings.Count(string(b), string(b[0])) != 4096 {
					t.Errorf("read v: %d bytes, %v: not one whole version", len(b), err)
					return
				}
			}
		})
	}
	held, err := f.Open("v")
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 2000; v++ {
		if err := f.Set(version(v)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	buf := make([]byte, 1)
	if _, err := held.Read(buf); err != nil || buf[0] != '0' {
		t.Errorf("a file opened before the sets reads %q, %v; want version 0", buf, err)
	}
}
