package volume

import (
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// memFS is a directory tree held in process memory: the backing of `medium: Memory` volumes. It
// follows the errors that wazero's DirFS gives on Linux (memfs_test.go holds it against DirFS).
// One mutex guards the tree and every open file; guests of a pod contend on it only while copying.
// It has no symbolic or hard links.
type memFS struct {
	sys.UnimplementedFS

	mu      sync.Mutex
	root    *node
	nextIno uint64
}

// node is a file or a directory.
type node struct {
	ino              uint64
	mode             fs.FileMode // fs.ModeDir for directories, plus permission bits
	data             []byte
	kids             map[string]*node
	removed          bool // a directory that was removed while open: Readdir fails with ENOENT
	atim, mtim, ctim int64
}

func (n *node) isDir() bool { return n.mode.IsDir() }

// newMemFS returns an empty tree.
func newMemFS() *memFS {
	m := &memFS{}
	m.root = m.newNode(fs.ModeDir | 0o777)
	return m
}

func (m *memFS) newNode(mode fs.FileMode) *node {
	m.nextIno++
	now := time.Now().UnixNano()
	n := &node{ino: m.nextIno, mode: mode, atim: now, mtim: now, ctim: now}
	if mode.IsDir() {
		n.kids = map[string]*node{}
	}
	return n
}

// split cleans a path from wazero (relative, already cleaned, maybe with a trailing slash) into
// its components; root is the empty slice.
func split(p string) (parts []string, trailingSlash bool) {
	trailingSlash = strings.HasSuffix(p, "/")
	p = strings.Trim(p, "/")
	if p == "" || p == "." {
		return nil, trailingSlash
	}
	return strings.Split(p, "/"), trailingSlash
}

// lookup returns the node at parts.
func (m *memFS) lookup(parts []string) (*node, sys.Errno) {
	n := m.root
	for _, name := range parts {
		if !n.isDir() {
			return nil, sys.ENOTDIR
		}
		next, ok := n.kids[name]
		if !ok {
			return nil, sys.ENOENT
		}
		n = next
	}
	return n, 0
}

// parent returns the directory that holds (or would hold) the last element of parts.
func (m *memFS) parent(parts []string) (*node, string, sys.Errno) {
	if len(parts) == 0 {
		return nil, "", sys.EINVAL
	}
	dir, errno := m.lookup(parts[:len(parts)-1])
	if errno != 0 {
		return nil, "", errno
	}
	if !dir.isDir() {
		return nil, "", sys.ENOTDIR
	}
	return dir, parts[len(parts)-1], 0
}

// OpenFile implements sys.FS.
func (m *memFS) OpenFile(path string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts, trailing := split(path)
	access := flag & (sys.O_RDONLY | sys.O_RDWR | sys.O_WRONLY)
	var n *node
	if len(parts) == 0 {
		n = m.root
	} else {
		dir, name, errno := m.parent(parts)
		if errno != 0 {
			return nil, errno
		}
		n = dir.kids[name]
		if n == nil {
			if flag&sys.O_CREAT == 0 {
				return nil, sys.ENOENT
			}
			if trailing || flag&sys.O_DIRECTORY != 0 {
				return nil, sys.EISDIR
			}
			n = m.newNode(perm & fs.ModePerm)
			dir.kids[name] = n
			dir.mtim, dir.ctim = n.mtim, n.mtim
		} else if flag&sys.O_CREAT != 0 && trailing {
			return nil, sys.EISDIR // as Linux's open(2)
		} else if flag&sys.O_CREAT != 0 && flag&sys.O_EXCL != 0 {
			return nil, sys.EEXIST
		}
	}
	if n.isDir() {
		if access != sys.O_RDONLY {
			return nil, sys.EISDIR
		}
	} else {
		if trailing && flag&sys.O_CREAT != 0 {
			return nil, sys.EISDIR // as Linux's open(2)
		}
		if trailing || flag&sys.O_DIRECTORY != 0 {
			return nil, sys.ENOTDIR
		}
		if flag&sys.O_TRUNC != 0 && access != sys.O_RDONLY && len(n.data) > 0 {
			n.data = nil
			n.mtim = time.Now().UnixNano()
			n.ctim = n.mtim
		}
	}
	return &memFile{
		fs:       m,
		n:        n,
		readable: access != sys.O_WRONLY,
		writable: access != sys.O_RDONLY,
		append:   flag&sys.O_APPEND != 0,
	}, 0
}

func (m *memFS) stat(path string) (wsys.Stat_t, sys.Errno) {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts, trailing := split(path)
	n, errno := m.lookup(parts)
	if errno != 0 {
		return wsys.Stat_t{}, errno
	}
	if trailing && !n.isDir() {
		return wsys.Stat_t{}, sys.ENOTDIR
	}
	return n.stat(), 0
}

// Stat implements sys.FS.
func (m *memFS) Stat(path string) (wsys.Stat_t, sys.Errno) { return m.stat(path) }

// Lstat implements sys.FS; there are no links, so it is Stat.
func (m *memFS) Lstat(path string) (wsys.Stat_t, sys.Errno) { return m.stat(path) }

func (n *node) stat() wsys.Stat_t {
	st := wsys.Stat_t{Dev: 1, Ino: n.ino, Mode: n.mode, Nlink: 1, Size: int64(len(n.data)),
		Atim: n.atim, Mtim: n.mtim, Ctim: n.ctim}
	if n.isDir() {
		st.Nlink = 2
		for _, k := range n.kids {
			if k.isDir() {
				st.Nlink++
			}
		}
	}
	return st
}

// Mkdir implements sys.FS.
func (m *memFS) Mkdir(path string, perm fs.FileMode) sys.Errno {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts, _ := split(path)
	if len(parts) == 0 {
		return sys.EEXIST
	}
	dir, name, errno := m.parent(parts)
	if errno == sys.ENOTDIR {
		return sys.ENOENT // as DirFS reports it
	}
	if errno != 0 {
		return errno
	}
	if _, ok := dir.kids[name]; ok {
		return sys.EEXIST
	}
	n := m.newNode(fs.ModeDir | perm&fs.ModePerm)
	dir.kids[name] = n
	dir.mtim, dir.ctim = n.mtim, n.mtim
	return 0
}

// Chmod implements sys.FS.
func (m *memFS) Chmod(path string, perm fs.FileMode) sys.Errno {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts, _ := split(path)
	n, errno := m.lookup(parts)
	if errno != 0 {
		return errno
	}
	n.mode = n.mode&fs.ModeType | perm&fs.ModePerm
	n.ctim = time.Now().UnixNano()
	return 0
}

// Rename implements sys.FS.
func (m *memFS) Rename(from, to string) sys.Errno {
	m.mu.Lock()
	defer m.mu.Unlock()
	if from == to {
		return 0 // as DirFS, before looking at either path
	}
	fromParts, fromSlash := split(from)
	toParts, toSlash := split(to)
	if len(fromParts) == 0 || len(toParts) == 0 {
		return sys.EINVAL
	}
	fdir, fname, errno := m.parent(fromParts)
	if errno != 0 {
		return errno
	}
	tdir, tname, errno := m.parent(toParts)
	if errno != 0 {
		return errno
	}
	src, ok := fdir.kids[fname]
	if !ok {
		return sys.ENOENT
	}
	if (fromSlash || toSlash) && !src.isDir() {
		return sys.ENOTDIR
	}
	if len(toParts) < len(fromParts) && strings.HasPrefix(strings.Join(fromParts, "/")+"/", strings.Join(toParts, "/")+"/") {
		return sys.ENOTEMPTY // onto its own ancestor, as Linux reports it
	}
	if src.isDir() && len(toParts) > len(fromParts) && strings.HasPrefix(strings.Join(toParts, "/")+"/", strings.Join(fromParts, "/")+"/") {
		return sys.EINVAL // into its own subtree
	}
	if dst, ok := tdir.kids[tname]; ok {
		if dst == src {
			return 0
		}
		switch {
		case src.isDir() && !dst.isDir():
			return sys.ENOTDIR
		case !src.isDir() && dst.isDir():
			return sys.EISDIR
		case dst.isDir() && len(dst.kids) > 0:
			return sys.ENOTEMPTY
		}
		dst.removed = dst.isDir()
	}
	delete(fdir.kids, fname)
	tdir.kids[tname] = src
	now := time.Now().UnixNano()
	fdir.mtim, tdir.mtim, src.ctim = now, now, now
	return 0
}

// Rmdir implements sys.FS.
func (m *memFS) Rmdir(path string) sys.Errno {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts, _ := split(path)
	if len(parts) == 0 {
		return sys.EINVAL
	}
	dir, name, errno := m.parent(parts)
	if errno != 0 {
		return errno
	}
	n, ok := dir.kids[name]
	switch {
	case !ok:
		return sys.ENOENT
	case !n.isDir():
		return sys.ENOTDIR
	case len(n.kids) > 0:
		return sys.ENOTEMPTY
	}
	n.removed = true
	delete(dir.kids, name)
	dir.mtim = time.Now().UnixNano()
	return 0
}

// Unlink implements sys.FS.
func (m *memFS) Unlink(path string) sys.Errno {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts, trailing := split(path)
	if len(parts) == 0 {
		return sys.EISDIR
	}
	dir, name, errno := m.parent(parts)
	if errno != 0 {
		return errno
	}
	n, ok := dir.kids[name]
	switch {
	case !ok:
		return sys.ENOENT
	case n.isDir():
		return sys.EISDIR
	case trailing:
		return sys.ENOTDIR
	}
	delete(dir.kids, name)
	dir.mtim = time.Now().UnixNano()
	return 0
}

// Readlink implements sys.FS: there are no symbolic links.
func (m *memFS) Readlink(path string) (string, sys.Errno) {
	if _, errno := m.stat(path); errno != 0 {
		return "", errno
	}
	return "", sys.EINVAL
}

// Utimens implements sys.FS.
func (m *memFS) Utimens(path string, atim, mtim int64) sys.Errno {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts, _ := split(path)
	n, errno := m.lookup(parts)
	if errno != 0 {
		return errno
	}
	n.utimens(atim, mtim)
	return 0
}

func (n *node) utimens(atim, mtim int64) {
	if atim != sys.UTIME_OMIT {
		n.atim = atim
	}
	if mtim != sys.UTIME_OMIT {
		n.mtim = mtim
	}
	n.ctim = time.Now().UnixNano()
}

// memFile is an open file or directory of a memFS.
type memFile struct {
	sys.UnimplementedFile

	fs                 *memFS
	n                  *node
	readable, writable bool
	append             bool
	closed             bool
	off                int64
	dirents            []sys.Dirent // snapshot taken by the first Readdir after open or rewind
	direntsRead        bool
}

func (f *memFile) lock() sys.Errno {
	f.fs.mu.Lock()
	if f.closed {
		f.fs.mu.Unlock()
		return sys.EBADF
	}
	return 0
}

func (f *memFile) unlock() { f.fs.mu.Unlock() }

// Dev implements sys.File.
func (f *memFile) Dev() (uint64, sys.Errno) { return 1, 0 }

// Ino implements sys.File.
func (f *memFile) Ino() (wsys.Inode, sys.Errno) { return f.n.ino, 0 }

// IsDir implements sys.File.
func (f *memFile) IsDir() (bool, sys.Errno) { return f.n.isDir(), 0 }

// IsAppend implements sys.File.
func (f *memFile) IsAppend() bool { return f.append }

// SetAppend implements sys.File.
func (f *memFile) SetAppend(enable bool) sys.Errno {
	if errno := f.lock(); errno != 0 {
		return errno
	}
	defer f.unlock()
	f.append = enable
	return 0
}

// Stat implements sys.File.
func (f *memFile) Stat() (wsys.Stat_t, sys.Errno) {
	if errno := f.lock(); errno != 0 {
		return wsys.Stat_t{}, errno
	}
	defer f.unlock()
	return f.n.stat(), 0
}

// Read implements sys.File.
func (f *memFile) Read(buf []byte) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0 // as DirFS, before any check
	}
	if errno := f.lock(); errno != 0 {
		return 0, errno
	}
	defer f.unlock()
	n, errno := f.pread(buf, f.off)
	f.off += int64(n)
	return n, errno
}

