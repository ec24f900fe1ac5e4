// Package sandbox runs pods of WebAssembly modules on wazero. It owns compiling modules (with a
// compilation cache on disk and one compiled copy per digest in memory), the pod's shared volumes
// and its loopback, the pool of warm instances behind each HTTP module, running command modules,
// the limits (memory per instance, a deadline per request and per pod, a bound on instances) and
// the host side of the guest ABI. It does not fetch modules, decide restart policy, probe, keep logs
// on disk or talk to the API: the runner does, through Runtime, Pod and the Exit callback.
//
// # Modules
//
// An HTTP module is a WASI reactor that exports wasmkube_handle_v1 (a Go program built with the
// guest SDK and GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared). The host calls its
// _initialize once per instance, then the handler once per request, one request at a time per
// instance; more instances serve concurrent requests. A command module exports _start and runs to
// completion or forever (jobs, workers, sidecars); its exit code is reported.
//
// Every instance gets its container's args (argv[0] is the container name), its env plus
// HOSTNAME, POD_NAME, POD_NAMESPACE and NODE_NAME, the host's wall and monotonic clocks, sleeps that
// really sleep, crypto/rand randomness, the container's stdout and stderr, and the volumes mounted
// at its volumeMounts; nothing else of the host's file system is visible. A volume is an emptyDir
// (a directory on disk, or a tree in memory) or Files: a read-only tree in memory that the runner
// replaces whole, for ConfigMaps and Secrets.
//
// # Limits and failures
//
// A guest that traps, panics, exits, grows its memory past MemoryLimitBytes (the growth fails and
// the instance is killed at once, reported as OOMKilled), or runs past its deadline (the request
// timeout, or the pod's active deadline for commands) is killed. Its request is answered 500 (trap,
// panic, out of memory), 504 (deadline) or 503 (no instance could be had, or the pod is closing);
// the instance is discarded and the Exit reported; other instances and pods do not notice. Guests
// are compiled with checks at every loop header (package wasm/internal/interrupt) that let the
// sandbox stop them within 1024 back-edges and let the Go scheduler preempt them in between;
// RuntimeConfig.TrustedGuests turns them off (see there for the price). A stopped guest traps;
// the sandbox reports the reason it stopped it.
//
// # The ABI (version 1)
//
// The guest imports these functions from the module "wasmkube". Every parameter and result is an
// i32; ptr/len pairs address the guest's memory. The host never allocates in guest memory: when a
// value does not fit in the buffer the guest passed, the function returns the size needed and
// writes nothing, and the guest calls again with a larger buffer. Negative results are the codes in
// wasm/internal/abi (-1 failed: call last_error; -2 no request in progress; -3 bad handle; -4 a
// pointer outside memory; -5 bytes that do not decode; -6 head already sent).
//
//	request_head(buf, cap) -> size       the current request's head (method, target, proto, host,
//	                                     remote address, content length, header), encoded
//	request_body_read(buf, cap) -> n     up to cap bytes of the request body; 0 at the end
//	response_head(buf, len) -> 0         send the response head (status, content length or -1,
//	                                     header), encoded; the host sets Content-Length from it
//	                                     and sniffs a missing Content-Type, as net/http does
//	response_body_write(buf, len) -> n   write body bytes (sends a 200 head first if none was sent)
//	send(buf, len) -> handle             send an outbound request (method, absolute URL, header,
//	                                     body), encoded; blocks until the response head arrives
//	response_of(handle, buf, cap) -> size  the response's head (status, content length, header)
//	body_read(handle, buf, cap) -> n     up to cap bytes of the response body; 0 at the end
//	body_close(handle) -> 0              release the response
//	last_error(buf, cap) -> size         the message of the last call that returned -1
//
// The request functions are valid only during a call of wasmkube_handle_v1; send and the functions
// on its handles work in command modules too. Responses still open when a handler call returns are
// closed by the host. The encodings are little-endian: a string is a u32 length and its bytes, a
// header is a u32 count of (name, value) string pairs, a content length is an i64 (-1 unknown). The
// handler export takes and returns nothing; the guest writes its answer with the functions above.
//
// Outbound requests to localhost:PORT, 127.0.0.1:PORT or [::1]:PORT go to the container of the same
// pod that declares PORT, in process; all others go to PodConfig.Outbound, or fail.
package sandbox
