package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmkube/wasmkube/wasm/internal/abi"
)

// maxOpenResponses bounds the outbound responses one instance may hold open.
const maxOpenResponses = 64

// hostModule builds the "wasmkube" host module; doc.go documents each function.
func hostModule(wz wazero.Runtime) wazero.HostModuleBuilder {
	b := wz.NewHostModuleBuilder(abi.ImportModule)
	export := func(name string, params int, f func(inst *instance, mem api.Memory, p []uint64) int32) {
		types := make([]api.ValueType, params)
		for i := range types {
			types[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			inst := instanceOf(ctx)
			if inst == nil {
				stack[0] = api.EncodeI32(abi.ErrNoRequest)
				return
			}
			stack[0] = api.EncodeI32(f(inst, mod.Memory(), stack))
		}), types, []api.ValueType{api.ValueTypeI32}).Export(name)
	}
	export(abi.FuncRequestHead, 2, func(inst *instance, mem api.Memory, p []uint64) int32 {
		return inst.requestHead(mem, u32(p[0]), u32(p[1]))
	})
	export(abi.FuncRequestBodyRead, 2, func(inst *instance, mem api.Memory, p []uint64) int32 {
		if inst.req == nil {
			return abi.ErrNoRequest
		}
		return inst.read(inst.req.Body, mem, u32(p[0]), u32(p[1]))
	})
	export(abi.FuncResponseHead, 2, func(inst *instance, mem api.Memory, p []uint64) int32 {
		return inst.responseHead(mem, u32(p[0]), u32(p[1]))
	})
	export(abi.FuncResponseBodyWrite, 2, func(inst *instance, mem api.Memory, p []uint64) int32 {
		return inst.responseBodyWrite(mem, u32(p[0]), u32(p[1]))
	})
	export(abi.FuncSend, 2, func(inst *instance, mem api.Memory, p []uint64) int32 {
		return inst.send(mem, u32(p[0]), u32(p[1]))
	})
	export(abi.FuncResponseOf, 3, func(inst *instance, mem api.Memory, p []uint64) int32 {
		resp, code := inst.response(api.DecodeI32(p[0]))
		if resp == nil {
			return code
		}
		head := abi.ResponseHead{Status: resp.StatusCode, ContentLength: resp.ContentLength, Header: abi.Header(resp.Header)}
		return copyOut(mem, u32(p[1]), u32(p[2]), head.Append(nil))
	})
	export(abi.FuncBodyRead, 3, func(inst *instance, mem api.Memory, p []uint64) int32 {
		resp, code := inst.response(api.DecodeI32(p[0]))
		if resp == nil {
			return code
		}
		return inst.read(resp.Body, mem, u32(p[1]), u32(p[2]))
	})
	export(abi.FuncBodyClose, 1, func(inst *instance, _ api.Memory, p []uint64) int32 {
		h := api.DecodeI32(p[0])
		resp, code := inst.response(h)
		if resp == nil {
			return code
		}
		resp.Body.Close()
		inst.responses[h] = nil
		return 0
	})
	export(abi.FuncLastError, 2, func(inst *instance, mem api.Memory, p []uint64) int32 {
		return copyOut(mem, u32(p[0]), u32(p[1]), []byte(inst.lastErr))
	})
	return b
}

func u32(v uint64) uint32 { return uint32(v) }

// copyOut writes b at ptr if it fits in size bytes; either way it returns len(b).
func copyOut(mem api.Memory, ptr, size uint32, b []byte) int32 {
	if len(b) > int(size) {
		return int32(len(b))
	}
	if !mem.Write(ptr, b) {
		return abi.ErrMemory
	}
	return int32(len(b))
}

func (inst *instance) fail(format string, args ...any) int32 {
	inst.lastErr = fmt.Sprintf(format, args...)
	return abi.ErrFailed
}

func (inst *instance) requestHead(mem api.Memory, ptr, size uint32) int32 {
	r := inst.req
	if r == nil {
		return abi.ErrNoRequest
	}
	if !inst.headBuilt {
		uri := r.RequestURI
		if uri == "" {
			uri = r.URL.RequestURI()
		}
		length := r.ContentLength
		if r.Body == nil || r.Body == http.NoBody {
			length = 0
		}
		head := abi.RequestHead{Method: r.Method, URI: uri, Proto: r.Proto, Host: r.Host,
			RemoteAddr: r.RemoteAddr, ContentLength: length, Header: abi.Header(r.Header)}
		inst.head = head.Append(inst.head[:0])
		inst.headBuilt = true
	}
	return copyOut(mem, ptr, size, inst.head)
}

