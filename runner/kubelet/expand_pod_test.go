package kubelet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestVariableExpansion runs a command module whose command, args and env name $(VAR)s and
// checks what the guest saw, as Kubernetes would give it.
func TestVariableExpansion(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	r := cl.startRunner(t, t.TempDir())
	ctx := context.Background()

	t.Run("command and args", func(t *testing.T) {
		cl.create(t, pod("args", api.RestartNever, api.Container{Name: "c", Image: m.cmd,
			Command: []string{"cmd", "args", "$(GREETING)"},
			Args:    []string{"$(WHO)", "$$(WHO)", "$(UNKNOWN)", "$(POD)", "x$(WHO"},
			Env: []api.EnvVar{{Name: "WHO", Value: "world"}, {Name: "GREETING", Value: "hello-$(WHO)"},
				{Name: "POD", ValueFrom: &api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}))
		cl.waitPod(t, "args", func(p *api.Pod) error {
			if p.Status.Phase != api.PodSucceeded {
				return fmt.Errorf("phase %q", p.Status.Phase)
			}
			return nil
		})
		code, body := cl.logs(t, ctx, "args", "")
		// os.Args[0] is the program name the sandbox gives; the rest are ours.
		want := " args hello-world world $(WHO) $(UNKNOWN) args x$(WHO]"
		if code != 200 || !strings.HasSuffix(strings.TrimSpace(body), want) {
			t.Errorf("logs = %d %q, want suffix %q", code, body, want)
		}
	})

	t.Run("env sees earlier entries only", func(t *testing.T) {
		cl.create(t, pod("env", "", api.Container{Name: "web", Image: m.web, Ports: []api.ContainerPort{{ContainerPort: 80}},
			Env: []api.EnvVar{{Name: "LATER_REF", Value: "$(B)"}, {Name: "A", Value: "a"}, {Name: "B", Value: "$(A)-b"},
				{Name: "ESCAPED", Value: "$$(A)"}, {Name: "UNKNOWN", Value: "$(NOPE)"}, {Name: "SELF", Value: "$(SELF)x"}}}))
		cl.waitPod(t, "env", runningReady)
		for _, tt := range []struct{ name, want string }{
			{"A", "a"}, {"B", "a-b"}, {"LATER_REF", "$(B)"}, {"ESCAPED", "$(A)"}, {"UNKNOWN", "$(NOPE)"}, {"SELF", "$(SELF)x"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, body := get(t, r, "env", 80, "/env?name="+tt.name); body != tt.want {
					t.Errorf("%s = %q, want %q", tt.name, body, tt.want)
				}
			})
		}
	})
}
