package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// ErrMalformed is returned by the Decode methods for bytes that are not a well-formed head.
var ErrMalformed = errors.New("abi: malformed head")

// Header is an HTTP header block, the shape of http.Header (which this package does not import so
// that it stays small in guests that do not use net/http).
type Header = map[string][]string

// RequestHead is the head of a request that the host hands to the guest's handler.
type RequestHead struct {
	Method     string
	URI        string // the request target as sent by the client (http.Request.RequestURI)
	Proto      string // "HTTP/1.1", "HTTP/2.0", "HTTP/3.0"
	Host       string
	RemoteAddr string
	// ContentLength is the body's length, -1 if unknown, 0 if there is no body.
	ContentLength int64
	Header        Header
}

// ResponseHead is the head of a response: the guest's answer to the host, or the answer to a
// request the guest sent through the host.
type ResponseHead struct {
	Status int
	// ContentLength is the body's length, -1 if unknown.
	ContentLength int64
	Header        Header
}

// OutboundRequest is a request that a guest sends through the host (guest.Client). The body travels
// with the head: guest requests are small, and one host call keeps the protocol simple.
type OutboundRequest struct {
	Method string
	URL    string // absolute: "http://localhost:9000/path"
	Header Header
	Body   []byte
}

// Append appends the encoding of h to b.
func (h *RequestHead) Append(b []byte) []byte {
	b = appendString(b, h.Method)
	b = appendString(b, h.URI)
	b = appendString(b, h.Proto)
	b = appendString(b, h.Host)
	b = appendString(b, h.RemoteAddr)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.ContentLength))
	return appendHeader(b, h.Header)
}

// Decode sets h from its encoding; it fails with ErrMalformed and leaves h unspecified.
func (h *RequestHead) Decode(b []byte) error {
	d := decoder{b: b}
	h.Method = d.string()
	h.URI = d.string()
	h.Proto = d.string()
	h.Host = d.string()
	h.RemoteAddr = d.string()
	h.ContentLength = int64(d.u64())
	h.Header = d.header()
	return d.finish("request head")
}

// Append appends the encoding of h to b.
func (h *ResponseHead) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Status))
	b = binary.LittleEndian.AppendUint64(b, uint64(h.ContentLength))
	return appendHeader(b, h.Header)
}

// Decode sets h from its encoding; it fails with ErrMalformed and leaves h unspecified.
func (h *ResponseHead) Decode(b []byte) error {
	d := decoder{b: b}
	h.Status = int(int32(d.u32()))
	h.ContentLength = int64(d.u64())
	h.Header = d.header()
	return d.finish("response head")
}

// Append appends the encoding of r to b.
func (r *OutboundRequest) Append(b []byte) []byte {
	b = appendString(b, r.Method)
	b = appendString(b, r.URL)
	b = appendHeader(b, r.Header)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Body)))
	return append(b, r.Body...)
}

// Decode sets r from its encoding; it fails with ErrMalformed and leaves r unspecified. Body is
// copied out of b.
func (r *OutboundRequest) Decode(b []byte) error {
	d := decoder{b: b}
	r.Method = d.string()
	r.URL = d.string()
	r.Header = d.header()
	r.Body = []byte(d.bytes())
	if len(r.Body) == 0 {
		r.Body = nil
	}
	return d.finish("outbound request")
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// appendHeader writes the number of (key, value) pairs, then the pairs, keys in sorted order so
// that an encoding is deterministic.
func appendHeader(b []byte, h Header) []byte {
	keys := make([]string, 0, len(h))
	n := 0
	for k, vs := range h {
		keys = append(keys, k)
		n += len(vs)
	}
	sort.Strings(keys)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for _, k := range keys {
		for _, v := range h[k] {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	return b
}

// decoder reads an encoding, remembering the first error; every read after it returns zero values.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) u32() uint32 {
	if d.bad || len(d.b) < 4 {
		d.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if d.bad || len(d.b) < 8 {
		d.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.u32()
	if d.bad || uint64(n) > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) header() Header {
	n := d.u32()
	// Each pair takes at least 8 bytes: refuse counts the input cannot hold before allocating.
	if d.bad || uint64(n)*8 > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	h := make(Header, min(n, 64))
	for range n {
		k, v := d.string(), d.string()
		if d.bad {
			return nil
		}
		h[k] = append(h[k], v)
	}
	return h
}

func (d *decoder) finish(what string) error {
	if d.bad {
		return fmt.Errorf("decode %s: %w", what, ErrMalformed)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("decode %s: %d trailing bytes: %w", what, len(d.b), ErrMalformed)
	}
	return nil
}