// read reads from body into guest memory: a count, 0 at the end, or a failure.
func (inst *instance) read(body io.Reader, mem api.Memory, ptr, size uint32) int32 {
	if body == nil || size == 0 {
		return 0
	}
	buf, ok := mem.Read(ptr, size)
	if !ok {
		return abi.ErrMemory
	}
	for {
		n, err := body.Read(buf)
		if n > 0 {
			return int32(n)
		}
		if err == io.EOF {
			return 0
		}
		if err != nil {
			return inst.fail("read body: %v", err)
		}
	}
}

func (inst *instance) responseHead(mem api.Memory, ptr, size uint32) int32 {
	if inst.req == nil {
		return abi.ErrNoRequest
	}
	if inst.headSent {
		return abi.ErrHeadSent
	}
	b, ok := mem.Read(ptr, size)
	if !ok {
		return abi.ErrMemory
	}
	var head abi.ResponseHead
	if err := head.Decode(b); err != nil {
		inst.lastErr = err.Error()
		return abi.ErrEncoding
	}
	if head.Status < 200 || head.Status > 999 {
		inst.lastErr = fmt.Sprintf("response status %d: want 200 to 999", head.Status)
		return abi.ErrEncoding
	}
	h := inst.w.Header()
	for k, vs := range head.Header {
		h[textproto.CanonicalMIMEHeaderKey(k)] = vs
	}
	if head.ContentLength >= 0 && h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" {
		h.Set("Content-Length", strconv.FormatInt(head.ContentLength, 10))
	}
	inst.headSent = true
	inst.w.WriteHeader(head.Status)
	return 0
}

func (inst *instance) responseBodyWrite(mem api.Memory, ptr, size uint32) int32 {
	if inst.req == nil {
		return abi.ErrNoRequest
	}
	b, ok := mem.Read(ptr, size)
	if !ok {
		return abi.ErrMemory
	}
	inst.headSent = true
	n, err := inst.w.Write(b)
	if err != nil && n == 0 {
		return inst.fail("write response: %v", err)
	}
	return int32(n)
}

// send performs a guest's outbound request, routed by the pod.
func (inst *instance) send(mem api.Memory, ptr, size uint32) int32 {
	b, ok := mem.Read(ptr, size)
	if !ok {
		return abi.ErrMemory
	}
	var out abi.OutboundRequest
	if err := out.Decode(b); err != nil {
		inst.lastErr = err.Error()
		return abi.ErrEncoding
	}
	handle := -1
	for i, r := range inst.responses {
		if r == nil {
			handle = i
			break
		}
	}
	if handle < 0 && len(inst.responses) >= maxOpenResponses {
		return inst.fail("%d responses already open: close their bodies", maxOpenResponses)
	}
	req, err := http.NewRequestWithContext(inst.callContext(), out.Method, out.URL, bytes.NewReader(out.Body))
	if err != nil {
		return inst.fail("%v", err)
	}
	for k, vs := range out.Header {
		if k = textproto.CanonicalMIMEHeaderKey(k); k == "Host" && len(vs) > 0 {
			req.Host = vs[0]
			continue
		}
		req.Header[k] = vs
	}
	resp, err := inst.c.pod.roundTrip(req)
	if err != nil {
		return inst.fail("%v", err) // the guest's http.Client names the method and URL
	}
	if handle < 0 {
		handle = len(inst.responses)
		inst.responses = append(inst.responses, resp)
	} else {
		inst.responses[handle] = resp
	}
	return int32(handle)
}

func (inst *instance) response(h int32) (*http.Response, int32) {
	if h < 0 || int(h) >= len(inst.responses) || inst.responses[h] == nil {
		return nil, abi.ErrBadHandle
	}
	return inst.responses[h], 0
}

// WASI errno values (wasi_snapshot_preview1).
const (
	wasiEIO    = 29
	wasiENOSPC = 51
)

// noSpaceListenerFactory listens to the WASI functions that grow files. wazero's file API has no
// ENOSPC, so a volume refuses a write past its size limit with EIO and flags the instance; the
// listener then rewrites that call's result to ENOSPC, which is what the guest must see.
func noSpaceListenerFactory(def api.FunctionDefinition) experimental.FunctionListener {
	switch def.Name() {
	case "fd_write", "fd_pwrite", "fd_filestat_set_size", "fd_allocate":
		return noSpaceListener{}
	}
	return nil
}

type noSpaceListener struct{}

func (noSpaceListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if inst := instanceOf(ctx); inst != nil {
		inst.noSpace = false
	}
}

func (noSpaceListener) After(ctx context.Context, _ api.Module, _ api.FunctionDefinition, results []uint64) {
	if inst := instanceOf(ctx); inst != nil && inst.noSpace {
		inst.noSpace = false
		// results is wazero's stack view: the errno is in its first slot.
		if len(results) > 0 && results[0] == wasiEIO {
			results[0] = wasiENOSPC
		}
	}
}

func (noSpaceListener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}
