package kubelet_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/control/registry"
	"github.com/wasmkube/wasmkube/runner/kubelet"
	"github.com/wasmkube/wasmkube/wasm/wasmtest"
)

func status(p *api.Pod, name string) api.ContainerStatus {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			return cs
		}
	}
	return api.ContainerStatus{}
}

func TestNodeRegistered(t *testing.T) {
	cl := newCluster(t)
	cl.startRunner(t, t.TempDir())
	var n *api.Node
	deadline := time.Now().Add(time.Minute)
	for {
		var err error
		n, err = client.Nodes(cl.c).Get(context.Background(), nodeName)
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := n.Status.NodeInfo.ContainerRuntimeVersion; got != kubelet.RuntimeVersion {
		t.Errorf("runtime version %q", got)
	}
	pods := n.Status.Capacity[api.ResourcePods]
	if pods.Value() != 5000 {
		t.Errorf("pods capacity %v", pods.String())
	}
	if len(n.Status.Addresses) != 2 || n.Status.Addresses[0].Address != "127.0.0.1" {
		t.Errorf("addresses %+v", n.Status.Addresses)
	}
}

func TestPods(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	r := cl.startRunner(t, t.TempDir())
	ctx := context.Background()

	t.Run("hello runs and answers", func(t *testing.T) {
		cl.create(t, pod("hello", "", api.Container{Name: "hello", Image: m.hello,
			Ports: []api.ContainerPort{{ContainerPort: 8080}},
			Env:   []api.EnvVar{{Name: "VERSION", Value: "v7"}}}))
		p := cl.waitPod(t, "hello", runningReady)
		if p.Status.PodIP != "127.0.0.1" || p.Status.HostIP != "127.0.0.1" || p.Status.StartTime == nil {
			t.Errorf("status %+v", p.Status)
		}
		cs := status(p, "hello")
		if cs.State.Running == nil || !cs.Ready || !strings.HasPrefix(cs.ImageID, "sha256:") {
			t.Errorf("container status %+v", cs)
		}
		code, body := get(t, r, "hello", 8080, "/")
		if code != 200 || body != "Container Hostname: hello\nVersion: v7\n" {
			t.Errorf("GET / = %d %q", code, body)
		}
	})

	t.Run("downward API env", func(t *testing.T) {
		p := pod("env", "", api.Container{Name: "web", Image: m.web, Ports: []api.ContainerPort{{ContainerPort: 80}},
			Env: []api.EnvVar{{Name: "MY_IP", ValueFrom: &api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "MY_UID", ValueFrom: &api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "metadata.uid"}}}}})
		created := cl.create(t, p)
		cl.waitPod(t, "env", runningReady)
		for name, want := range map[string]string{"MY_IP": "127.0.0.1", "MY_UID": created.UID, "NODE_NAME": nodeName, "POD_NAMESPACE": "default"} {
			if _, body := get(t, r, "env", 80, "/env?name="+name); body != want {
				t.Errorf("%s = %q, want %q", name, body, want)
			}
		}
	})

	t.Run("crash loop back-off", func(t *testing.T) {
		cl.create(t, pod("crash", api.RestartAlways, api.Container{Name: "c", Image: m.cmd, Args: []string{"exit", "3"}}))
		var seen int32
		cl.waitPod(t, "crash", func(p *api.Pod) error {
			cs := status(p, "c")
			if cs.RestartCount < seen {
				return fmt.Errorf("restartCount went down from %d to %d", seen, cs.RestartCount)
			}
			seen = cs.RestartCount
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonCrashLoopBackOff || cs.RestartCount < 3 {
				return fmt.Errorf("container status %+v", cs)
			}
			if t := cs.LastState.Terminated; t == nil || t.ExitCode != 3 || t.Reason != "Error" {
				return fmt.Errorf("last state %+v", cs.LastState)
			}
			return nil
		})
	})

	t.Run("trap at start", func(t *testing.T) {
		cl.create(t, pod("trap", "", api.Container{Name: "c", Image: m.trapInit, Ports: []api.ContainerPort{{ContainerPort: 80}}}))
		cl.waitPod(t, "trap", func(p *api.Pod) error {
			cs := status(p, "c")
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonCrashLoopBackOff || cs.RestartCount < 2 ||
				cs.LastState.Terminated == nil || cs.LastState.Terminated.Reason != "Error" {
				return fmt.Errorf("container %+v", cs)
			}
			return nil
		})
		// The runner and its other pods carry on.
		if code, _ := get(t, r, "hello", 8080, "/"); code != 200 {
			t.Errorf("hello answers %d", code)
		}
	})

	t.Run("OOM killed", func(t *testing.T) {
		cl.create(t, pod("oom", api.RestartNever, api.Container{Name: "c", Image: m.cmd, Args: []string{"alloc"},
			Resources: api.ResourceRequirements{Limits: api.ResourceList{api.ResourceMemory: api.MustParseQuantity("32Mi")}}}))
		cl.waitPod(t, "oom", func(p *api.Pod) error {
			cs := status(p, "c")
			if p.Status.Phase != api.PodFailed || cs.State.Terminated == nil || cs.State.Terminated.Reason != "OOMKilled" {
				return fmt.Errorf("phase %s, container %+v", p.Status.Phase, cs.State)
			}
			return nil
		})
	})

	t.Run("completes", func(t *testing.T) {
		cl.create(t, pod("done", api.RestartOnFailure, api.Container{Name: "c", Image: m.cmd, Args: []string{"exit", "0"}}))
		cl.waitPod(t, "done", func(p *api.Pod) error {
			cs := status(p, "c")
			if p.Status.Phase != api.PodSucceeded || cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" {
				return fmt.Errorf("phase %s, container %+v", p.Status.Phase, cs.State)
			}
			return nil
		})
	})

	t.Run("active deadline", func(t *testing.T) {
		p := pod("deadline", api.RestartNever, api.Container{Name: "c", Image: m.cmd, Args: []string{"loop"}})
		p.Spec.ActiveDeadlineSeconds = api.Ptr(int64(1))
		cl.create(t, p)
		cl.waitPod(t, "deadline", func(p *api.Pod) error {
			cs := status(p, "c")
			if p.Status.Phase != api.PodFailed || p.Status.Reason != kubelet.ReasonDeadlineExceeded ||
				cs.State.Terminated == nil || cs.State.Terminated.Reason != kubelet.ReasonDeadlineExceeded {
				return fmt.Errorf("phase %s reason %s, container %+v", p.Status.Phase, p.Status.Reason, cs.State)
			}
			return nil
		})
	})

	t.Run("readiness gates Ready", func(t *testing.T) {
		cl.create(t, pod("gated", "", api.Container{Name: "web", Image: m.web, Ports: []api.ContainerPort{{Name: "http", ContainerPort: 80}},
			ReadinessProbe: &api.Probe{HTTPGet: &api.HTTPGetAction{Path: "/ready", Port: api.IntOrString{IsString: true, StrVal: "http"}},
				InitialDelaySeconds: 1, PeriodSeconds: 1}}))
		p := cl.waitPod(t, "gated", func(p *api.Pod) error {
			if p.Status.Phase != api.PodRunning {
				return fmt.Errorf("phase %s", p.Status.Phase)
			}
			return nil
		})
		if condition(p, api.PodReady) {
			t.Error("Ready before the first readiness probe")
		}
		cl.waitPod(t, "gated", runningReady)
	})

	t.Run("never ready", func(t *testing.T) {
		cl.create(t, pod("never", "", api.Container{Name: "web", Image: m.web, Ports: []api.ContainerPort{{ContainerPort: 80}},
			ReadinessProbe: &api.Probe{HTTPGet: &api.HTTPGetAction{Path: "/", Port: api.IntOrString{IntVal: 81}}, PeriodSeconds: 1, FailureThreshold: 1}}))
		p := cl.waitPod(t, "never", func(p *api.Pod) error {
			cond := findCond(p, api.PodReady)
			if p.Status.Phase != api.PodRunning || cond == nil || cond.Status != api.ConditionFalse || cond.Reason != "ContainersNotReady" {
				return fmt.Errorf("phase %s, ready %+v", p.Status.Phase, cond)
			}
			return nil
		})
		if status(p, "web").RestartCount != 0 {
			t.Errorf("a readiness failure restarted the container")
		}
	})

	t.Run("liveness restarts", func(t *testing.T) {
		cl.create(t, pod("live", "", api.Container{Name: "web", Image: m.web, Ports: []api.ContainerPort{{ContainerPort: 80}},
			LivenessProbe: &api.Probe{HTTPGet: &api.HTTPGetAction{Path: "/", Port: api.IntOrString{IntVal: 81}}, PeriodSeconds: 1, FailureThreshold: 1}}))
		cl.waitPod(t, "live", func(p *api.Pod) error {
			cs := status(p, "web")
			if cs.RestartCount < 1 || cs.LastState.Terminated == nil || !strings.HasPrefix(cs.LastState.Terminated.Message, "Liveness probe failed") {
				return fmt.Errorf("container %+v", cs)
			}
			return nil
		})
	})

	t.Run("liveness kills a command", func(t *testing.T) {
		cl.create(t, pod("live-cmd", api.RestartNever, api.Container{Name: "c", Image: m.cmd, Args: []string{"sleep", "1h"},
			LivenessProbe: &api.Probe{HTTPGet: &api.HTTPGetAction{Path: "/", Port: api.IntOrString{IntVal: 81}}, PeriodSeconds: 1, FailureThreshold: 1}}))
		cl.waitPod(t, "live-cmd", func(p *api.Pod) error {
			cs := status(p, "c")
			term := cs.State.Terminated
			if p.Status.Phase != api.PodFailed || term == nil || term.ExitCode != 137 || term.Reason != "Error" ||
				!strings.Contains(term.Message, "Liveness probe failed") {
				return fmt.Errorf("phase %s, container %+v", p.Status.Phase, cs)
			}
			return nil
		})
	})

	for _, tt := range []struct{ name, image, want string }{
		{"notwasm", m.notWasm, "not a Wasm file"},
		{"noexport", m.noExport, "missing export"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl.create(t, pod(tt.name, "", api.Container{Name: "c", Image: tt.image}))
			cl.waitPod(t, tt.name, func(p *api.Pod) error {
				w := status(p, "c").State.Waiting
				if p.Status.Phase != api.PodPending || w == nil || w.Reason != kubelet.ReasonCreateContainerError || !strings.Contains(w.Message, tt.want) {
					return fmt.Errorf("phase %s, waiting %+v", p.Status.Phase, w)
				}
				return nil
			})
		})
	}

	t.Run("registry image without a source", func(t *testing.T) {
		cl.create(t, pod("pull", "", api.Container{Name: "c", Image: "hello:v1"}))
		cl.waitPod(t, "pull", func(p *api.Pod) error {
			w := status(p, "c").State.Waiting
			if w == nil || w.Reason != kubelet.ReasonImagePullBackOff || !strings.Contains(w.Message, "hello:v1") {
				return fmt.Errorf("waiting %+v", w)
			}
			return nil
		})
	})

	t.Run("graceful deletion", func(t *testing.T) {
		if err := client.Pods(cl.c).Namespace("default").Delete(ctx, "hello", &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(30))}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			_, err := client.Pods(cl.c).Namespace("default").Get(ctx, "hello")
			if api.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod still there: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, ok := r.Pod("default", "hello"); ok {
			t.Error("the sandbox still runs")
		}
	})
}

