//go:build !wasip1

package main_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/job"
	"github.com/wasmkube/wasmkube/samples/internal/deploytest"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

// TestDeployJob deploys the sample as a cluster runs it: the module pushed to the registry,
// job.yaml created through the API, the Job controller creating its pod, a real runner
// fetching the module from the registry and running it, and the output read back through
// pods/log.
func TestDeployJob(t *testing.T) {
	ctx := context.Background()
	cl := deploytest.Start(t)
	cl.Push(t, "wc:v1", wasmtest.GoBuild(t, ".", wasmtest.Command))
	inf := controller.NewInformers(cl.Client)
	jc, err := job.New(job.Config{Client: cl.Client, Informers: inf})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { inf.Run(runCtx); done <- struct{}{} }()
	go func() { jc.Run(runCtx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	j := manifest(t)
	j.Spec.Template.Spec.NodeName = deploytest.NodeName // no scheduler runs in this test
	if _, err := job.Jobs(cl.Client).Namespace("default").Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	cl.Eventually(t, "job wc complete", func() (bool, string) {
		got, err := job.Jobs(cl.Client).Namespace("default").Get(ctx, "wc")
		if err != nil {
			return false, err.Error()
		}
		if typ, done := api.JobFinished(got); done {
			if typ != api.JobComplete || got.Status.Succeeded != 1 || got.Status.Failed != 0 {
				t.Fatalf("job finished %s: %+v", typ, got.Status)
			}
			return true, ""
		}
		return false, fmt.Sprintf("%+v", got.Status)
	})
	pods, err := client.Pods(cl.Client).Namespace("default").List(ctx, client.ListOptions{LabelSelector: "job-name=wc"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of the job: %v, %v", pods, err)
	}
	p := pods.Items[0]
	if p.Status.Phase != api.PodSucceeded {
		t.Fatalf("pod phase %s", p.Status.Phase)
	}
	if got, want := cl.Logs(t, p.Name, "wc"), "      4 the\n      2 dog\n      2 fox\ntotal: 15 words, 10 distinct\n"; got != want {
		t.Fatalf("logs = %q, want %q", got, want)
	}
}
