package sandbox

import (
	"errors"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// errOutOfMemory is what linearMemory panics with to kill a guest that grows past its limit; the
// panic unwinds the guest's call (wazero recovers it into the call's error).
var errOutOfMemory = errors.New("out of memory")

// minMapped is the smallest initial memory given a mapping: below it (hand-written, TinyGo or Rust
// modules) copies on growth are cheap and a Go slice instantiates faster than a mapping, whose
// system calls and first page fault cost more than the whole memory.
const minMapped = 1 << 20

// maxReservation bounds the address space reserved for one memory without a limit; a guest that
// grows past it continues in a Go slice.
const maxReservation = 1 << 30

// linearMemory backs one instance's memory and enforces its limit. wazero calls it from the
// instance's goroutine only.
//
// Where the platform allows and the memory starts at minMapped or more (a Go guest's does), it is an
// anonymous mapping reserved once at the limit (or the module's maximum, up to maxReservation) and
// never moved: growing costs no copy, the kernel commits pages as the guest
// touches them, and closing the instance gives them back at once. Elsewhere it is a Go slice that
// doubles.
type linearMemory struct {
	limit     uint64 // bytes; 0 means the module's own maximum
	reserveAt uint64 // the most address space to reserve; 0 means maxReservation
	max       uint64
	buf       []byte
	mapping   []byte        // the reservation, when mapped
	size      atomic.Uint64 // len(buf), for Stats from other goroutines
	allocated bool          // the first Reallocate (the module's minimum) happened
	oom       bool          // a growth past the limit was refused
	overLimit bool          // the module's minimum memory is above the limit
}

var (
	_ experimental.MemoryAllocator = (*linearMemory)(nil)
	_ experimental.LinearMemory    = (*linearMemory)(nil)
)

// Allocate implements experimental.MemoryAllocator; each instance has its own linearMemory.
func (m *linearMemory) Allocate(capacity, max uint64) experimental.LinearMemory {
	m.max = max
	if m.limit > 0 {
		m.max = min(m.max, m.limit)
	}
	if m.reserveAt == 0 {
		m.reserveAt = maxReservation
	}
	if capacity < minMapped {
		m.buf = make([]byte, 0, min(capacity, m.max))
		return m
	}
	if mapping, ok := reserve(min(m.max, m.reserveAt)); ok {
		m.mapping = mapping
		m.buf = mapping[:0]
	} else {
		m.buf = make([]byte, 0, min(capacity, m.max))
	}
	return m
}

// Reallocate implements experimental.LinearMemory. Growth past the limit kills the guest at once:
// a Go guest cannot survive a failed memory.grow anyway, and a hand-written one must not keep
// running on refused memory unnoticed.
func (m *linearMemory) Reallocate(size uint64) []byte {
	first := !m.allocated
	m.allocated = true
	if m.limit > 0 && size > m.limit {
		if first {
			// The module's minimum, during instantiation, where a panic would not be recovered:
			// note it and let newInstance refuse the instance.
			m.overLimit = true
			m.release()
			m.buf = make([]byte, size)
			m.size.Store(size)
			return m.buf
		}
		m.oom = true
		panic(errOutOfMemory)
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size] // wasm memory never shrinks: bytes past the old length are zero
		if first && m.mapping != nil {
			populate(m.buf) // instantiation writes the module's data into it next
		}
	} else {
		grown := make([]byte, size, max(size, min(2*uint64(cap(m.buf)), m.max)))
		copy(grown, m.buf)
		m.buf = grown
		if m.mapping != nil { // past the reservation: the slice takes over
			unreserve(m.mapping)
			m.mapping = nil
		}
	}
	m.size.Store(size)
	return m.buf
}

// Free implements experimental.LinearMemory. It does nothing: wazero may call it from Runtime.Close
// while the guest still runs on another goroutine, so the mapping is released by release, which
// the instance calls once its module is closed and no call is running.
func (m *linearMemory) Free() {}

// release unmaps the reservation; the memory must not be used after.
func (m *linearMemory) release() {
	if m.mapping != nil {
		unreserve(m.mapping)
		m.mapping = nil
	}
	m.buf = nil
	m.size.Store(0)
}
