package wasmtest

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer safe for concurrent writes, such as the stdout of a pod's modules or
// a component's log, which a test reads with String while they run.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
