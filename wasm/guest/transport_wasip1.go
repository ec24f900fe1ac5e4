//go:build wasip1

package guest

import (
	"fmt"
	"io"
	"net/http"

	"github.com/wasmkube/wasmkube/wasm/internal/abi"
)

// RoundTrip implements http.RoundTripper by handing req to the host. The request's context is not
// consulted: the host bounds the call by the deadline of the request (or command) being run.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("guest: read body of %s %s: %w", req.Method, req.URL, err)
		}
	}
	if req.URL == nil || req.URL.Host == "" {
		return nil, fmt.Errorf("guest: %s %v: URL has no host", req.Method, req.URL)
	}
	header := abi.Header(req.Header)
	if req.Host != "" && req.Host != req.URL.Host {
		header = abi.Header(req.Header.Clone())
		if header == nil {
			header = abi.Header{}
		}
		header["Host"] = []string{req.Host}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	out := abi.OutboundRequest{Method: method, URL: req.URL.String(), Header: header, Body: body}
	b := out.Append(nil)
	handle := hostSend(ptr(b), uint32(len(b)))
	if handle < 0 {
		return nil, fmt.Errorf("guest: %s", lastError()) // http.Client adds the method and URL
	}
	scratch := make([]byte, 0, 1024)
	hb, n := fetch(&scratch, func(buf *byte, size uint32) int32 { return hostResponseOf(handle, buf, size) })
	if n < 0 {
		hostBodyClose(handle)
		return nil, fmt.Errorf("guest: %s %s: read response head: %s", method, req.URL, lastError())
	}
	var head abi.ResponseHead
	if err := head.Decode(hb); err != nil {
		hostBodyClose(handle)
		return nil, fmt.Errorf("guest: %s %s: %w", method, req.URL, err)
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", head.Status, http.StatusText(head.Status)),
		StatusCode:    head.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header(head.Header),
		ContentLength: head.ContentLength,
		Body:          &responseBody{handle: handle},
		Request:       req,
	}, nil
}

// responseBody streams a response body from the host.
type responseBody struct {
	handle int32
	closed bool
}

func (b *responseBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, fmt.Errorf("guest: read on closed response body")
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := hostBodyRead(b.handle, ptr(p), uint32(len(p)))
	switch {
	case n > 0:
		return int(n), nil
	case n == 0:
		return 0, io.EOF
	default:
		return 0, fmt.Errorf("guest: read response body: %s", lastError())
	}
}

func (b *responseBody) Close() error {
	if !b.closed {
		b.closed = true
		hostBodyClose(b.handle)
	}
	return nil
}
