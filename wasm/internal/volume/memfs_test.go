package volume

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// fsModel runs operations against one sys.FS and describes each outcome as a string, so that two
// file systems can be compared step by step.
type fsModel struct {
	fs    sys.FS
	files []sys.File // open files by slot; nil when closed
}

var names = []string{"a", "b", "d", "d/x", "d/y", "d/e", "d/e/z", "a/", "d/"}

func (m *fsModel) step(r *rand.Rand) (op, outcome string) {
	p := names[r.IntN(len(names))]
	q := names[r.IntN(len(names))]
	data := []byte(strings.Repeat(string(rune('a'+r.IntN(26))), r.IntN(20)))
	switch r.IntN(14) {
	case 0, 1:
		flags := []sys.Oflag{sys.O_RDONLY, sys.O_RDWR | sys.O_CREAT, sys.O_WRONLY | sys.O_CREAT | sys.O_TRUNC,
			sys.O_RDWR | sys.O_CREAT | sys.O_EXCL, sys.O_WRONLY | sys.O_APPEND | sys.O_CREAT, sys.O_RDONLY | sys.O_DIRECTORY}
		fl := flags[r.IntN(len(flags))]
		f, errno := m.fs.OpenFile(p, fl, 0o644)
		if errno == 0 {
			m.files = append(m.files, f)
		}
		return fmt.Sprintf("open %q %v", p, fl), fmt.Sprintf("%v #%d", errno, len(m.files)-1)
	case 2:
		return fmt.Sprintf("mkdir %q", p), m.fs.Mkdir(p, 0o755).Error()
	case 3:
		return fmt.Sprintf("unlink %q", p), m.fs.Unlink(p).Error()
	case 4:
		return fmt.Sprintf("rmdir %q", p), m.fs.Rmdir(p).Error()
	case 5:
		return fmt.Sprintf("rename %q %q", p, q), m.fs.Rename(p, q).Error()
	case 6:
		st, errno := m.fs.Stat(p)
		return fmt.Sprintf("stat %q", p), describe(st.Mode.IsDir(), st.Size, errno)
	}
	// File operations on a random open file.
	if len(m.files) == 0 {
		return "no file", ""
	}
	i := r.IntN(len(m.files))
	f := m.files[i]
	if f == nil {
		return "closed file", ""
	}
	switch r.IntN(7) {
	case 0:
		n, errno := f.Write(data)
		return fmt.Sprintf("write #%d %d", i, len(data)), fmt.Sprint(n, errno)
	case 1:
		off := int64(r.IntN(30))
		n, errno := f.Pwrite(data, off)
		return fmt.Sprintf("pwrite #%d %d@%d", i, len(data), off), fmt.Sprint(n, errno)
	case 2:
		buf := make([]byte, r.IntN(40))
		n, errno := f.Read(buf)
		return fmt.Sprintf("read #%d %d", i, len(buf)), fmt.Sprintf("%q %v", buf[:n], errno)
	case 3:
		off := int64(r.IntN(30))
		whence := r.IntN(3)
		pos, errno := f.Seek(off, whence)
		if isDir, _ := f.IsDir(); isDir {
			return "seek dir", "" // rewinding a directory is only defined for (0, SeekStart)
		}
		return fmt.Sprintf("seek #%d %d %d", i, off, whence), fmt.Sprint(pos, errno)
	case 4:
		size := int64(r.IntN(30))
		return fmt.Sprintf("truncate #%d %d", i, size), f.Truncate(size).Error()
	case 5:
		st, errno := f.Stat()
		return fmt.Sprintf("fstat #%d", i), describe(st.Mode.IsDir(), st.Size, errno)
	default:
		m.files[i] = nil
		return fmt.Sprintf("close #%d", i), f.Close().Error()
	}
}

// describe is a stat result without a directory's size, which depends on the host's file system.
func describe(dir bool, size int64, errno sys.Errno) string {
	if dir {
		size = 0
	}
	return fmt.Sprintf("%v dir=%v size=%d", errno, dir, size)
}

// TestMemFSMatchesDirFS holds the in-memory file system against wazero's DirFS on a real
// directory: the same random operations must give the same results.
func TestMemFSMatchesDirFS(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			disk := &fsModel{fs: sysfs.DirFS(t.TempDir())}
			mem := &fsModel{fs: newMemFS()}
			r1, r2 := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 1))
			var log []string
			for range 300 {
				op, want := disk.step(r1)
				_, got := mem.step(r2)
				log = append(log, op+" -> "+want)
				if got != want {
					t.Fatalf("after:\n%s\nmemfs: %s", strings.Join(log, "\n"), got)
				}
			}
		})
	}
}

// TestMemFSReaddir checks listing, which the comparison above leaves out: DirFS reads a directory
// by its path, so an open directory that is renamed or removed behaves differently there.
func TestMemFSReaddir(t *testing.T) {
	m := newMemFS()
	for _, p := range []string{"b", "a", "c"} {
		f, errno := m.OpenFile(p, sys.O_CREAT|sys.O_WRONLY, 0o644)
		if errno != 0 {
			t.Fatal(errno)
		}
		f.Close()
	}
	if errno := m.Mkdir("d", 0o755); errno != 0 {
		t.Fatal(errno)
	}
	dir, errno := m.OpenFile(".", sys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	var got []string
	for {
		ents, errno := dir.Readdir(2)
		if errno != 0 {
			t.Fatal(errno)
		}
		for _, e := range ents {
			got = append(got, fmt.Sprintf("%s:%v", e.Name, e.IsDir()))
		}
		if len(ents) < 2 {
			break
		}
	}
	if want := "[a:false b:false c:false d:true]"; fmt.Sprint(got) != want {
		t.Fatalf("Readdir = %v, want %s", got, want)
	}
	if _, errno := dir.Seek(0, 0); errno != 0 {
		t.Fatal(errno)
	}
	if ents, _ := dir.Readdir(-1); len(ents) != 4 {
		t.Fatalf("after rewind, Readdir = %v", ents)
	}
	sub, _ := m.OpenFile("d", sys.O_RDONLY, 0)
	if errno := m.Rmdir("d"); errno != 0 {
		t.Fatal(errno)
	}
	if _, errno := sub.Readdir(-1); errno != sys.ENOENT {
		t.Fatalf("Readdir of a removed directory = %v, want ENOENT", errno)
	}
}
