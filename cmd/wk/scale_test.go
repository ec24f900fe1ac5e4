package main

import (
	"context"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestScale(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	ctx := context.Background()
	tests := []struct {
		name         string
		args         []string
		wantCode     int
		wantOut      string
		wantErr      string
		wantReplicas int32 // spec.replicas after the command (the cases run in order)
	}{
		{name: "deployment", args: []string{"deployment", "web", "--replicas=3"}, wantOut: "deployment.apps/web scaled\n", wantReplicas: 3},
		{name: "precondition holds", args: []string{"deploy/web", "--current-replicas=3", "--replicas=1"},
			wantOut: "deployment.apps/web scaled\n", wantReplicas: 1},
		{name: "precondition fails", args: []string{"deploy/web", "--current-replicas=5", "--replicas=2"}, wantCode: 1,
			wantErr: "error: Expected replicas to be 5, was 1\n", wantReplicas: 1},
		{name: "to zero", args: []string{"deploy", "-l", "app=web", "--replicas=0"}, wantOut: "deployment.apps/web scaled\n"},
		{name: "no replicas", args: []string{"deploy", "web"}, wantCode: 1,
			wantErr: "error: the --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0\n"},
		{name: "not scalable", args: []string{"svc", "web", "--replicas=2"}, wantCode: 1,
			wantErr: "error: cannot scale services: the resource has no scale subresource\n"},
		{name: "not found", args: []string{"deploy", "nope", "--replicas=2"}, wantCode: 1,
			wantErr: "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tc.wk(t, "", append([]string{"scale", "-n", "shop"}, tt.args...)...)
			if r.code != tt.wantCode || r.out != tt.wantOut || r.err != tt.wantErr {
				t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", r.code, r.out, tt.wantOut, r.err, tt.wantErr)
			}
			d, err := client.Deployments(tc.c).Namespace("shop").Get(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			if got := api.Deref(d.Spec.Replicas, -1); got != tt.wantReplicas {
				t.Errorf("spec.replicas = %d, want %d", got, tt.wantReplicas)
			}
		})
	}
	if out := tc.mustWK(t, "scale", "rs", "web-5d4c9", "-n", "shop", "--replicas=4"); out != "replicaset.apps/web-5d4c9 scaled\n" {
		t.Errorf("scale rs: %q", out)
	}
}
