package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// upCluster runs `wk up --nodes n` on a loopback range of its own (127.R.S.1, .2, ...), so that
// NodePort 30080 of parallel tests does not collide, and returns it once the app answers.
type upCluster struct {
	proc *proc
	dir  string
	ips  []string
	c    *client.Client
	kc   string
}

func startUp(t *testing.T, nodes int) *upCluster {
	t.Helper()
	base := fmt.Sprintf("127.%d.%d.", 1+rand.IntN(250), 1+rand.IntN(250))
	u := &upCluster{dir: t.TempDir()}
	for i := range nodes {
		u.ips = append(u.ips, base+strconv.Itoa(i+1))
	}
	u.proc = startProc(t, nil, "up", "--data-dir", u.dir, "--api-addr", freeAddr(t),
		"--nodes", strconv.Itoa(nodes), "--node-ip", u.ips[0])
	eventually(t, 3*time.Minute, "wk up is up", func() error {
		select {
		case <-u.proc.done:
			t.Fatalf("wk up exited:\n%s", u.proc.output())
		default:
		}
		if out := u.proc.output(); !strings.Contains(out, "wasmkube is up") {
			return fmt.Errorf("not yet:\n%s", out)
		}
		return nil
	})
	u.kc = filepath.Join(u.dir, "kubeconfig")
	cfg, err := client.FromKubeconfig(u.kc, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.c, err = client.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.c.Close)
	return u
}

func (u *upCluster) wk(t *testing.T, args ...string) string {
	t.Helper()
	return mustWk(t, u.kc, args...)
}

