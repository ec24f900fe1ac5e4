package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// This example connects with the current context of a kubeconfig, creates a pod and watches
// the pods of its namespace.
func Example() {
	cfg, err := client.FromKubeconfig("/var/lib/wk/kubeconfig", "")
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	pods := client.Pods(c).Namespace(cfg.Namespace)

	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: "hello"},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "hello:1"}}},
	}
	if _, err := pods.Create(ctx, pod); err != nil && !api.IsAlreadyExists(err) {
		log.Fatal(err)
	}
	list, err := pods.List(ctx, client.ListOptions{LabelSelector: "app=hello"})
	if err != nil {
		log.Fatal(err)
	}
	w, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.Events() {
		if api.IsGone(ev.Err) {
			break // list again, then watch from the new list's resourceVersion
		}
		fmt.Println(ev.Type, ev.Object.Name, ev.Object.Status.Phase)
	}
}

// Patches come in the four types Kubernetes has; Apply is server-side apply.
func ExampleResource_Patch() {
	var c *client.Client // from client.New
	ctx := context.Background()
	deps := client.Deployments(c).Namespace("default")

	// Scale through a merge patch...
	_, _ = deps.Patch(ctx, "web", client.MergePatch, []byte(`{"spec":{"replicas":3}}`))
	// ...or the scale subresource...
	if s, err := deps.GetScale(ctx, "web"); err == nil {
		s.Spec.Replicas = 3
		_, _ = deps.UpdateScale(ctx, "web", s)
	}
	// ...or declare the whole intent with server-side apply.
	manifest := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n")
	_, _ = deps.Apply(ctx, "web", manifest, "wk", false)
}