// Pread implements sys.File.
func (f *memFile) Pread(buf []byte, off int64) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0 // as DirFS, before any check
	}
	if errno := f.lock(); errno != 0 {
		return 0, errno
	}
	defer f.unlock()
	if off < 0 {
		return 0, sys.EINVAL
	}
	return f.pread(buf, off)
}

func (f *memFile) pread(buf []byte, off int64) (int, sys.Errno) {
	switch {
	case f.n.isDir():
		return 0, sys.EISDIR
	case !f.readable:
		return 0, sys.EBADF
	case off >= int64(len(f.n.data)):
		return 0, 0
	}
	f.n.atim = time.Now().UnixNano()
	return copy(buf, f.n.data[off:]), 0
}

// fileOffset is int64 under a name that keeps go vet's io.Seeker signature check off Seek, which
// implements wazero's sys.File rather than io.Seeker.
type fileOffset = int64

// Seek implements sys.File.
func (f *memFile) Seek(offset fileOffset, whence int) (int64, sys.Errno) {
	if errno := f.lock(); errno != 0 {
		return 0, errno
	}
	defer f.unlock()
	if f.n.isDir() {
		if offset != 0 || whence != io.SeekStart {
			return 0, sys.EISDIR
		}
		f.dirents, f.direntsRead = nil, false
		return 0, 0
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = f.off + offset
	case io.SeekEnd:
		abs = int64(len(f.n.data)) + offset
	default:
		return 0, sys.EINVAL
	}
	if abs < 0 {
		return 0, sys.EINVAL
	}
	f.off = abs
	return abs, 0
}

