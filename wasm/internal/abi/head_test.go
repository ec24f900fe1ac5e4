package abi

import (
	"errors"
	"reflect"
	"testing"
)

func TestRequestHeadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		head RequestHead
	}{
		{"empty", RequestHead{Header: Header{}}},
		{"get", RequestHead{Method: "GET", URI: "/a?b=c", Proto: "HTTP/1.1", Host: "hello",
			RemoteAddr: "127.0.0.1:5555", ContentLength: 0,
			Header: Header{"Accept": {"*/*"}, "X-Many": {"1", "2", ""}}}},
		{"unknown length", RequestHead{Method: "POST", URI: "/", ContentLength: -1, Header: Header{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got RequestHead
			if err := got.Decode(tt.head.Append(nil)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.head) {
				t.Fatalf("got %+v, want %+v", got, tt.head)
			}
		})
	}
}

func TestResponseHeadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		head ResponseHead
	}{
		{"ok", ResponseHead{Status: 200, ContentLength: 5, Header: Header{"Content-Type": {"text/plain"}}}},
		{"no header", ResponseHead{Status: 504, ContentLength: -1, Header: Header{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got ResponseHead
			if err := got.Decode(tt.head.Append(nil)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.head) {
				t.Fatalf("got %+v, want %+v", got, tt.head)
			}
		})
	}
}

func TestOutboundRequestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  OutboundRequest
	}{
		{"no body", OutboundRequest{Method: "GET", URL: "http://localhost:9000/", Header: Header{}}},
		{"body", OutboundRequest{Method: "PUT", URL: "http://x/y", Header: Header{"A": {"b"}}, Body: []byte("hi")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got OutboundRequest
			if err := got.Decode(tt.req.Append(nil)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.req) {
				t.Fatalf("got %+v, want %+v", got, tt.req)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := (&RequestHead{Method: "GET", URI: "/", Header: Header{"A": {"b"}}}).Append(nil)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(append([]byte{}, good...), 0)},
		{"huge string", []byte{0xff, 0xff, 0xff, 0xff}},
		{"huge header count", append(good[:len(good)-4-16-4], 0xff, 0xff, 0xff, 0x7f)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h RequestHead
			if err := h.Decode(tt.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, want ErrMalformed", err)
			}
		})
	}
}

// FuzzRequestHead holds that any input either fails to decode or re-encodes to itself, and never
// panics: the host decodes bytes that a hostile guest chose.
func FuzzRequestHead(f *testing.F) {
	f.Add((&RequestHead{Method: "GET", URI: "/", Header: Header{"A": {"b"}}}).Append(nil))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h RequestHead
		if h.Decode(b) != nil {
			return
		}
		var again RequestHead
		if err := again.Decode(h.Append(nil)); err != nil || !reflect.DeepEqual(h, again) {
			t.Fatalf("re-decode: %v, %+v != %+v", err, again, h)
		}
	})
}

// FuzzOutboundRequest is FuzzRequestHead for what a guest sends through the host.
func FuzzOutboundRequest(f *testing.F) {
	f.Add((&OutboundRequest{Method: "GET", URL: "http://a/", Body: []byte("x")}).Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r OutboundRequest
		_ = r.Decode(b)
		var h ResponseHead
		_ = h.Decode(b)
	})
}
