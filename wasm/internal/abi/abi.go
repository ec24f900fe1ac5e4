// Package abi owns the wire format between the sandbox (the host) and the guest SDK: the names of
// the host functions in the "wasmkube" import module, the name of the handler export, the result
// codes, and the byte encoding of request and response heads that cross guest memory. Both sides
// import it, so it builds for every GOOS and uses nothing but the standard library. It does not
// move bytes in or out of guest memory; the sandbox and the SDK do that.
//
// The protocol itself is documented in the sandbox's doc.go.
package abi

// Version is the ABI version, part of the handler export's name so that the host can tell a guest
// built with an incompatible SDK from one that is not an HTTP module at all.
const Version = 1

// Names of the exports the host looks for.
const (
	// HandleExport is the reactor's HTTP handler: () -> (). The host calls it once per request.
	HandleExport = "wasmkube_handle_v1"
	// InitializeExport is the WASI reactor's initializer, called once per instance.
	InitializeExport = "_initialize"
	// StartExport is the WASI command's entry point.
	StartExport = "_start"
)

// ImportModule is the name of the host module whose functions the guest imports.
const ImportModule = "wasmkube"

// Names of the host functions in ImportModule. Every parameter and result is an i32; pointers and
// lengths refer to the guest's exported memory. See the sandbox's doc.go for each signature.
const (
	FuncRequestHead       = "request_head"
	FuncRequestBodyRead   = "request_body_read"
	FuncResponseHead      = "response_head"
	FuncResponseBodyWrite = "response_body_write"
	FuncSend              = "send"
	FuncResponseOf        = "response_of"
	FuncBodyRead          = "body_read"
	FuncBodyClose         = "body_close"
	FuncLastError         = "last_error"
)

// Result codes: host functions return a non-negative count or handle on success and one of these
// on failure. LastError then returns a message saying what went wrong.
const (
	// ErrFailed is a failure described by LastError (a refused route, an I/O error).
	ErrFailed int32 = -1
	// ErrNoRequest means the function is only valid during a handler call.
	ErrNoRequest int32 = -2
	// ErrBadHandle means the handle is not one the host gave this instance, or was closed.
	ErrBadHandle int32 = -3
	// ErrMemory means a pointer and length do not lie inside guest memory.
	ErrMemory int32 = -4
	// ErrEncoding means bytes the guest passed do not decode.
	ErrEncoding int32 = -5
	// ErrHeadSent means the response head was already sent for this request.
	ErrHeadSent int32 = -6
)

// MaxHeadBytes bounds an encoded head in either direction (as net/http's DefaultMaxHeaderBytes).
const MaxHeadBytes = 1 << 20
