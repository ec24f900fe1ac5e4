// Package deploytest is the samples' harness for deploying them as a cluster would: an API
// server (clustertest) serving the module registry and pods/log, and a real runner
// (runner/kubelet) that fetches modules from that registry. Everything it starts is stopped by
// t.Cleanup. It owns no production code path.
package deploytest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/runner/kubelet"
)

// NodeName is the runner's node.
const NodeName = "node-1"

// Cluster is an API server with the registry, a client, and one runner.
type Cluster struct {
	API    *clustertest.API
	Client *client.Client
	Runner *kubelet.Runner
}

type logSource struct {
	mu sync.Mutex
	r  *kubelet.Runner
}

func (l *logSource) Logs(ctx context.Context, p *api.Pod, o apiserver.LogOptions, w io.Writer) error {
	l.mu.Lock()
	r := l.r
	l.mu.Unlock()
	if r == nil {
		return api.BadRequest("no runner yet")
	}
	return r.Logs(ctx, p, o, w)
}

// Start starts the API server, the registry and a runner that fetches modules from it.
func Start(t testing.TB) *Cluster {
	t.Helper()
	blobs, err := registry.OpenStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ls := &logSource{}
	a := clustertest.StartAPI(t, clustertest.WithConfig(func(c *apiserver.Config) {
		c.Registry = registry.Handler(blobs)
		c.LogSource = ls
	}))
	c, err := client.New(&client.Config{Server: a.URL, Token: a.Token, CAPEM: a.CAPEM})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	src, err := registry.NewSource(registry.SourceConfig{Client: c, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := kubelet.New(kubelet.Config{Client: c, NodeName: NodeName, NodeIP: "127.0.0.1", DataDir: t.TempDir(),
		Modules: src, BackoffBase: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ls.mu.Lock()
	ls.r = r
	ls.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &Cluster{API: a, Client: c, Runner: r}
}

// Push uploads wasm as ref (name:tag).
func (cl *Cluster) Push(t testing.TB, ref string, wasm []byte) string {
	t.Helper()
	d, err := registry.Push(context.Background(), cl.Client, ref, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// RunPod creates a pod of spec bound to the runner's node and waits until it is Running and
// Ready.
func (cl *Cluster) RunPod(t testing.TB, name string, spec api.PodSpec) *api.Pod {
	t.Helper()
	spec.NodeName = NodeName
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"}, Spec: spec}
	if _, err := client.Pods(cl.Client).Namespace("default").Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var got *api.Pod
	cl.Eventually(t, "pod "+name+" running and ready", func() (bool, string) {
		var err error
		got, err = client.Pods(cl.Client).Namespace("default").Get(context.Background(), name)
		if err != nil {
			return false, err.Error()
		}
		ready := false
		for _, c := range got.Status.Conditions {
			if c.Type == api.PodReady && c.Status == api.ConditionTrue {
				ready = true
			}
		}
		return got.Status.Phase == api.PodRunning && ready, fmt.Sprintf("phase %s, containers %+v", got.Status.Phase, got.Status.ContainerStatuses)
	})
	return got
}

// Get sends a GET for path to port of the pod on the runner, as the proxy would.
func (cl *Cluster) Get(t testing.TB, pod string, port int, path string) (int, string) {
	t.Helper()
	sb, ok := cl.Runner.Pod("default", pod)
	if !ok {
		t.Fatalf("pod %s does not run", pod)
	}
	rec := httptest.NewRecorder()
	sb.ServeHTTP(port, rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// Logs reads pods/log of a container through the API server, as `wk logs POD -c C` does.
func (cl *Cluster) Logs(t testing.TB, pod, container string) string {
	t.Helper()
	u := cl.API.URL + "/api/v1/namespaces/default/pods/" + pod + "/log?container=" + url.QueryEscape(container)
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cl.API.Token)
	resp, err := cl.API.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logs of %s/%s: %d %s", pod, container, resp.StatusCode, b)
	}
	return string(b)
}

// Eventually polls cond until it holds, failing the test after two minutes with cond's last
// description.
func (cl *Cluster) Eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, desc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
