package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/runner/kubelet"
	"github.com/wasmkube/wasmkube/runner/node"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// proxyCase is the figure of one load case of `wk bench proxy`.
type proxyCase struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	// CPUUsPerReq is this process's CPU time (client, proxies and pods alike) per request, and
	// Cores that time over the wall time: on a busy machine, how much CPU the case had.
	CPUUsPerReq float64 `json:"cpu_us_per_req,omitempty"`
	Cores       float64 `json:"cores,omitempty"`
}

// proxyFigures is the last line `wk bench proxy` prints. Local and Remote are keyed by protocol
// (http1, h2c, h3) and then by concurrency (c1, c64); InProcess by concurrency. AddedP50Ms and
// AddedP99Ms are local HTTP/1.1 at the lowest concurrency minus the in-process floor at the
// same; H3VsHTTP1 is the ratio of local req/s at the highest concurrency.
type proxyFigures struct {
	DurationS   float64                         `json:"duration_s"`
	Concurrency []int                           `json:"concurrency"`
	Local       map[string]map[string]proxyCase `json:"local"`
	Remote      map[string]map[string]proxyCase `json:"remote,omitempty"`
	InProcess   map[string]proxyCase            `json:"inprocess,omitempty"`
	AddedP50Ms  *float64                        `json:"added_p50_ms,omitempty"`
	AddedP99Ms  *float64                        `json:"added_p99_ms,omitempty"`
	H3VsHTTP1   float64                         `json:"h3_vs_http1"`
	Requests    int                             `json:"requests"`
	Errors      int                             `json:"errors"`
	FirstError  string                          `json:"first_error,omitempty"`
}

type benchProxyOptions struct {
	duration           time.Duration
	concurrency        []int
	nodeIP             netip.Addr
	source             string
	kubeconfig, kubeCx string
	timeout            time.Duration
}

func newBenchProxyCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Requests through a NodePort to samples/hello: HTTP/1.1, h2c and HTTP/3, local and one QUIC hop away",
		Long: `Starts an in-process cluster (embedded etcd in a temporary directory, controllers and
scheduler, and two real runners with their Service proxies: node-1 at --node-ip, node-2 at the
next address) unless --kubeconfig is given, builds samples/hello and pushes it, and deploys two
hello pods pinned to node-1 behind a NodePort Service. Then, for HTTP/1.1 keep-alive, h2c and
HTTP/3 and each --concurrency, it sends requests for --duration (after a short warm-up) through
node-1's NodePort (pods on the same runner, called in process) and through node-2's (each
request crosses one QUIC hop to node-1's proxy), and calls the pods' sandboxes directly as the
floor the proxy's added latency is measured against. Every answer must be 200 with the hello
body; any other counts as an error and makes the exit status non-zero.

With --kubeconfig the pods go to that cluster in a namespace of their own (deleted at the end),
pinned to the first Ready node by name; the second, if any, is the remote path. There is no
in-process floor then.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			o := benchProxyOptions{duration: v.GetDuration("duration"), source: v.GetString("source"),
				timeout: v.GetDuration("timeout"), kubeconfig: v.GetString("kubeconfig"), kubeCx: v.GetString("context")}
			if o.duration <= 0 || o.timeout <= 0 {
				return errors.New("bench proxy: --duration and --timeout must be positive")
			}
			if o.concurrency, err = parseConcurrency(v.GetString("concurrency")); err != nil {
				return err
			}
			if o.nodeIP, err = netip.ParseAddr(v.GetString("node-ip")); err != nil || !o.nodeIP.Is4() || !o.nodeIP.IsLoopback() {
				return fmt.Errorf("bench proxy: --node-ip %q: want an IPv4 loopback address such as 127.0.77.1", v.GetString("node-ip"))
			}
			return withCPUProfile(v.GetString("cpuprofile"), func() error { return benchProxy(cmd.Context(), s, o) })
		},
	}
	f := cmd.Flags()
	f.Duration("duration", 3*time.Second, "how long each case sends requests")
	f.String("concurrency", "1,64", "comma-separated numbers of requests in flight at once")
	f.String("node-ip", "127.0.77.1", "address of node-1 of the in-process cluster; node-2 takes the next")
	f.String("source", "", "the directory of samples/hello (default: found above the working directory)")
	f.Duration("timeout", 10*time.Minute, "give up after this long")
	return cmd
}

// parseConcurrency parses "1,64" into distinct positive numbers in ascending order.
func parseConcurrency(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench proxy: --concurrency %q: want positive numbers separated by commas, such as 1,64", s)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// proxyTarget is a cluster ready to measure: the front door of each node (node-1 hosts the pods)
// and, in process, the pods themselves.
type proxyTarget struct {
	hosts []string       // node-1's address, then node-2's if there is one
	port  int            // the Service's nodePort
	pool  *x509.CertPool // the cluster CA, which signs the front doors' HTTP/3 certificates
	pods  []*sandbox.Pod // the hello pods, when the runner is in this process
}

func benchProxy(ctx context.Context, s *streams, o benchProxyOptions) error {
	progress := func(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	wasm, err := benchWasm(ctx, "hello", o.source, progress)
	if err != nil {
		return err
	}
	var (
		c      *client.Client
		ns     = "default"
		tgt    proxyTarget
		nodes  []string // node-1's hostname label, node-2's
		runner *kubelet.Runner
	)
	if o.kubeconfig != "" {
		var cfg *client.Config
		var done func()
		if c, cfg, ns, done, err = benchNamespace(ctx, o.kubeconfig, o.kubeCx, "proxy"); err != nil {
			return err
		}
		defer done()
		tgt.pool = x509.NewCertPool()
		if !tgt.pool.AppendCertsFromPEM(cfg.CAPEM) {
			return fmt.Errorf("bench proxy: %s has no certificate-authority-data: HTTP/3 needs the cluster CA", o.kubeconfig)
		}
		if nodes, tgt.hosts, err = readyNodes(ctx, c); err != nil {
			return err
		}
		progress("using the cluster of %s, namespace %s, nodes %s", o.kubeconfig, ns, strings.Join(nodes, ", "))
	} else {
		dir, err := os.MkdirTemp("", "wk-bench-proxy-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		ip2 := o.nodeIP.Next()
		progress("starting a control plane and runners node-1 (%s) and node-2 (%s) in %s", o.nodeIP, ip2, dir)
		srv, stop, err := startBenchServer(ctx, dir)
		if err != nil {
			return err
		}
		defer stop()
		c = srv.Client()
		tgt.pool = x509.NewCertPool()
		tgt.pool.AppendCertsFromPEM(srv.Bundle().CA.CertPEM)
		runCtx, stopRunners := context.WithCancel(ctx)
		defer wg.Wait()
		defer stopRunners()
		for i, ip := range []netip.Addr{o.nodeIP, ip2} {
			name := fmt.Sprintf("node-%d", i+1)
			st, err := newProxyBenchStack(runCtx, c, srv.Bundle().CA.CertPEM, filepath.Join(dir, name), name, ip.String())
			if err != nil {
				return fmt.Errorf("start runner %s: %w", name, err)
			}
			wg.Go(func() { _ = st.run(runCtx) })
			if i == 0 {
				runner = st.kubelet
			}
			nodes = append(nodes, name)
			tgt.hosts = append(tgt.hosts, ip.String())
		}
		for _, n := range nodes {
			if err := waitNodeReady(ctx, c, n); err != nil {
				return err
			}
		}
	}

	image := "bench-hello:v1"
	digest, err := registry.Push(ctx, c, image, wasm)
	if err != nil {
		return fmt.Errorf("push %s: %w", image, err)
	}
	progress("pushed %s (%d bytes, %s)", image, len(wasm), digest)
	if tgt.port, err = deployProxyBench(ctx, c, ns, image, nodes[0]); err != nil {
		return err
	}
	progress("deployment hello (2 pods on %s) behind NodePort %d", nodes[0], tgt.port)
	t0 := time.Now()
	if err := waitProxyBench(ctx, tgt); err != nil {
		return err
	}
	progress("every front door answers from both pods after %.2fs", time.Since(t0).Seconds())
	if runner != nil {
		if tgt.pods, err = localPods(ctx, c, ns, runner); err != nil {
			return err
		}
	}

	fig := measureProxy(ctx, progress, tgt, o)
	line, _ := json.Marshal(fig)
	fmt.Fprintln(s.out, string(line))
	if fig.Errors > 0 {
		return fmt.Errorf("bench proxy: %d of %d requests failed; the first: %s", fig.Errors, fig.Requests, fig.FirstError)
	}
	return nil
}

// newProxyBenchStack is a runner as wk up runs one in process: certificate, Service proxy and
// kubelet, without a metrics endpoint.
func newProxyBenchStack(ctx context.Context, c *client.Client, caPEM []byte, dir, name, ip string) (*runnerStack, error) {
	modules, err := registry.NewSource(registry.SourceConfig{Client: c, CacheDir: filepath.Join(dir, "modules")})
	if err != nil {
		return nil, err
	}
	return newRunnerStack(ctx, kubelet.Config{Client: c, NodeName: name, NodeIP: ip, DataDir: dir, Modules: modules}, caPEM, "")
}

// readyNodes returns the hostname labels and InternalIPs of the first two Ready, schedulable
// nodes by name.
func readyNodes(ctx context.Context, c *client.Client) (names, ips []string, err error) {
	list, err := client.Nodes(c).List(ctx, client.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list nodes: %w", err)
	}
	items := list.Items
	slices.SortFunc(items, func(a, b *api.Node) int { return strings.Compare(a.Name, b.Name) })
	for _, n := range items {
		if !node.IsReady(n) || n.Spec.Unschedulable {
			continue
		}
		ip := ""
		for _, a := range n.Status.Addresses {
			if a.Type == api.NodeInternalIP {
				ip = a.Address
			}
		}
		if ip == "" {
			continue
		}
		host := n.Labels[api.LabelHostname]
		if host == "" {
			host = n.Name
		}
		names, ips = append(names, host), append(ips, ip)
		if len(names) == 2 {
			break
		}
	}
	if len(names) == 0 {
		return nil, nil, errors.New("bench proxy: the cluster has no Ready, schedulable node with an InternalIP")
	}
	return names, ips, nil
}

// deployProxyBench creates the hello Deployment of two pods pinned to the node of hostname label
// host and its NodePort Service, and returns the nodePort the API allocated.
func deployProxyBench(ctx context.Context, c *client.Client, ns, image, host string) (int, error) {
	labels := map[string]string{"app": "hello"}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: "hello", Labels: labels},
		Spec: api.DeploymentSpec{Replicas: api.Ptr[int32](2), Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: labels}, Spec: api.PodSpec{
				NodeSelector: map[string]string{api.LabelHostname: host},
				Containers: []api.Container{{Name: "hello", Image: image,
					Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080}},
					Env:   []api.EnvVar{{Name: "VERSION", Value: "bench"}}}}}}},
	}
	if _, err := client.Deployments(c).Namespace(ns).Create(ctx, d); err != nil {
		return 0, fmt.Errorf("create deployment %s/hello: %w", ns, err)
	}
	svc := &api.Service{
		ObjectMeta: api.ObjectMeta{Name: "hello", Labels: labels},
		Spec: api.ServiceSpec{Type: api.ServiceNodePort, Selector: labels,
			Ports: []api.ServicePort{{Name: "http", Port: 80, TargetPort: api.FromString("http")}}},
	}
	got, err := client.Services(c).Namespace(ns).Create(ctx, svc)
	if err != nil {
		return 0, fmt.Errorf("create service %s/hello: %w", ns, err)
	}
	if len(got.Spec.Ports) != 1 || got.Spec.Ports[0].NodePort == 0 {
		return 0, fmt.Errorf("create service %s/hello: no nodePort allocated: %+v", ns, got.Spec.Ports)
	}
	return int(got.Spec.Ports[0].NodePort), nil
}

// helloBody is how every answer of samples/hello begins.
const helloBody = "Container Hostname: hello-"

// waitProxyBench waits until every front door answers over HTTP/1.1 and HTTP/3 from both pods.
func waitProxyBench(ctx context.Context, tgt proxyTarget) error {
	for _, host := range tgt.hosts {
		for _, proto := range []string{"http1", "h3"} {
			c, url, closeClient := proxyClient(proto, host, tgt.port, 1, tgt.pool)
			err := waitBothPods(ctx, c, url)
			closeClient()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func waitBothPods(ctx context.Context, c *http.Client, url string) error {
	seen := map[string]bool{}
	var last error
	for len(seen) < 2 {
		body, err := helloGet(ctx, c, url)
		if err == nil {
			seen[strings.SplitN(body, "\n", 2)[0]] = true
			continue
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to answer from both hello pods: %w (last: %v)", url, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// helloGet GETs url and returns the body if the answer is 200 with the hello body.
func helloGet(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("GET %s: read body: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), helloBody) {
		return "", fmt.Errorf("GET %s: %s %q", url, resp.Status, body)
	}
	return string(body), nil
}

// localPods returns the sandboxes of the hello pods from the runner that hosts them.
func localPods(ctx context.Context, c *client.Client, ns string, r *kubelet.Runner) ([]*sandbox.Pod, error) {
	list, err := client.Pods(c).Namespace(ns).List(ctx, client.ListOptions{LabelSelector: "app=hello"})
	if err != nil {
		return nil, fmt.Errorf("list hello pods: %w", err)
	}
	var out []*sandbox.Pod
	for _, p := range list.Items {
		if sb, ok := r.Pod(ns, p.Name); ok && isRunningReady(p) {
			out = append(out, sb)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("bench proxy: no hello pod runs on node-1")
	}
	return out, nil
}

// proxyClient returns a client of proto (http1, h2c, h3) for concurrency requests at once, the
// URL of host's front door for it, and what closes its connections.
func proxyClient(proto, host string, port, concurrency int, pool *x509.CertPool) (*http.Client, string, func()) {
	addr := netip.AddrPortFrom(netip.MustParseAddr(host), uint16(port)).String()
	switch proto {
	case "h3":
		tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		return &http.Client{Transport: tr}, "https://" + addr + "/", func() { _ = tr.Close() }
	case "h2c":
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: &p}
		return &http.Client{Transport: tr}, "http://" + addr + "/", tr.CloseIdleConnections
	default:
		tr := &http.Transport{MaxIdleConnsPerHost: concurrency, DisableCompression: true}
		return &http.Client{Transport: tr}, "http://" + addr + "/", tr.CloseIdleConnections
	}
}

// measureProxy runs every case against tgt and gathers the figures.
func measureProxy(ctx context.Context, progress func(string, ...any), tgt proxyTarget, o benchProxyOptions) proxyFigures {
	fig := proxyFigures{DurationS: o.duration.Seconds(), Concurrency: o.concurrency, Local: map[string]map[string]proxyCase{}}
	record := func(path, proto string, conc int, r loadResult) proxyCase {
		pc := r.figure()
		fig.Requests += pc.Requests + r.warmup
		fig.Errors += pc.Errors
		if r.firstErr != nil && fig.FirstError == "" {
			fig.FirstError = r.firstErr.Error()
		}
		progress("%-9s %-5s c=%-3d %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  %5.1f us CPU/req  %.2f cores  errors %d",
			path, proto, conc, pc.RPS, pc.P50Ms, pc.P99Ms, pc.CPUUsPerReq, pc.Cores, pc.Errors)
		return pc
	}
	paths := []struct {
		name string
		m    *map[string]map[string]proxyCase
	}{{"local", &fig.Local}, {"remote", &fig.Remote}}
	for i, host := range tgt.hosts {
		path := paths[i]
		*path.m = map[string]map[string]proxyCase{}
		for _, proto := range []string{"http1", "h2c", "h3"} {
			(*path.m)[proto] = map[string]proxyCase{}
			for _, conc := range o.concurrency {
				c, url, closeClient := proxyClient(proto, host, tgt.port, conc, tgt.pool)
				r := driveLoad(ctx, conc, o.duration, func(ctx context.Context) error {
					_, err := helloGet(ctx, c, url)
					return err
				})
				closeClient()
				(*path.m)[proto]["c"+strconv.Itoa(conc)] = record(path.name, proto, conc, r)
			}
		}
	}
	if len(tgt.pods) > 0 {
		fig.InProcess = map[string]proxyCase{}
		var next atomic.Uint64
		for _, conc := range o.concurrency {
			r := driveLoad(ctx, conc, o.duration, func(context.Context) error {
				pod := tgt.pods[next.Add(1)%uint64(len(tgt.pods))]
				rec := httptest.NewRecorder()
				pod.ServeHTTP(8080, rec, httptest.NewRequest(http.MethodGet, "/", nil))
				if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), helloBody) {
					return fmt.Errorf("in-process ServeHTTP = %d %q", rec.Code, rec.Body)
				}
				return nil
			})
			fig.InProcess["c"+strconv.Itoa(conc)] = record("inprocess", "-", conc, r)
		}
		low := "c" + strconv.Itoa(o.concurrency[0])
		h1, floor := fig.Local["http1"][low], fig.InProcess[low]
		p50, p99 := round(h1.P50Ms-floor.P50Ms, 4), round(h1.P99Ms-floor.P99Ms, 4)
		fig.AddedP50Ms, fig.AddedP99Ms = &p50, &p99
	}
	high := "c" + strconv.Itoa(o.concurrency[len(o.concurrency)-1])
	if h1 := fig.Local["http1"][high].RPS; h1 > 0 {
		fig.H3VsHTTP1 = round(fig.Local["h3"][high].RPS/h1, 3)
	}
	return fig
}

// loadResult is what driveLoad measured.
type loadResult struct {
	lat      []time.Duration // of the successful requests
	errors   int
	warmup   int // requests of the warm-up, errors included in errors
	elapsed  time.Duration
	cpu      float64 // CPU seconds of this process while measuring; 0 if unknown
	firstErr error
}

func (r loadResult) figure() proxyCase {
	slices.Sort(r.lat)
	pc := proxyCase{Requests: len(r.lat) + r.errors, Errors: r.errors,
		P50Ms: quantileMs(r.lat, 0.50), P99Ms: quantileMs(r.lat, 0.99)}
	if r.elapsed > 0 {
		pc.RPS = float64(len(r.lat)) / r.elapsed.Seconds()
		pc.Cores = r.cpu / r.elapsed.Seconds()
	}
	if pc.Requests > 0 {
		pc.CPUUsPerReq = r.cpu * 1e6 / float64(pc.Requests)
	}
	pc.RPS, pc.CPUUsPerReq, pc.Cores = round(pc.RPS, 1), round(pc.CPUUsPerReq, 1), round(pc.Cores, 2)
	return pc
}

// quantileMs is the q quantile of sorted latencies, in milliseconds.
func quantileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return round(float64(sorted[int(q*float64(len(sorted)-1))])/float64(time.Millisecond), 4)
}

// round rounds x to digits decimals.
func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// driveLoad warms up with do for a tenth of d (50–500 ms), then calls do from conc goroutines
// until d has passed, recording the latency of each call.
func driveLoad(ctx context.Context, conc int, d time.Duration, do func(context.Context) error) loadResult {
	warm := min(max(d/10, 50*time.Millisecond), 500*time.Millisecond)
	w := runLoad(ctx, conc, warm, do)
	r := runLoad(ctx, conc, d, do)
	r.warmup = len(w.lat) + w.errors
	r.errors += w.errors
	if r.firstErr == nil {
		r.firstErr = w.firstErr
	}
	return r
}

func runLoad(ctx context.Context, conc int, d time.Duration, do func(context.Context) error) loadResult {
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	cpu0, cpuErr := procCPUSeconds(os.Getpid())
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			var errs int
			var first error
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(deadline) {
					break
				}
				if err := do(ctx); err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			defer mu.Unlock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = first
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if cpu1, err := procCPUSeconds(os.Getpid()); err == nil && cpuErr == nil {
		res.cpu = cpu1 - cpu0
	}
	return res
}
