package volume

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"
)

// media returns a fresh volume of each medium with the given limit.
func media(t *testing.T, limit int64) map[string]*Volume {
	disk, err := OnDisk(filepath.Join(t.TempDir(), "vol"), limit)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*Volume{"disk": disk, "memory": InMemory(limit)}
}

func create(t *testing.T, fsys sys.FS, path string, flag sys.Oflag) sys.File {
	t.Helper()
	f, errno := fsys.OpenFile(path, sys.O_CREAT|sys.O_RDWR|flag, 0o644)
	if errno != 0 {
		t.Fatalf("open %s: %v", path, errno)
	}
	return f
}

func TestSizeLimit(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, fsys sys.FS, v *Volume) // the volume's limit is 10 bytes
		used int64
	}{
		{"write within", func(t *testing.T, fsys sys.FS, v *Volume) {
			f := create(t, fsys, "a", 0)
			if n, errno := f.Write([]byte("0123456789")); n != 10 || errno != 0 {
				t.Fatalf("Write = %d, %v", n, errno)
			}
		}, 10},
		{"write past is clipped then refused", func(t *testing.T, fsys sys.FS, v *Volume) {
			f := create(t, fsys, "a", 0)
			if n, errno := f.Write([]byte("0123456")); n != 7 || errno != 0 {
				t.Fatalf("Write = %d, %v", n, errno)
			}
			if n, errno := f.Write([]byte("789abc")); n != 3 || errno != 0 {
				t.Fatalf("clipped Write = %d, %v; want 3", n, errno)
			}
			if n, errno := f.Write([]byte("x")); n != 0 || errno != sys.EIO {
				t.Fatalf("Write past limit = %d, %v; want EIO", n, errno)
			}
		}, 10},
		{"overwrite in place is free", func(t *testing.T, fsys sys.FS, v *Volume) {
			f := create(t, fsys, "a", 0)
			f.Write([]byte("0123456789"))
			if n, errno := f.Pwrite([]byte("abcde"), 2); n != 5 || errno != 0 {
				t.Fatalf("Pwrite = %d, %v", n, errno)
			}
		}, 10},
		{"sparse pwrite counts the hole", func(t *testing.T, fsys sys.FS, v *Volume) {
			f := create(t, fsys, "a", 0)
			if _, errno := f.Pwrite([]byte("x"), 20); errno != sys.EIO {
				t.Fatalf("Pwrite at 20 = %v, want EIO", errno)
			}
			if _, errno := f.Pwrite([]byte("x"), 8); errno != 0 {
				t.Fatalf("Pwrite at 8 = %v", errno)
			}
		}, 9},
		{"truncate up is refused", func(t *testing.T, fsys sys.FS, v *Volume) {
			f := create(t, fsys, "a", 0)
			if errno := f.Truncate(11); errno != sys.EIO {
				t.Fatalf("Truncate(11) = %v, want EIO", errno)
			}
			if errno := f.Truncate(4); errno != 0 {
				t.Fatalf("Truncate(4) = %v", errno)
			}
		}, 4},
		{"unlink frees", func(t *testing.T, fsys sys.FS, v *Volume) {
			f := create(t, fsys, "a", 0)
			f.Write([]byte("0123456789"))
			f.Close()
			if errno := fsys.Unlink("a"); errno != 0 {
				t.Fatal(errno)
			}
			g := create(t, fsys, "b", 0)
			if n, errno := g.Write([]byte("012345")); n != 6 || errno != 0 {
				t.Fatalf("Write after unlink = %d, %v", n, errno)
			}
		}, 6},
		{"O_TRUNC frees", func(t *testing.T, fsys sys.FS, v *Volume) {
			create(t, fsys, "a", 0).Write([]byte("0123456789"))
			f := create(t, fsys, "a", sys.O_TRUNC)
			if n, errno := f.Write([]byte("abc")); n != 3 || errno != 0 {
				t.Fatalf("Write = %d, %v", n, errno)
			}
		}, 3},
		{"rename over frees", func(t *testing.T, fsys sys.FS, v *Volume) {
			create(t, fsys, "a", 0).Write([]byte("0123"))
			create(t, fsys, "b", 0).Write([]byte("456789"))
			if errno := fsys.Rename("a", "b"); errno != 0 {
				t.Fatal(errno)
			}
		}, 4},
		{"append", func(t *testing.T, fsys sys.FS, v *Volume) {
			f := create(t, fsys, "a", sys.O_APPEND)
			for range 3 {
				f.Write([]byte("abc"))
			}
			if n, errno := f.Write([]byte("abc")); n != 1 || errno != 0 {
				t.Fatalf("4th append = %d, %v", n, errno)
			}
		}, 10},
	}
	for _, tt := range tests {
		for medium, v := range media(t, 10) {
			t.Run(tt.name+"/"+medium, func(t *testing.T) {
				tt.run(t, v.FS(false, nil), v)
				if got := v.Used(); got != tt.used {
					t.Fatalf("Used = %d, want %d", got, tt.used)
				}
			})
		}
	}
}

