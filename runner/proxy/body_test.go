package proxy

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReplayBody(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		firstRead  int // bytes the first attempt reads
		wantRewind bool
	}{
		{"unread", 100, 0, true},
		{"partly read", 100, 40, true},
		{"whole", 100, 100, true},
		{"at the limit", maxReplay, maxReplay, true},
		{"past the limit", maxReplay + 10, maxReplay + 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Repeat("abcdefghij", tt.size/10+1)[:tt.size]
			b := &replayBody{src: io.NopCloser(strings.NewReader(src))}
			first := b.view()
			got, err := io.ReadAll(io.LimitReader(first, int64(tt.firstRead)))
			if err != nil || string(got) != src[:tt.firstRead] {
				t.Fatalf("first attempt read %d bytes, %v", len(got), err)
			}
			if ok := b.rewind(); ok != tt.wantRewind {
				t.Fatalf("rewind = %v, want %v", ok, tt.wantRewind)
			}
			if !tt.wantRewind {
				return
			}
			if _, err := first.Read(make([]byte, 1)); !errors.Is(err, errRewound) {
				t.Fatalf("read of the retired view = %v, want errRewound", err)
			}
			again, err := io.ReadAll(b.view())
			if err != nil || string(again) != src {
				t.Fatalf("second attempt read %d of %d bytes, %v", len(again), len(src), err)
			}
		})
	}
}
