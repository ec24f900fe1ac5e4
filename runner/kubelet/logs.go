package kubelet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
)

// Container logs are files in the CRI format, one line per line the guest wrote:
//
//	2026-11-22T04:42:33.123456789Z stdout F the line
//
// (P instead of F marks a piece of a line longer than partialMax). <container>.log is written,
// renamed to <container>.log.1 when it passes LogMaxBytes, and to <container>.previous.log when the
// container restarts, which is what --previous reads.
const partialMax = 16 << 10

// subscriberBuffer is how many lines a follower may lag behind before it is cut off.
const subscriberBuffer = 4096

// containerLog is the log of one container of one pod. Its writers are safe for concurrent use.
type containerLog struct {
	base     string // path without ".log"
	maxBytes int64

	mu      sync.Mutex
	f       *os.File
	size    int64
	partial map[string][]byte // by stream
	subs    map[chan []byte]struct{}
	closed  bool
}

func openContainerLog(base string, maxBytes int64) (*containerLog, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o750); err != nil {
		return nil, fmt.Errorf("open log %s: %w", base, err)
	}
	l := &containerLog{base: base, maxBytes: maxBytes, partial: map[string][]byte{}, subs: map[chan []byte]struct{}{}}
	if err := l.touch(); err != nil {
		return nil, err
	}
	return l, nil
}

// touch makes sure the log file exists without keeping it open: the file is opened at the
// container's first line, so that a runner holding tens of thousands of quiet containers does
// not hold as many file descriptors.
func (l *containerLog) touch() error {
	f, err := os.OpenFile(l.base+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	l.size = st.Size()
	return nil
}

func (l *containerLog) open() error {
	f, err := os.OpenFile(l.base+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// stream returns the writer of one stream ("stdout" or "stderr").
func (l *containerLog) stream(name string) io.Writer { return streamWriter{l: l, name: name} }

type streamWriter struct {
	l    *containerLog
	name string
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.l.write(w.name, p)
	return len(p), nil
}

// write appends p's complete lines; the rest waits for its newline.
func (l *containerLog) write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	buf := append(l.partial[stream], p...)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		l.emit(now, stream, "F", buf[:i])
		buf = buf[i+1:]
	}
	for len(buf) >= partialMax {
		l.emit(now, stream, "P", buf[:partialMax])
		buf = buf[partialMax:]
	}
	l.partial[stream] = append([]byte(nil), buf...)
}

// emit writes one line; callers hold l.mu.
func (l *containerLog) emit(ts, stream, tag string, content []byte) {
	line := make([]byte, 0, len(ts)+len(stream)+len(content)+5)
	line = append(line, ts...)
	line = append(line, ' ')
	line = append(line, stream...)
	line = append(line, ' ')
	line = append(line, tag...)
	line = append(line, ' ')
	line = append(line, content...)
	line = append(line, '\n')
	if l.f == nil {
		_ = l.open()
	}
	if l.f != nil {
		if l.size+int64(len(line)) > l.maxBytes && l.size > 0 {
			l.f.Close()
			l.f = nil
			if os.Rename(l.base+".log", l.base+".log.1") == nil {
				_ = l.open()
			}
		}
		if l.f != nil {
			n, _ := l.f.Write(line)
			l.size += int64(n)
		}
	}
	for ch := range l.subs {
		select {
		case ch <- line:
		default: // a follower too slow to keep up is cut off rather than slowing the guest
			delete(l.subs, ch)
			close(ch)
		}
	}
}

// flushPartial writes out unterminated lines; callers hold l.mu.
func (l *containerLog) flushPartial() {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for stream, buf := range l.partial {
		if len(buf) > 0 {
			l.emit(now, stream, "F", buf)
		}
		delete(l.partial, stream)
	}
}

// endFollowers ends every follow stream: the container stopped.
func (l *containerLog) endFollowers() {
	for ch := range l.subs {
		close(ch)
	}
	clear(l.subs)
}

// restarted starts a new log for the next run of the container: the current one becomes the
// previous one, and followers of the old run stop.
func (l *containerLog) restarted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.flushPartial()
	l.endFollowers()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	_ = os.Remove(l.base + ".previous.log")
	_ = os.Rename(l.base+".log", l.base+".previous.log")
	_ = os.Remove(l.base + ".log.1")
	_ = l.touch()
}

