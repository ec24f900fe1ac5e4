//go:build !wasip1

package main_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/job"
	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/runner/kubelet"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// logSource forwards pods/log to the runner, which is built after the API server.
type logSource struct{ r atomic.Pointer[kubelet.Runner] }

func (l *logSource) Logs(ctx context.Context, p *api.Pod, o apiserver.LogOptions, w io.Writer) error {
	r := l.r.Load()
	if r == nil {
		return api.BadRequest("no runner yet")
	}
	return r.Logs(ctx, p, o, w)
}

// TestDeployJob deploys the sample as a cluster runs it: the module pushed to the registry,
// job.yaml created through the API, the Job controller creating its pod, a real runner
// fetching the module through the registry and running it, and the output read back through
// pods/log.
func TestDeployJob(t *testing.T) {
	ctx := context.Background()
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
	defer c.Close()
	if _, err := registry.Push(ctx, c, "wc:v1", wasmtest.GoBuild(t, ".", wasmtest.Command)); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	var stopped []chan struct{}
	goRun := func(f func(context.Context)) {
		done := make(chan struct{})
		stopped = append(stopped, done)
		go func() { defer close(done); f(runCtx) }()
	}
	defer func() {
		cancel()
		for _, d := range stopped {
			<-d
		}
	}()
	src, err := registry.NewSource(registry.SourceConfig{Client: c, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := kubelet.New(kubelet.Config{Client: c, NodeName: "node-1", NodeIP: "127.0.0.1", DataDir: t.TempDir(), Modules: src})
	if err != nil {
		t.Fatal(err)
	}
	ls.r.Store(r)
	goRun(func(ctx context.Context) { r.Run(ctx) })
	inf := controller.NewInformers(c)
	jc, err := job.New(job.Config{Client: c, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	goRun(func(ctx context.Context) { inf.Run(ctx) })
	goRun(func(ctx context.Context) { jc.Run(ctx) })

	j := manifest(t)
	j.Spec.Template.Spec.NodeName = "node-1" // no scheduler runs in this test
	if _, err := job.Jobs(c).Namespace("default").Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got, err := job.Jobs(c).Namespace("default").Get(ctx, "wc")
		if err != nil {
			t.Fatal(err)
		}
		if typ, done := api.JobFinished(got); done {
			if typ != api.JobComplete || got.Status.Succeeded != 1 || got.Status.Failed != 0 {
				t.Fatalf("job finished %s: %+v", typ, got.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not finished: %+v", got.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pods, err := client.Pods(c).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "job-name=wc"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of the job: %v, %v", pods, err)
	}
	p := pods.Items[0]
	if p.Status.Phase != api.PodSucceeded {
		t.Fatalf("pod phase %s", p.Status.Phase)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/api/v1/namespaces/default/pods/"+p.Name+"/log", nil)
	req.Header.Set("Authorization", "Bearer "+a.Token)
	resp, err := a.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := "      4 the\n      2 dog\n      2 fox\ntotal: 15 words, 10 distinct\n"; resp.StatusCode != 200 || string(body) != want {
		t.Fatalf("logs = %d %q, want %q", resp.StatusCode, body, want)
	}
}
