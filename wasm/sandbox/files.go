package sandbox

import (
	"fmt"
	"io/fs"
	"path"
	"sync/atomic"
	"testing/fstest"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// File is one file of a Files volume.
type File struct {
	// Path is relative and slash-separated ("app.conf", "tls/ca.crt"); directories on the way are
	// implied.
	Path string
	Data []byte
	// Mode holds the permission bits (0 to 0777), as a ConfigMap volume's mode and defaultMode;
	// they are what Stat reports on the host. WASI has no permissions, so guests see its defaults.
	Mode fs.FileMode
}

// Files is the content of a read-only volume that its owner replaces as a whole, as the kubelet
// projects a ConfigMap or a Secret into a pod. Set swaps the whole set at once: each open, stat
// and directory listing of a guest sees one complete set, never part of one and part of another,
// and a file or directory opened before a Set keeps reading what it was opened with. The files
// live in process memory, as the kubelet keeps Secret volumes on tmpfs, off the disk. Files is an
// fs.FS; it is safe for concurrent use.
type Files struct {
	cur atomic.Pointer[fstest.MapFS] // never mutated once stored
}

var _ fs.FS = (*Files)(nil)

// NewFiles returns a Files holding files; see Set for what is refused.
func NewFiles(files []File) (*Files, error) {
	f := &Files{}
	if err := f.Set(files); err != nil {
		return nil, err
	}
	return f, nil
}

// Set replaces every file at once. It refuses, changing nothing, a path that is absolute, empty,
// not clean or climbs out with "..", a path used twice or both as a file and as a directory, and a
// mode with more than permission bits. Data is not copied: the caller must not change it after.
func (f *Files) Set(files []File) error {
	m := make(fstest.MapFS, len(files))
	for _, file := range files {
		p := file.Path
		switch {
		case p == "" || path.IsAbs(p) || path.Clean(p) != p || !fs.ValidPath(p) || p == ".":
			return fmt.Errorf("file path %q: want a clean relative path without \"..\", such as conf/app.yaml", p)
		case file.Mode&^fs.ModePerm != 0:
			return fmt.Errorf("file %s: mode %#o: want permission bits only (0 to 0777)", p, uint32(file.Mode))
		case m[p] != nil:
			return fmt.Errorf("file %s: path given twice", p)
		}
		m[p] = &fstest.MapFile{Data: file.Data, Mode: file.Mode}
	}
	for p := range m {
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if m[dir] != nil {
				return fmt.Errorf("file %s: %s is a file, not a directory", p, dir)
			}
		}
	}
	f.cur.Store(&m)
	return nil
}

// Open implements fs.FS on the current set.
func (f *Files) Open(name string) (fs.File, error) {
	return f.cur.Load().Open(name)
}

// fsView is the view of f a guest mounts: read-only, opens for writing failing with EROFS as on a
// read-only mount.
func (f *Files) fsView() sys.FS {
	return readOnlyFiles{&sysfs.ReadFS{FS: &sysfs.AdaptFS{FS: f}}}
}

type readOnlyFiles struct{ *sysfs.ReadFS }

// OpenFile implements sys.FS.
func (r readOnlyFiles) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	file, errno := r.ReadFS.OpenFile(p, flag, perm)
	if errno == sys.ENOSYS {
		errno = sys.EROFS
	}
	return file, errno
}