// finished ends the followers of a container that will not run again until restarted.
func (l *containerLog) finished() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushPartial()
	l.endFollowers()
}

// close flushes and closes the log; writes after it are dropped.
func (l *containerLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.flushPartial()
	l.endFollowers()
	l.closed = true
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// logPaths are the files of a container's log, oldest first.
func logPaths(base string, previous bool) []string {
	if previous {
		return []string{base + ".previous.log"}
	}
	return []string{base + ".log.1", base + ".log"}
}

// ErrNoLogs means a container has no log on this runner.
var ErrNoLogs = errors.New("no logs")

// serveLogs writes the log of the container whose files start with base, following it through l
// (nil: the container is not running here) when opts.Follow.
func serveLogs(ctx context.Context, base string, l *containerLog, opts apiserver.LogOptions, w io.Writer) error {
	out := &logOutput{w: w, opts: opts}
	if opts.SinceSeconds != nil {
		out.since = time.Now().Add(-time.Duration(*opts.SinceSeconds) * time.Second)
	}
	var sub chan []byte
	if l != nil {
		l.mu.Lock() // no line is written between reading the files and subscribing
		defer func() {
			if sub != nil {
				l.mu.Lock()
				if _, ok := l.subs[sub]; ok {
					delete(l.subs, sub)
					close(sub)
				}
				l.mu.Unlock()
			}
		}()
	}
	lines, found, err := readLines(logPaths(base, opts.Previous))
	if err == nil && !found && (l == nil || opts.Previous) {
		err = fmt.Errorf("%w", ErrNoLogs)
	}
	if err == nil && opts.Follow && !opts.Previous && l != nil && !l.closed {
		sub = make(chan []byte, subscriberBuffer)
		l.subs[sub] = struct{}{}
	}
	if l != nil {
		l.mu.Unlock()
	}
	if err != nil {
		if errors.Is(err, ErrNoLogs) && opts.Previous {
			return api.BadRequest("previous terminated container not found")
		}
		return err
	}
	if opts.TailLines != nil && int64(len(lines)) > *opts.TailLines {
		lines = lines[int64(len(lines))-*opts.TailLines:]
	}
	for _, line := range lines {
		if !out.line(line) {
			return out.err
		}
	}
	if sub == nil {
		return out.err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-sub:
			if !ok {
				return out.err
			}
			if !out.line(line) {
				return out.err
			}
		}
	}
}

// readLines reads the lines of the files that exist; found says whether any did.
func readLines(paths []string) (lines [][]byte, found bool, err error) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, found, fmt.Errorf("read log: %w", err)
		}
		found = true
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	return lines, found, nil
}

// logOutput writes log lines as pods/log shows them.
type logOutput struct {
	w       io.Writer
	opts    apiserver.LogOptions
	since   time.Time
	written int64
	err     error
}

// line writes one stored line; false means stop.
func (o *logOutput) line(line []byte) bool {
	line = bytes.TrimSuffix(line, []byte("\n"))
	f := bytes.SplitN(line, []byte(" "), 4)
	if len(f) != 4 {
		return true
	}
	if !o.since.IsZero() {
		if ts, err := time.Parse(time.RFC3339Nano, string(f[0])); err == nil && ts.Before(o.since) {
			return true
		}
	}
	var b []byte
	if o.opts.Timestamps {
		b = append(append(b, f[0]...), ' ')
	}
	b = append(b, f[3]...)
	if string(f[2]) == "F" {
		b = append(b, '\n')
	}
	if o.opts.LimitBytes != nil {
		left := *o.opts.LimitBytes - o.written
		if left <= 0 {
			return false
		}
		if int64(len(b)) > left {
			b = b[:left]
		}
	}
	n, err := o.w.Write(b)
	o.written += int64(n)
	if err != nil {
		o.err = err
		return false
	}
	return o.opts.LimitBytes == nil || o.written < *o.opts.LimitBytes
}
