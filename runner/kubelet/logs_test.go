package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/apiserver"
)

func TestContainerLogRotation(t *testing.T) {
	base := filepath.Join(t.TempDir(), "logs", "c")
	l, err := openContainerLog(base, 300)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	out := l.stream("stdout")
	var want []string
	for i := range 20 {
		line := fmt.Sprintf("line %02d", i)
		want = append(want, line)
		fmt.Fprintln(out, line)
	}
	fmt.Fprint(out, "partial") // no newline yet
	if _, err := os.Stat(base + ".log.1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	read := func(opts apiserver.LogOptions) string {
		t.Helper()
		var b bytes.Buffer
		if err := serveLogs(context.Background(), base, l, opts, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	tail := int64(3)
	tests := []struct {
		name string
		opts apiserver.LogOptions
		want string
	}{
		// Only the current file and the one rotated before it are kept.
		{"tail", apiserver.LogOptions{TailLines: &tail}, strings.Join(want[17:], "\n") + "\n"},
		{"limit", apiserver.LogOptions{TailLines: &tail, LimitBytes: &tail}, "lin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(tt.opts); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if s := size(base + ".log"); s > 300 {
		t.Errorf("current log %d bytes, over the limit", s)
	}
	l.restarted() // the partial line ends the old run's log
	if got := read(apiserver.LogOptions{Previous: true, TailLines: &tail}); got != "line 18\nline 19\npartial\n" {
		t.Errorf("previous = %q", got)
	}
	fmt.Fprintln(out, "new run")
	if got := read(apiserver.LogOptions{}); got != "new run\n" {
		t.Errorf("current after restart = %q", got)
	}
}
