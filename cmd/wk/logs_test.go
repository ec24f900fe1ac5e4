package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
)

// echoLogs stands in for a runner until runners exist: it answers with one line that shows
// which pod and options the request carried, so the CLI's side of pods/log is what is tested.
type echoLogs struct{}

func (echoLogs) Logs(_ context.Context, pod *api.Pod, o apiserver.LogOptions, w io.Writer) error {
	tail := "all"
	if o.TailLines != nil {
		tail = fmt.Sprint(*o.TailLines)
	}
	_, err := fmt.Fprintf(w, "pod=%s container=%s follow=%v previous=%v timestamps=%v tail=%s\n",
		pod.Name, o.Container, o.Follow, o.Previous, o.Timestamps, tail)
	return err
}

func TestLogs(t *testing.T) {
	tc := startCluster(t, clustertest.WithConfig(func(c *apiserver.Config) { c.LogSource = echoLogs{} }))
	seedShop(t, tc)
	ctx := context.Background()
	two := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "two", Namespace: "shop"}, Spec: api.PodSpec{NodeName: "node-1",
		Containers: []api.Container{{Name: "main", Image: "m:v1"}, {Name: "side", Image: "s:v1"}}}}
	if _, err := client.Pods(tc.c).Namespace("shop").Create(ctx, two); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "pod", args: []string{"web-5d4c9-abcde"},
			wantOut: "pod=web-5d4c9-abcde container=web follow=false previous=false timestamps=false tail=all\n"},
		{name: "options", args: []string{"pod/web-5d4c9-abcde", "-c", "web", "-f", "-p", "--tail=5", "--timestamps"},
			wantOut: "pod=web-5d4c9-abcde container=web follow=true previous=true timestamps=true tail=5\n"},
		{name: "deployment picks the ready pod", args: []string{"deployment/web"},
			wantOut: "pod=web-5d4c9-abcde container=web follow=false previous=false timestamps=false tail=all\n",
			wantErr: "Found 2 pods, using pod/web-5d4c9-abcde\n"},
		{name: "default container", args: []string{"two"},
			wantOut: "pod=two container=main follow=false previous=false timestamps=false tail=all\n",
			wantErr: "Defaulted container \"main\" out of: main, side\n"},
		{name: "inline container", args: []string{"two", "side"},
			wantOut: "pod=two container=side follow=false previous=false timestamps=false tail=all\n"},
		{name: "unknown container", args: []string{"two", "-c", "nope"}, wantCode: 1,
			wantErr: "Error from server (BadRequest): container nope is not valid for pod two\n"},
		{name: "not scheduled", args: []string{"web-5d4c9-fghij"}, wantCode: 1,
			wantErr: "Error from server (BadRequest): container \"web\" in pod \"web-5d4c9-fghij\" is waiting to start: the pod is not assigned to a node yet\n"},
		{name: "not found", args: []string{"nope"}, wantCode: 1,
			wantErr: "Error from server (NotFound): pods \"nope\" not found\n"},
		{name: "service", args: []string{"svc/web"}, wantCode: 0,
			wantOut: "pod=web-5d4c9-abcde container=web follow=false previous=false timestamps=false tail=all\n",
			wantErr: "Found 2 pods, using pod/web-5d4c9-abcde\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tc.wk(t, "", append([]string{"logs", "-n", "shop"}, tt.args...)...)
			if r.code != tt.wantCode || r.out != tt.wantOut || r.err != tt.wantErr {
				t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", r.code, r.out, tt.wantOut, r.err, tt.wantErr)
			}
		})
	}
}

// TestLogsWithoutRunners checks that the API server's answer when no runner serves logs is
// printed as kubectl prints API errors.
func TestLogsWithoutRunners(t *testing.T) {
	tc := startCluster(t)
	seedShop(t, tc)
	r := tc.wk(t, "", "logs", "-n", "shop", "web-5d4c9-abcde")
	if r.code != 1 || !strings.HasPrefix(r.err, "Error from server (NotFound): logs of container \"web\" of pod shop/web-5d4c9-abcde") {
		t.Errorf("exit %d, stderr %q", r.code, r.err)
	}
}
