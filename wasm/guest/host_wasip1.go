//go:build wasip1

package guest

import (
	"unsafe"

	"github.com/wasmkube/wasmkube/wasm/internal/abi"
)

// The host functions (module "wasmkube"); see the sandbox's doc.go for their contracts.

//go:wasmimport wasmkube request_head
func hostRequestHead(buf *byte, bufLen uint32) int32

//go:wasmimport wasmkube request_body_read
func hostRequestBodyRead(buf *byte, bufLen uint32) int32

//go:wasmimport wasmkube response_head
func hostResponseHead(buf *byte, bufLen uint32) int32

//go:wasmimport wasmkube response_body_write
func hostResponseBodyWrite(buf *byte, bufLen uint32) int32

//go:wasmimport wasmkube send
func hostSend(buf *byte, bufLen uint32) int32

//go:wasmimport wasmkube response_of
func hostResponseOf(handle int32, buf *byte, bufLen uint32) int32

//go:wasmimport wasmkube body_read
func hostBodyRead(handle int32, buf *byte, bufLen uint32) int32

//go:wasmimport wasmkube body_close
func hostBodyClose(handle int32) int32

//go:wasmimport wasmkube last_error
func hostLastError(buf *byte, bufLen uint32) int32

// ptr returns a pointer to b's first byte, or nil for an empty slice (the host accepts a zero
// length with any pointer).
func ptr(b []byte) *byte {
	if cap(b) == 0 {
		return nil
	}
	return unsafe.SliceData(b)
}

// fetch calls a host function that copies a variable-length value into a buffer and returns its
// size, growing the buffer and retrying when the value does not fit. It returns the value (backed
// by *scratch) or the host's negative code.
func fetch(scratch *[]byte, call func(buf *byte, n uint32) int32) ([]byte, int32) {
	for {
		b := (*scratch)[:cap(*scratch)]
		n := call(ptr(b), uint32(len(b)))
		if n < 0 {
			return nil, n
		}
		if int(n) <= len(b) {
			return b[:n], n
		}
		if n > abi.MaxHeadBytes {
			return nil, abi.ErrEncoding
		}
		*scratch = make([]byte, 0, n)
	}
}

// lastError returns the host's message for the last failed call.
func lastError() string {
	var scratch []byte = make([]byte, 0, 256)
	b, n := fetch(&scratch, hostLastError)
	if n < 0 {
		return "unknown host error"
	}
	return string(b)
}