func findCond(p *api.Pod, typ string) *api.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func TestLogs(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	cl.startRunner(t, t.TempDir())
	cl.create(t, pod("crash", api.RestartAlways, api.Container{Name: "c", Image: m.cmd, Args: []string{"exit", "3"}}))
	cl.waitPod(t, "crash", func(p *api.Pod) error {
		if status(p, "c").RestartCount < 2 {
			return fmt.Errorf("restarts %d", status(p, "c").RestartCount)
		}
		return nil
	})
	ctx := context.Background()
	tests := []struct {
		name, query string
		want        []string // lines; checked as a suffix for the current log
	}{
		{"previous", "previous=true", []string{"exiting with 3", "to stderr"}},
		{"tail", "previous=true&tailLines=1", []string{"to stderr"}},
		{"timestamps", "previous=true&tailLines=1&timestamps=true", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := cl.logs(t, ctx, "crash", tt.query)
			if code != 200 {
				t.Fatalf("code %d: %s", code, body)
			}
			lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			if tt.want == nil {
				f := strings.SplitN(lines[0], " ", 2)
				if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil || len(f) != 2 || f[1] != "to stderr" {
					t.Errorf("line %q", lines[0])
				}
				return
			}
			if strings.Join(lines, "|") != strings.Join(tt.want, "|") {
				t.Errorf("log %q, want %q", lines, tt.want)
			}
		})
	}
	t.Run("follow", func(t *testing.T) {
		cl.create(t, pod("sleepy", api.RestartNever, api.Container{Name: "c", Image: m.cmd, Args: []string{"sleep", "1s"}}))
		cl.waitPod(t, "sleepy", func(p *api.Pod) error {
			if p.Status.Phase != api.PodRunning {
				return fmt.Errorf("phase %s", p.Status.Phase)
			}
			return nil
		})
		// The stream ends when the container does, with the line it printed at the end.
		code, body := cl.logs(t, ctx, "sleepy", "follow=true")
		if code != 200 || body != "slept\n" {
			t.Errorf("follow = %d %q", code, body)
		}
	})
}