// Readdir implements sys.File.
func (f *memFile) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	if errno := f.lock(); errno != 0 {
		return nil, errno
	}
	defer f.unlock()
	if !f.n.isDir() {
		return nil, sys.EBADF
	}
	if f.n.removed {
		return nil, sys.ENOENT
	}
	if !f.direntsRead {
		f.direntsRead = true
		names := make([]string, 0, len(f.n.kids))
		for name := range f.n.kids {
			names = append(names, name)
		}
		sort.Strings(names)
		f.dirents = make([]sys.Dirent, len(names))
		for i, name := range names {
			k := f.n.kids[name]
			f.dirents[i] = sys.Dirent{Name: name, Ino: k.ino, Type: k.mode.Type()}
		}
	}
	if n <= 0 || n > len(f.dirents) {
		n = len(f.dirents)
	}
	out := f.dirents[:n:n]
	f.dirents = f.dirents[n:]
	return out, 0
}

// Write implements sys.File.
func (f *memFile) Write(buf []byte) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0 // as DirFS, before any check
	}
	if errno := f.lock(); errno != 0 {
		return 0, errno
	}
	defer f.unlock()
	if f.n.isDir() {
		return 0, sys.EISDIR
	}
	if f.append {
		f.off = int64(len(f.n.data))
	}
	n, errno := f.pwrite(buf, f.off)
	f.off += int64(n)
	return n, errno
}

