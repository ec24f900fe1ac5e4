package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// testCluster is a real API server and a kubeconfig for it, for driving wk commands.
type testCluster struct {
	api        *clustertest.API
	kubeconfig string
	c          *client.Client
	dir        string
}

// startCluster starts an API server (etcd and all) for one test and writes an admin
// kubeconfig for it.
func startCluster(t *testing.T, opts ...clustertest.Option) *testCluster {
	t.Helper()
	a := clustertest.StartAPI(t, opts...)
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := pki.WriteKubeconfig(kc, pki.AdminKubeconfig("test", a.URL, a.CAPEM, a.Token)); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &testCluster{api: a, kubeconfig: kc, c: c, dir: dir}
}

// result is what one wk command printed and its exit code.
type result struct {
	out, err string
	code     int
}

// wk runs one wk command against the cluster, with stdin.
func (tc *testCluster) wk(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"--kubeconfig", tc.kubeconfig}, args...)
	code := run(full, strings.NewReader(stdin), &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// mustWK runs a command that must succeed and returns its stdout.
func (tc *testCluster) mustWK(t *testing.T, args ...string) string {
	t.Helper()
	r := tc.wk(t, "", args...)
	if r.code != 0 {
		t.Fatalf("wk %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// file writes content into the test's directory and returns its path.
func (tc *testCluster) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(tc.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// bgCommand is a wk command running in the background (get -w, rollout status, delete
// waiting for finalizers).
type bgCommand struct {
	out, err *wasmtest.Buffer
	done     chan struct{} // closed when the command has returned
	result   error         // what it returned; read after done
	cancel   context.CancelFunc
}

// startWK runs a long-lived command in the background until it returns or stop is called.
func (tc *testCluster) startWK(t *testing.T, args ...string) *bgCommand {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &bgCommand{out: &wasmtest.Buffer{}, err: &wasmtest.Buffer{}, done: make(chan struct{}), cancel: cancel}
	s := &streams{in: strings.NewReader(""), out: b.out, err: b.err}
	root := newRoot(s)
	root.SetArgs(append([]string{"--kubeconfig", tc.kubeconfig}, args...))
	root.SetOut(b.out)
	root.SetErr(b.err)
	go func() {
		defer close(b.done)
		b.result = root.ExecuteContext(ctx)
	}()
	t.Cleanup(func() { b.stop() })
	return b
}

// stop cancels the command, waits for it to return and returns what it returned.
func (b *bgCommand) stop() error {
	b.cancel()
	<-b.done
	return b.result
}

// finished reports whether the command has returned by itself.
func (b *bgCommand) finished() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds or the deadline passes, then fails the test with what
// the last poll said.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last seen:\n%s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// normalizers replace what changes from run to run (ages, times, UIDs, addresses,
// resourceVersions) with fixed placeholders.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uid>"},
	{regexp.MustCompile(`\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`), "<time>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`(resourceVersion"?:\s*)"\d+"`), `$1"<rv>"`},
	{regexp.MustCompile(`(Resource Version:\s*)\d+`), `$1<rv>`},
	{regexp.MustCompile(`\b10\.43\.\d+\.\d+\b`), "<cluster-ip>"},
	{regexp.MustCompile(`:3\d{4}/`), ":<node-port>/"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:<port>"},
	{regexp.MustCompile(`(^|\s)\d{1,3}s(\s|$)`), "${1}<age>${2}"},
	{regexp.MustCompile(`(\S) {2,}`), "$1  "},
}

// normalize makes output comparable across runs. Column alignment (not indentation) is
// collapsed to two spaces, since ages and addresses change widths: the printer's own tests
// hold the alignment; these hold the content.
func normalize(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		for _, n := range normalizers {
			l = n.re.ReplaceAllString(l, n.with)
		}
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = normalize(got)
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
