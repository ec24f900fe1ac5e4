//go:build !wasip1

package sidecar_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/samples/internal/deploytest"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// podSpec reads the Deployment of sidecar.yaml, strictly, defaulted and validated.
func podSpec(t *testing.T) *api.PodSpec {
	var d api.Deployment
	deploytest.Manifest(t, "sidecar.yaml", 0, &d)
	return &d.Spec.Template.Spec
}

// TestSidecar runs the manifest's pod in a sandbox, as a runner would (the volume and mounts
// come from the manifest), sends requests to the web module, and waits until the shipper has
// printed a line for each.
func TestSidecar(t *testing.T) {
	ctx := context.Background()
	spec := podSpec(t)
	rt, err := sandbox.NewRuntime(ctx, sandbox.RuntimeConfig{CacheDir: wasmtest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	modes := map[string]string{"web": wasmtest.Reactor, "shipper": wasmtest.Command}
	var shipperOut, stderr wasmtest.Buffer
	exits := make(chan sandbox.Exit, 10)
	cfg := sandbox.PodConfig{Name: "sidecar-7c9d-abcde", Namespace: "default", Node: "node-1", Dir: t.TempDir(),
		OnExit: func(e sandbox.Exit) { exits <- e }}
	for _, v := range spec.Volumes {
		vc := sandbox.VolumeConfig{Name: v.Name, Medium: sandbox.Medium(v.EmptyDir.Medium)}
		if v.EmptyDir.SizeLimit != nil {
			vc.SizeLimit = v.EmptyDir.SizeLimit.Value()
		}
		cfg.Volumes = append(cfg.Volumes, vc)
	}
	for _, c := range spec.Containers {
		m, err := rt.Compile(ctx, "", wasmtest.GoBuild(t, c.Name, modes[c.Name]))
		if err != nil {
			t.Fatal(err)
		}
		ct := sandbox.ContainerConfig{Name: c.Name, Module: m, MemoryLimitBytes: c.Resources.Limits[api.ResourceMemory].Value(), Stderr: &stderr}
		if c.Name == "shipper" {
			ct.Stdout = &shipperOut
		}
		for _, p := range c.Ports {
			ct.Ports = append(ct.Ports, int(p.ContainerPort))
		}
		for _, vm := range c.VolumeMounts {
			ct.Mounts = append(ct.Mounts, sandbox.Mount{Volume: vm.Name, Path: vm.MountPath, ReadOnly: vm.ReadOnly})
		}
		cfg.Containers = append(cfg.Containers, ct)
	}
	p, err := rt.NewPod(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.ServeHTTP(8080, w, r) }))
	defer srv.Close()
	requests := []struct {
		path string
		code int
	}{{"/", 200}, {"/orders?id=7", 200}, {"/missing", 404}}
	for _, rq := range requests {
		resp, err := http.Get(srv.URL + rq.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != rq.code || string(body) != fmt.Sprintf("%d from sidecar-7c9d-abcde\n", rq.code) {
			t.Fatalf("GET %s = %d %q", rq.path, resp.StatusCode, body)
		}
	}
	// The shipper prints what the web module logged; poll its output with a deadline.
	deadline := time.Now().Add(time.Minute)
	for {
		lines := strings.Split(strings.TrimSuffix(shipperOut.String(), "\n"), "\n")
		if len(lines) == len(requests) {
			for i, rq := range requests {
				if want := fmt.Sprintf(" GET %s %d", rq.path, rq.code); !strings.HasSuffix(lines[i], want) {
					t.Errorf("shipper line %d = %q, want suffix %q", i, lines[i], want)
				}
			}
			break
		}
		select {
		case e := <-exits:
			t.Fatalf("container %s exited: %s\nstderr: %s", e.Container, e.Message(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("shipper printed %q; stderr: %s", shipperOut.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "shipper: following /var/log/app/access.log") {
		t.Errorf("stderr: %s", stderr.String())
	}
}