func TestNoSpaceCallback(t *testing.T) {
	for medium, v := range media(t, 4) {
		t.Run(medium, func(t *testing.T) {
			calls := 0
			f := create(t, v.FS(false, func() { calls++ }), "a", 0)
			f.Write([]byte("0123"))
			f.Write([]byte("4"))
			f.Truncate(8)
			if calls != 2 {
				t.Fatalf("noSpace called %d times, want 2", calls)
			}
		})
	}
}

func TestLinksRefused(t *testing.T) {
	for medium, v := range media(t, 0) {
		t.Run(medium, func(t *testing.T) {
			fsys := v.FS(false, nil)
			create(t, fsys, "a", 0).Close()
			if errno := fsys.Symlink("/etc/passwd", "p"); errno != sys.EPERM {
				t.Fatalf("Symlink = %v, want EPERM", errno)
			}
			if errno := fsys.Symlink("a", "b"); errno != sys.EPERM {
				t.Fatalf("Symlink = %v, want EPERM", errno)
			}
			if errno := fsys.Link("a", "c"); errno != sys.EPERM {
				t.Fatalf("Link = %v, want EPERM", errno)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	for medium, v := range media(t, 0) {
		t.Run(medium, func(t *testing.T) {
			create(t, v.FS(false, nil), "a", 0).Write([]byte("hi"))
			ro := v.FS(true, nil)
			if _, errno := ro.OpenFile("a", sys.O_WRONLY, 0); errno != sys.EROFS {
				t.Fatalf("open for writing = %v, want EROFS", errno)
			}
			if errno := ro.Mkdir("d", 0o755); errno != sys.EROFS {
				t.Fatalf("Mkdir = %v, want EROFS", errno)
			}
			f, errno := ro.OpenFile("a", sys.O_RDONLY, 0)
			if errno != 0 {
				t.Fatal(errno)
			}
			buf := make([]byte, 8)
			if n, _ := f.Read(buf); string(buf[:n]) != "hi" {
				t.Fatalf("Read = %q", buf[:n])
			}
		})
	}
}

func TestOnDiskCountsExistingFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a"), []byte("12345"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("678"), 0o644)
	v, err := OnDisk(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if v.Used() != 8 {
		t.Fatalf("Used = %d, want 8", v.Used())
	}
	f := create(t, v.FS(false, nil), "c", 0)
	if n, _ := f.Write([]byte("abcdef")); n != 2 {
		t.Fatalf("Write = %d, want 2", n)
	}
}

// TestSizeLimitHammer writes from many goroutines at once, as the instances of a pod do: the
// limit holds exactly.
func TestSizeLimitHammer(t *testing.T) {
	for medium, v := range media(t, 1000) {
		t.Run(medium, func(t *testing.T) {
			fsys := v.FS(false, nil)
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f, errno := fsys.OpenFile(strings.Repeat("f", i+1), sys.O_CREAT|sys.O_WRONLY|sys.O_APPEND, 0o644)
					if errno != 0 {
						t.Error(errno)
						return
					}
					defer f.Close()
					for range 100 {
						if _, errno := f.Write([]byte("0123456789abc")); errno != 0 {
							return
						}
					}
				}()
			}
			wg.Wait()
			if v.Used() != 1000 {
				t.Fatalf("Used = %d, want exactly the limit", v.Used())
			}
			var total int64
			for i := range 8 {
				st, errno := fsys.Stat(strings.Repeat("f", i+1))
				if errno != 0 {
					t.Fatal(errno)
				}
				total += st.Size
			}
			if total != 1000 {
				t.Fatalf("files hold %d bytes, want 1000", total)
			}
		})
	}
}