// podNodes maps the hello pods to their nodes.
func (u *upCluster) podNodes(t *testing.T) map[string]string {
	t.Helper()
	pods, err := client.Pods(u.c).Namespace("default").List(context.Background(), client.ListOptions{LabelSelector: "app=hello"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		out[p.Name] = p.Spec.NodeName
	}
	return out
}

// hostnameOf is the pod name in a hello answer.
func hostnameOf(body string) string {
	for line := range strings.Lines(body) {
		if name, ok := strings.CutPrefix(line, "Container Hostname: "); ok {
			return strings.TrimSpace(name)
		}
	}
	return ""
}

func get(hc *http.Client, url string) (string, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}

// TestUpThreeNodes is the README's first command with --nodes 3: every runner's address answers
// on NodePort 30080, from pods on different runners, and the printed URLs are the ones that work.
func TestUpThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wk up with three runner processes")
	}
	u := startUp(t, 3)
	for _, ip := range u.ips {
		wantContains(t, "wk up", u.proc.output(), "curl http://"+ip+":30080/")
	}
	u.wk(t, "scale", "deployment", "hello", "--replicas", "6")
	u.wk(t, "rollout", "status", "deployment", "hello", "--timeout", "60s")
	hc := &http.Client{Timeout: 5 * time.Second}

	// HTTP/2 over cleartext TCP and HTTP/3 over UDP on the same port as HTTP/1.1, with the
	// cluster CA; and the Alt-Svc that advertises HTTP/3.
	ca, err := os.ReadFile(filepath.Join(u.dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	h2 := &http.Transport{Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	defer h3.Close()
	for name, rt := range map[string]http.RoundTripper{"HTTP/2": h2, "HTTP/3": h3} {
		c := &http.Client{Transport: rt, Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + u.ips[2] + ":30080/")
		if name == "HTTP/3" {
			resp, err = c.Get("https://" + u.ips[2] + ":30080/")
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Proto != name+".0" || hostnameOf(string(body)) == "" {
			t.Fatalf("%s: %s %s:\n%s", name, resp.Proto, resp.Status, body)
		}
	}
	resp, err := hc.Get("http://" + u.ips[1] + ":30080/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Alt-Svc"); got != `h3=":30080"; ma=86400` {
		t.Fatalf("Alt-Svc %q", got)
	}

	// wk expose makes more front doors: a NodePort allocated by the API server, and a
	// LoadBalancer address from the pool (EXTERNAL-IP) that every runner serves.
	u.wk(t, "expose", "deployment", "hello", "--name", "hello-np", "--type=NodePort", "--port=80")
	u.wk(t, "expose", "deployment", "hello", "--name", "hello-lb", "--type=LoadBalancer", "--port=8080")
	var lbURL string
	eventually(t, 30*time.Second, "hello-lb has an EXTERNAL-IP and both answer", func() error {
		np, err := client.Services(u.c).Namespace("default").Get(context.Background(), "hello-np")
		if err != nil {
			return err
		}
		if _, err := get(hc, fmt.Sprintf("http://%s:%d/", u.ips[1], np.Spec.Ports[0].NodePort)); err != nil {
			return err
		}
		lb, err := client.Services(u.c).Namespace("default").Get(context.Background(), "hello-lb")
		if err != nil {
			return err
		}
		if len(lb.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("no ingress yet")
		}
		lbURL = fmt.Sprintf("http://%s:8080/", lb.Status.LoadBalancer.Ingress[0].IP)
		_, err = get(hc, lbURL)
		return err
	})
	wantContains(t, "wk get svc hello-lb", u.wk(t, "get", "svc", "hello-lb"), strings.TrimSuffix(strings.TrimPrefix(lbURL, "http://"), ":8080/"))

	// Each runner counts what it served on its /metrics.
	metrics, err := get(hc, "http://"+u.ips[2]+":10249/metrics")
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "metrics", metrics, `wasmkube_proxy_requests_total{code="200",namespace="default",service="hello"}`,
		"wasmkube_proxy_request_duration_seconds_bucket")

	for _, ip := range u.ips {
		eventually(t, 30*time.Second, "answers from pods on several runners through "+ip, func() error {
			nodes := u.podNodes(t)
			seen := map[string]bool{}
			for range 24 {
				body, err := get(hc, "http://"+ip+":30080/")
				if err != nil {
					return err
				}
				if n := nodes[hostnameOf(body)]; n != "" {
					seen[n] = true
				}
			}
			if len(seen) < 2 {
				return fmt.Errorf("answers came from the pods of %v only", seen)
			}
			return nil
		})
	}
}

// load sends GET requests to urls in turn from workers goroutines until stop is closed,
// counting successes and failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       map[string]int
	versions   map[string]int
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startLoad(urls []string, workers int) *load {
	l := &load{errs: map[string]int{}, versions: map[string]int{}, stop: make(chan struct{})}
	for w := range workers {
		l.wg.Go(func() {
			hc := &http.Client{Timeout: 10 * time.Second}
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				body, err := get(hc, urls[i%len(urls)])
				l.mu.Lock()
				if err != nil {
					l.failed.Add(1)
					l.errs[err.Error()]++
				} else {
					l.ok.Add(1)
					for line := range strings.Lines(body) {
						if v, ok := strings.CutPrefix(line, "Version: "); ok {
							l.versions[strings.TrimSpace(v)]++
						}
					}
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

func (l *load) report(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%d requests succeeded, %d failed; versions %v; errors %v", l.ok.Load(), l.failed.Load(), l.versions, l.errs)
}

// TestZeroDowntimeRollout: while requests flow through the NodePort of every runner, a new image
// tag is applied and rolled out, then undone; not one request fails.
func TestZeroDowntimeRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wk up with runner processes under load")
	}
	u := startUp(t, 2)
	var urls []string
	for _, ip := range u.ips {
		urls = append(urls, "http://"+ip+":30080/")
	}
	l := startLoad(urls, 8)
	v2 := filepath.Join("..", "..", "samples", "hello", "hello-v2.yaml")
	u.wk(t, "apply", "-f", v2)
	u.wk(t, "rollout", "status", "deployment", "hello", "--timeout", "2m")
	u.wk(t, "rollout", "undo", "deployment", "hello")
	u.wk(t, "rollout", "status", "deployment", "hello", "--timeout", "2m")
	eventually(t, 2*time.Minute, "10,000 requests sent", func() error {
		if n := l.ok.Load() + l.failed.Load(); n < 10000 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	l.finish()
	l.report(t)
	if l.failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the rollout and its undo", l.failed.Load(), l.ok.Load()+l.failed.Load())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.versions["v2"] == 0 || l.versions["v1"] == 0 {
		t.Fatalf("answers by version %v: want both v1 and v2", l.versions)
	}
}

// TestKillRunnerUnderLoad: kill -9 one runner of three while requests flow through the other two;
// they keep succeeding, the node turns NotReady and its pods are replaced on the others.
func TestKillRunnerUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wk up with runner processes under load")
	}
	u := startUp(t, 3)
	u.wk(t, "scale", "deployment", "hello", "--replicas", "6")
	u.wk(t, "rollout", "status", "deployment", "hello", "--timeout", "60s")
	eventually(t, 30*time.Second, "a hello pod on node-2", func() error {
		for _, n := range u.podNodes(t) {
			if n == "node-2" {
				return nil
			}
		}
		return fmt.Errorf("pods on %v", u.podNodes(t))
	})
	l := startLoad([]string{"http://" + u.ips[0] + ":30080/", "http://" + u.ips[2] + ":30080/"}, 8)
	eventually(t, 30*time.Second, "1,000 requests before the kill", func() error {
		if n := l.ok.Load(); n < 1000 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	pidText, err := os.ReadFile(filepath.Join(u.dir, "node-2.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "node-2 NotReady and its pods replaced", func() error {
		n, err := client.Nodes(u.c).Get(context.Background(), "node-2")
		if err != nil {
			return err
		}
		if nodeReady(n) {
			return fmt.Errorf("node-2 is still Ready")
		}
		pods, err := client.Pods(u.c).Namespace("default").List(context.Background(), client.ListOptions{LabelSelector: "app=hello"})
		if err != nil {
			return err
		}
		ready := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "node-2" && p.DeletionTimestamp == nil && podReady(p) {
				ready++
			}
		}
		if ready < 6 {
			return fmt.Errorf("%d of 6 pods ready on the other nodes", ready)
		}
		return nil
	})
	t.Logf("6 pods ready on the other nodes %v after the kill", time.Since(killed).Round(time.Millisecond))
	before := l.ok.Load() + l.failed.Load()
	eventually(t, time.Minute, "1,000 more requests", func() error {
		if n := l.ok.Load() + l.failed.Load(); n < before+1000 {
			return fmt.Errorf("%d so far", n-before)
		}
		return nil
	})
	l.finish()
	l.report(t)
	total := l.ok.Load() + l.failed.Load()
	if failed := l.failed.Load(); failed*100 >= total {
		t.Fatalf("%d of %d requests failed: want under 1%%", failed, total)
	}
}

func nodeReady(n *api.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == api.NodeReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}
