package main

import (
	"context"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestCordonDrain(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	if _, err := client.Nodes(tc.c).Create(ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	boundPod := func(name string, owned bool) {
		p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
			Spec: api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "c", Image: "m:v1"}}}}
		if owned {
			p.OwnerReferences = []api.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "u-1", Controller: api.Ptr(true)}}
		}
		if _, err := client.Pods(tc.c).Namespace("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	boundPod("owned", true)
	boundPod("bare", false)
	unschedulable := func() bool {
		n, err := client.Nodes(tc.c).Get(ctx, "n1")
		if err != nil {
			t.Fatal(err)
		}
		return n.Spec.Unschedulable
	}
	steps := []struct {
		name          string
		args          []string
		code          int
		out, err      string
		unschedulable bool
	}{
		{"cordon", []string{"cordon", "n1"}, 0, "node/n1 cordoned\n", "", true},
		{"cordon again", []string{"cordon", "n1"}, 0, "node/n1 already cordoned\n", "", true},
		{"uncordon", []string{"uncordon", "n1"}, 0, "node/n1 uncordoned\n", "", false},
		{"drain refuses bare pods", []string{"drain", "n1"}, 1, "node/n1 cordoned\n",
			"error: cannot delete Pods that declare no controller (use --force to override): default/bare\n", true},
		{"drain --force", []string{"drain", "n1", "--force", "--grace-period=0"}, 0,
			"node/n1 already cordoned\nevicting pod default/bare\nevicting pod default/owned\npod/bare evicted\npod/owned evicted\nnode/n1 drained\n",
			"Warning: deleting Pods that declare no controller: default/bare\n", true},
		{"unknown node", []string{"cordon", "nope"}, 1, "", "Error from server (NotFound): nodes \"nope\" not found\n", true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := tc.wk(t, "", s.args...)
			if r.code != s.code || r.out != s.out || r.err != s.err {
				t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", r.code, r.out, s.out, r.err, s.err)
			}
			if got := unschedulable(); got != s.unschedulable {
				t.Fatalf("unschedulable = %v, want %v", got, s.unschedulable)
			}
		})
	}
	pods, err := client.Pods(tc.c).Namespace("default").List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 0 {
		t.Fatalf("%d pods left after drain", len(pods.Items))
	}
}
