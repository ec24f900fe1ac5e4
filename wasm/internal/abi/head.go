package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
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
	d := newDecoder(b)
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
	d := newDecoder(b)
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

// Decode sets r from its encoding; it fails with ErrMalformed and leaves r unspecified.
func (r *OutboundRequest) Decode(b []byte) error {
	d := newDecoder(b)
	r.Method = d.string()
	r.URL = d.string()
	r.Header = d.header()
	if body := d.string(); body != "" {
		r.Body = []byte(body)
	} else {
		r.Body = nil
	}
	return d.finish("outbound request")
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// appendHeader writes the number of (key, value) pairs, then the pairs in map order.
func appendHeader(b []byte, h Header) []byte {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for k, vs := range h {
		for _, v := range vs {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	return b
}

// decoder reads an encoding, remembering the first error; every read after it returns zero values.
// It converts the input to one string and slices every string it returns out of it: one
// allocation per head rather than one per string, which matters in a Wasm guest.
type decoder struct {
	s   string
	bad bool
}

func newDecoder(b []byte) decoder { return decoder{s: string(b)} }

func (d *decoder) u32() uint32 {
	if d.bad || len(d.s) < 4 {
		d.bad = true
		return 0
	}
	v := uint32(d.s[0]) | uint32(d.s[1])<<8 | uint32(d.s[2])<<16 | uint32(d.s[3])<<24
	d.s = d.s[4:]
	return v
}

func (d *decoder) u64() uint64 {
	lo := uint64(d.u32())
	return lo | uint64(d.u32())<<32
}

func (d *decoder) string() string {
	n := d.u32()
	if d.bad || uint64(n) > uint64(len(d.s)) {
		d.bad = true
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

func (d *decoder) header() Header {
	n := d.u32()
	// Each pair takes at least 8 bytes: refuse counts the input cannot hold before allocating.
	if d.bad || uint64(n)*8 > uint64(len(d.s)) {
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
	if len(d.s) != 0 {
		return fmt.Errorf("decode %s: %d trailing bytes: %w", what, len(d.s), ErrMalformed)
	}
	return nil
}