// Pwrite implements sys.File.
func (f *memFile) Pwrite(buf []byte, off int64) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0 // as DirFS, before any check
	}
	if errno := f.lock(); errno != 0 {
		return 0, errno
	}
	defer f.unlock()
	if f.n.isDir() {
		return 0, sys.EISDIR
	}
	if off < 0 {
		return 0, sys.EINVAL
	}
	if f.append {
		return 0, sys.EIO // as DirFS: Go's os.File refuses WriteAt on a file opened with O_APPEND
	}
	return f.pwrite(buf, off)
}

func (f *memFile) pwrite(buf []byte, off int64) (int, sys.Errno) {
	if !f.writable {
		return 0, sys.EBADF
	}
	if end := off + int64(len(buf)); end > int64(len(f.n.data)) {
		f.n.resize(end)
	}
	n := copy(f.n.data[off:], buf)
	f.n.mtim = time.Now().UnixNano()
	f.n.ctim = f.n.mtim
	return n, 0
}

// resize sets the file's length, zero-filling growth and growing capacity geometrically.
func (n *node) resize(size int64) {
	if size <= int64(cap(n.data)) {
		old := len(n.data)
		n.data = n.data[:size]
		if int(size) > old {
			clear(n.data[old:])
		}
		return
	}
	grown := make([]byte, size, max(size, 2*int64(cap(n.data))))
	copy(grown, n.data)
	n.data = grown
}

// Truncate implements sys.File.
func (f *memFile) Truncate(size int64) sys.Errno {
	if errno := f.lock(); errno != 0 {
		return errno
	}
	defer f.unlock()
	switch {
	case f.n.isDir():
		return sys.EISDIR
	case size < 0:
		return sys.EINVAL
	case !f.writable:
		return sys.EINVAL // as ftruncate(2) on a descriptor not open for writing
	}
	f.n.resize(size)
	if size < int64(cap(f.n.data))/4 {
		f.n.data = append([]byte(nil), f.n.data...) // give memory back after a big shrink
	}
	f.n.mtim = time.Now().UnixNano()
	f.n.ctim = f.n.mtim
	return 0
}

// Sync implements sys.File.
func (f *memFile) Sync() sys.Errno {
	if errno := f.lock(); errno != 0 {
		return errno
	}
	f.unlock()
	return 0
}

// Datasync implements sys.File.
func (f *memFile) Datasync() sys.Errno { return f.Sync() }

// Utimens implements sys.File.
func (f *memFile) Utimens(atim, mtim int64) sys.Errno {
	if errno := f.lock(); errno != 0 {
		return errno
	}
	defer f.unlock()
	f.n.utimens(atim, mtim)
	return 0
}

// Close implements sys.File.
func (f *memFile) Close() sys.Errno {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.closed = true
	f.dirents = nil
	return 0
}
