//go:build (linux || darwin) && (amd64 || arm64)

package sandbox

import "syscall"

// reserve maps size bytes of address space, read-write and committed lazily.
func reserve(size uint64) ([]byte, bool) {
	const pageSize = 1 << 16
	size = (size + pageSize - 1) &^ (pageSize - 1)
	if size == 0 || size > 1<<40 {
		return nil, false
	}
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, false
	}
	return b, true
}

func unreserve(b []byte) { _ = syscall.Munmap(b[:cap(b)]) }
