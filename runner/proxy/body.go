package proxy

import (
	"errors"
	"io"
	"sync"
)

// maxReplay bounds the bytes of a request body kept to send it again to another endpoint; a
// request whose body was read further cannot be retried.
const maxReplay = 64 << 10

// errRewound is what an abandoned attempt's body reader returns once the body was rewound for
// the next attempt.
var errRewound = errors.New("request body was taken back for another endpoint")

// replayBody keeps the first maxReplay bytes read from a request body, so that a request that
// failed on one endpoint can be sent to another with its body whole. Each attempt reads through
// its own view; rewinding retires the views handed out before, which matters because a peer
// transport may still be reading its view after it returned (it writes bodies from a goroutine
// of its own).
type replayBody struct {
	mu   sync.Mutex
	src  io.ReadCloser
	buf  []byte // what was read from src, while under maxReplay
	over bool   // more than maxReplay was read: buf is dropped, no rewinding
	gen  int    // the current view's generation
}

// view returns a reader of the body from its start for the current attempt.
func (b *replayBody) view() io.ReadCloser {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &bodyView{b: b, gen: b.gen}
}

// rewind retires the current view and reports whether the body can be read again from its start
// (then view gives the next attempt's reader).
func (b *replayBody) rewind() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over {
		return false
	}
	b.gen++
	return true
}

// bodyView is one attempt's reader of a replayBody. Closing it leaves the body open for the
// next attempt; the server closes the request's own body.
type bodyView struct {
	b   *replayBody
	gen int
	off int
}

func (v *bodyView) Read(p []byte) (int, error) {
	b := v.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if v.gen != b.gen {
		return 0, errRewound
	}
	if !b.over && v.off < len(b.buf) {
		n := copy(p, b.buf[v.off:])
		v.off += n
		return n, nil
	}
	n, err := b.src.Read(p)
	if n > 0 && !b.over {
		if len(b.buf)+n <= maxReplay {
			b.buf = append(b.buf, p[:n]...)
			v.off = len(b.buf)
		} else {
			b.over, b.buf = true, nil
		}
	}
	return n, err
}

func (v *bodyView) Close() error { return nil }
