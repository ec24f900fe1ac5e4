// Package volume owns pod volumes as the sandbox mounts them into guests' WASI filesystems: an
// emptyDir on the node's disk or held in process memory (`medium: Memory`), with a size limit
// shared by every mount of the volume. It does not decide where volumes live on disk or when they
// are deleted; the sandbox's caller does.
//
// Guests cannot make links: Symlink and Link fail with EPERM, so nothing inside a disk volume can
// point outside it (wazero already refuses paths with "..").
//
// wazero's file API has no ENOSPC: a write refused for space fails with EIO and calls the mount's
// noSpace callback, which the sandbox uses to turn that EIO into ENOSPC for the guest.
package volume

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// Volume is one pod volume. It is safe for concurrent use by every instance of the pod.
type Volume struct {
	backing sys.FS
	limit   int64 // bytes; 0 means no limit

	mu   sync.Mutex // held across each size change, so that the check and the write are one step
	used int64      // bytes in regular files
}

// OnDisk returns a volume backed by dir, creating it if needed. Files already there count
// toward limit (bytes; 0 for none), so a volume survives its pod's process being restarted.
func OnDisk(dir string, limit int64) (*Volume, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create volume directory: %w", err)
	}
	var used int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			used += info.Size()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("measure volume directory: %w", err)
	}
	return &Volume{backing: sysfs.DirFS(dir), limit: limit, used: used}, nil
}

// InMemory returns an empty volume held in process memory, bounded by limit bytes (0 for none).
func InMemory(limit int64) *Volume {
	return &Volume{backing: newMemFS(), limit: limit}
}

// Used returns the bytes held in the volume's regular files.
func (v *Volume) Used() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.used
}

// Limit returns the volume's size limit in bytes, 0 for none.
func (v *Volume) Limit() int64 { return v.limit }

// FS returns a view of the volume to mount into one guest instance. A readOnly view fails writes
// with EROFS. noSpace (which may be nil) is called on the writing goroutine each time a write,
// truncate or allocate fails because it would take the volume past its limit.
func (v *Volume) FS(readOnly bool, noSpace func()) sys.FS {
	var f sys.FS = &guardedFS{FS: v.backing, v: v, noSpace: noSpace}
	if readOnly {
		f = readOnlyFS{&sysfs.ReadFS{FS: f}}
	}
	return f
}

// readOnlyFS is wazero's ReadFS, failing opens for writing with EROFS (as a read-only mount does)
// rather than ENOSYS.
type readOnlyFS struct{ *sysfs.ReadFS }

// OpenFile implements sys.FS.
func (r readOnlyFS) OpenFile(path string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	f, errno := r.ReadFS.OpenFile(path, flag, perm)
	if errno == sys.ENOSYS {
		errno = sys.EROFS
	}
	return f, errno
}

// grow reserves delta bytes (negative to release). It fails without reserving anything when the
// volume would pass its limit. v.mu must be held.
func (v *Volume) grow(delta int64) bool {
	if delta > 0 && v.limit > 0 && v.used+delta > v.limit {
		return false
	}
	v.used = max(v.used+delta, 0)
	return true
}

// guardedFS accounts sizes and refuses links.
type guardedFS struct {
	sys.FS
	v       *Volume
	noSpace func()
}

func (g *guardedFS) refuse() sys.Errno {
	if g.noSpace != nil {
		g.noSpace()
	}
	return sys.EIO
}

// regularSize returns the size of the regular file at path, or 0 if it is not one.
func (g *guardedFS) regularSize(path string) int64 {
	st, errno := g.FS.Lstat(path)
	if errno != 0 || !st.Mode.IsRegular() {
		return 0
	}
	return st.Size
}

// OpenFile implements sys.FS.
func (g *guardedFS) OpenFile(path string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	g.v.mu.Lock()
	defer g.v.mu.Unlock()
	var freed int64
	if flag&sys.O_TRUNC != 0 && flag&(sys.O_RDWR|sys.O_WRONLY) != 0 {
		freed = g.regularSize(path)
	}
	f, errno := g.FS.OpenFile(path, flag, perm)
	if errno != 0 {
		return nil, errno
	}
	g.v.grow(-freed)
	return &guardedFile{File: f, g: g}, 0
}

// Unlink implements sys.FS.
func (g *guardedFS) Unlink(path string) sys.Errno {
	g.v.mu.Lock()
	defer g.v.mu.Unlock()
	size := g.regularSize(path)
	errno := g.FS.Unlink(path)
	if errno == 0 {
		g.v.grow(-size)
	}
	return errno
}

// Rename implements sys.FS: a regular file replaced at `to` gives back its space.
func (g *guardedFS) Rename(from, to string) sys.Errno {
	g.v.mu.Lock()
	defer g.v.mu.Unlock()
	var replaced int64
	if src, errno := g.FS.Lstat(from); errno == 0 {
		if dst, errno := g.FS.Lstat(to); errno == 0 && dst.Mode.IsRegular() && dst.Ino != src.Ino {
			replaced = dst.Size
		}
	}
	errno := g.FS.Rename(from, to)
	if errno == 0 {
		g.v.grow(-replaced)
	}
	return errno
}

// Link implements sys.FS: links are refused.
func (g *guardedFS) Link(_, _ string) sys.Errno { return sys.EPERM }

// Symlink implements sys.FS: links are refused, so nothing in a volume points outside it.
func (g *guardedFS) Symlink(_, _ string) sys.Errno { return sys.EPERM }

// guardedFile checks each size change against the volume's limit.
type guardedFile struct {
	sys.File
	g *guardedFS
}

// writeAt writes buf at off (or at the end when appending), clipped to what the limit allows.
func (f *guardedFile) write(buf []byte, off int64, at bool) (int, sys.Errno) {
	v := f.g.v
	v.mu.Lock()
	defer v.mu.Unlock()
	st, errno := f.File.Stat()
	if errno != 0 {
		return 0, errno
	}
	size := st.Size
	if !at {
		if f.File.IsAppend() {
			off = size
		} else if off, errno = f.File.Seek(0, io.SeekCurrent); errno != 0 {
			return 0, errno
		}
	}
	if end := off + int64(len(buf)); end > size && v.limit > 0 && v.used+end-size > v.limit {
		fit := size + (v.limit - v.used) - off // bytes that stay within the limit
		if fit <= 0 {
			return 0, f.g.refuse()
		}
		buf = buf[:fit]
	}
	var n int
	if at {
		n, errno = f.File.Pwrite(buf, off)
	} else {
		n, errno = f.File.Write(buf)
	}
	if end := off + int64(n); end > size {
		v.grow(end - size)
	}
	return n, errno
}

// Write implements sys.File.
func (f *guardedFile) Write(buf []byte) (int, sys.Errno) { return f.write(buf, 0, false) }

// Pwrite implements sys.File.
func (f *guardedFile) Pwrite(buf []byte, off int64) (int, sys.Errno) {
	if off < 0 {
		return 0, sys.EINVAL
	}
	return f.write(buf, off, true)
}

// Truncate implements sys.File.
func (f *guardedFile) Truncate(size int64) sys.Errno {
	v := f.g.v
	v.mu.Lock()
	defer v.mu.Unlock()
	st, errno := f.File.Stat()
	if errno != 0 {
		return errno
	}
	if size >= 0 && !v.grow(size-st.Size) {
		return f.g.refuse()
	}
	if errno := f.File.Truncate(size); errno != 0 {
		v.grow(st.Size - size) // undo
		return errno
	}
	return 0
}
