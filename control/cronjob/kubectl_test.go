package cronjob_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/job"
)

// TestKubectlCronJob creates a CronJob with kubectl create cronjob (a protobuf body), lists it
// with get cj, and starts a run by hand with create job --from=cronjob/NAME.
func TestKubectlCronJob(t *testing.T) {
	bins := clustertest.Kubectls(t)
	a := clustertest.StartAPI(t)
	clk := &clock{}
	clk.Set(time.Now())
	c, ctx := start(t, a, clk)
	dir := t.TempDir()
	kubeconfig := a.Kubeconfig(t)
	for version, kubectl := range bins {
		t.Run(version, func(t *testing.T) {
			ns := "v" + strings.ReplaceAll(version, ".", "")
			k := clustertest.Kubectl{Bin: kubectl, Kubeconfig: kubeconfig, Namespace: ns, Home: filepath.Join(dir, ns)}
			kc := func(t *testing.T, args ...string) string { t.Helper(); return k.Must(t, ctx, args...) }
			kc(t, "create", "namespace", ns)
			if out := kc(t, "create", "cronjob", "tick", "--image=wc:v1", "--schedule=*/1 * * * *"); out != "cronjob.batch/tick created\n" {
				t.Fatalf("create cronjob: %q", out)
			}
			out := kc(t, "get", "cj")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE" ||
				!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "tick */1 * * * * <none> False 0 <none> ") {
				t.Fatalf("get cj:\n%s", out)
			}
			if out := kc(t, "get", "cronjob", "tick", "-o", "wide"); !strings.Contains(out, "wc:v1") {
				t.Fatalf("get cronjob -o wide:\n%s", out)
			}
			if out := kc(t, "create", "job", "by-hand", "--from=cronjob/tick"); out != "job.batch/by-hand created\n" {
				t.Fatalf("create job --from: %q", out)
			}
			j, err := job.Jobs(c).Namespace(ns).Get(ctx, "by-hand")
			if err != nil {
				t.Fatal(err)
			}
			// kubectl 1.28+ marks the reference controller: true; 1.27 leaves it a plain owner.
			var ref *api.OwnerReference
			if len(j.OwnerReferences) == 1 {
				ref = &j.OwnerReferences[0]
			}
			if ref == nil || ref.Kind != "CronJob" || ref.Name != "tick" || (version != "1.27" && api.ControllerOf(&j.ObjectMeta) == nil) ||
				j.Spec.Template.Spec.Containers[0].Image != "wc:v1" || j.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" {
				t.Fatalf("job from cronjob: owner %+v, annotations %v, spec %+v", ref, j.Annotations, j.Spec)
			}
			if out := kc(t, "get", "all"); !strings.Contains(out, "cronjob.batch/tick") {
				t.Fatalf("get all has no cronjob:\n%s", out)
			}
			kc(t, "delete", "cronjob", "tick")
		})
	}
}