func TestRunnerRestart(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	dir := t.TempDir()
	r1 := cl.startRunner(t, dir)
	cl.create(t, pod("hello", "", api.Container{Name: "hello", Image: m.hello, Ports: []api.ContainerPort{{ContainerPort: 8080}}}))
	cl.waitPod(t, "hello", runningReady)
	r1.stop(t)

	r2 := cl.startRunner(t, dir)
	p := cl.waitPod(t, "hello", func(p *api.Pod) error {
		cs := status(p, "hello")
		if err := runningReady(p); err != nil {
			return err
		}
		if cs.RestartCount != 1 || cs.LastState.Terminated == nil || cs.LastState.Terminated.Reason != kubelet.ReasonContainerStatusUnknown {
			return fmt.Errorf("container %+v", cs)
		}
		return nil
	})
	if code, _ := get(t, r2, "hello", 8080, "/"); code != 200 {
		t.Errorf("GET / = %d after the restart", code)
	}
	list, err := client.Pods(cl.c).Namespace("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].UID != p.UID {
		t.Errorf("pods after the restart: %d", len(list.Items))
	}
}

// TestRemoteLogs reads logs through the API server from a runner that serves them over HTTPS,
// as one in another process does.
func TestRemoteLogs(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	certPEM, keyPEM, err := cl.api.CA.Issue(pki.CertRequest{CommonName: kubelet.LogClientCommonName, Client: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cl.ls.set(&kubelet.RemoteLogs{ClientCert: clientCert, Node: func(ctx context.Context, name string) (*api.Node, error) {
		return client.Nodes(cl.c).Get(ctx, name)
	}})
	r := cl.startRunner(t, t.TempDir(), func(c *kubelet.Config) {
		c.LogListen = "127.0.0.1:0"
		c.ClusterCA = cl.api.CAPEM
	})
	cl.create(t, pod("once", api.RestartNever, api.Container{Name: "c", Image: m.cmd, Args: []string{"exit", "0"}}))
	cl.waitPod(t, "once", func(p *api.Pod) error {
		if p.Status.Phase != api.PodSucceeded {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		return nil
	})
	ctx := context.Background()
	var code int
	var body string
	deadline := time.Now().Add(time.Minute)
	for { // the node's log endpoint is published with its registration
		if code, body = cl.logs(t, ctx, "once", "tailLines=1"); code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != 200 || body != "to stderr\n" {
		t.Fatalf("logs = %d %q", code, body)
	}
	if code, body = cl.logs(t, ctx, "once", "previous=true"); code != http.StatusBadRequest {
		t.Errorf("previous logs = %d %q, want 400", code, body)
	}

	// Without the API server's client certificate, the runner refuses.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(fmt.Sprintf("https://127.0.0.1:%d/containerLogs/default/once/c", r.LogPort()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous GET = %d, want 401", resp.StatusCode)
	}
}

// TestRegistryImages runs pods whose images name modules pushed to the cluster's registry, by
// tag and by digest; an unknown tag waits in ImagePullBackOff.
func TestRegistryImages(t *testing.T) {
	blobs, err := registry.OpenStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cl := newCluster(t, func(c *apiserver.Config) { c.Registry = registry.Handler(blobs) })
	src, err := registry.NewSource(registry.SourceConfig{Client: cl.c, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := cl.startRunner(t, t.TempDir(), func(c *kubelet.Config) { c.Modules = src })
	ctx := context.Background()
	digest, err := registry.Push(ctx, cl.c, "hello:v1", wasmtest.GoBuild(t, "../../samples/hello", wasmtest.Reactor))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, image string }{
		{"by-tag", "hello:v1"},
		{"by-digest", "hello@" + digest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl.create(t, pod(tt.name, "", api.Container{Name: "hello", Image: tt.image, Ports: []api.ContainerPort{{ContainerPort: 8080}}}))
			p := cl.waitPod(t, tt.name, runningReady)
			if id := status(p, "hello").ImageID; id != digest {
				t.Errorf("imageID %q, want %q", id, digest)
			}
			if code, body := get(t, r, tt.name, 8080, "/"); code != 200 || !strings.HasPrefix(body, "Container Hostname: "+tt.name) {
				t.Errorf("GET / = %d %q", code, body)
			}
		})
	}
	t.Run("unknown tag", func(t *testing.T) {
		cl.create(t, pod("unknown", "", api.Container{Name: "c", Image: "hello:v9"}))
		cl.waitPod(t, "unknown", func(p *api.Pod) error {
			w := status(p, "c").State.Waiting
			if w == nil || w.Reason != kubelet.ReasonImagePullBackOff || !strings.Contains(w.Message, "not found") {
				return fmt.Errorf("waiting %+v", w)
			}
			return nil
		})
	})
}
