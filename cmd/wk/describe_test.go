package main

import (
	"context"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestDescribe(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	renew := api.NewMicroTime(time.Now())
	if _, err := client.Leases(tc.c).Namespace("shop").Create(context.Background(), &api.Lease{
		ObjectMeta: api.ObjectMeta{Name: "web-leader", Labels: map[string]string{"app": "web"}},
		Spec:       api.LeaseSpec{HolderIdentity: api.Ptr("web-5d4c9-abcde"), LeaseDurationSeconds: api.Ptr[int32](15), RenewTime: &renew},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"pod", []string{"describe", "pod", "web-5d4c9-abcde", "-n", "shop"}},
		{"pods-by-prefix", []string{"describe", "pods", "web-5d4c9", "-n", "shop"}},
		{"deployment", []string{"describe", "deploy/web", "-n", "shop"}},
		{"replicaset", []string{"describe", "rs", "-n", "shop"}},
		{"service", []string{"describe", "svc", "web", "-n", "shop"}},
		{"node", []string{"describe", "node", "node-1"}},
		{"namespace", []string{"describe", "ns", "shop"}},
		{"lease", []string{"describe", "lease", "web-leader", "-n", "shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "describe/"+tt.name+".txt", tc.mustWK(t, tt.args...))
		})
	}
	t.Run("not found", func(t *testing.T) {
		r := tc.wk(t, "", "describe", "pod", "nope", "-n", "shop")
		if r.code != 1 || r.err != "Error from server (NotFound): pods \"nope\" not found\n" || r.out != "" {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
		}
	})
}
