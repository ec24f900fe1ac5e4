package kubelet_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/runner/kubelet"
)

func configMaps(c *client.Client) *client.Resource[*api.ConfigMap] {
	return client.For[*api.ConfigMap](c, "configmaps").Namespace("default")
}

func secrets(c *client.Client) *client.Resource[*api.Secret] {
	return client.For[*api.Secret](c, "secrets").Namespace("default")
}

func ref(name string) api.LocalObjectReference { return api.LocalObjectReference{Name: name} }

// webPod is a pod of the web test module on port 80.
func webPod(name string, change func(*api.Pod)) *api.Pod {
	p := pod(name, "", api.Container{Name: "web", Image: "", Ports: []api.ContainerPort{{ContainerPort: 80}}})
	change(p)
	return p
}

// waitEvent polls the events of the default namespace until one about object has reason and a
// message containing msg.
func (cl *cluster) waitEvent(t *testing.T, object, reason, msg string) *api.Event {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var seen []string
	for time.Now().Before(deadline) {
		list, err := client.Events(cl.c).Namespace("default").List(context.Background(), client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		seen = seen[:0]
		for _, ev := range list.Items {
			if ev.InvolvedObject.Name != object {
				continue
			}
			if ev.Reason == reason && strings.Contains(ev.Message, msg) {
				return ev
			}
			seen = append(seen, ev.Reason+": "+ev.Message)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event about %s saying %q; saw %q", reason, object, msg, seen)
	return nil
}

// body GETs a pod's path on port 80.
func body(t *testing.T, r *runner, name, path string) string {
	t.Helper()
	_, b := get(t, r, name, 80, path)
	return b
}

// TestConfigMapsAndSecrets runs a pod that takes a ConfigMap and a Secret as env, envFrom and
// volumes, as the kubelet gives them, and follows the ConfigMap's changes in its volume.
func TestConfigMapsAndSecrets(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	r := cl.startRunner(t, t.TempDir())
	ctx := context.Background()
	if _, err := configMaps(cl.c).Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "app"},
		Data:       map[string]string{"greeting": "hello", "LEVEL": "debug", "1st": "skipped", "app.conf": "v1", "gone": "soon"},
		BinaryData: map[string][]byte{"blob": {0, 1, 2, 0xff}}}); err != nil {
		t.Fatal(err)
	}
	password := "pa$$(x):\xff\x01word"
	if _, err := secrets(cl.c).Create(ctx, &api.Secret{ObjectMeta: api.ObjectMeta{Name: "creds"}, Immutable: api.Ptr(true),
		Data: map[string][]byte{"password": []byte(password), "user": []byte("admin")}}); err != nil {
		t.Fatal(err)
	}
	cl.create(t, webPod("cfg", func(p *api.Pod) {
		c := &p.Spec.Containers[0]
		c.Image = m.web
		c.EnvFrom = []api.EnvFromSource{
			{ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: ref("app")}},
			{Prefix: "S_", SecretRef: &api.SecretEnvSource{LocalObjectReference: ref("creds")}},
		}
		c.Env = []api.EnvVar{
			{Name: "GREETING", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: ref("app"), Key: "greeting"}}},
			{Name: "PASSWORD", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{LocalObjectReference: ref("creds"), Key: "password"}}},
			{Name: "LEVEL", Value: "override"},
			{Name: "COMBINED", Value: "$(greeting)-$(S_user)-$(GREETING)"},
		}
		c.VolumeMounts = []api.VolumeMount{{Name: "items", MountPath: "/etc/items"}, {Name: "all", MountPath: "/etc/all"},
			{Name: "sec", MountPath: "/etc/sec", ReadOnly: true}}
		p.Spec.Volumes = []api.Volume{
			{Name: "items", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: ref("app"), DefaultMode: api.Ptr(int32(0o640)),
				Items: []api.KeyToPath{{Key: "app.conf", Path: "conf/app.conf", Mode: api.Ptr(int32(0o600))}, {Key: "blob", Path: "blob.bin"}}}},
			{Name: "all", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: ref("app")}},
			{Name: "sec", Secret: &api.SecretVolumeSource{SecretName: "creds"}},
		}
	}))
	cl.waitPod(t, "cfg", runningReady)

	t.Run("env", func(t *testing.T) {
		for name, want := range map[string]string{
			"GREETING": "hello", "PASSWORD": password, "greeting": "hello", "app.conf": "v1", "S_user": "admin",
			"S_password": password, "LEVEL": "override", "COMBINED": "hello-admin-hello", "1st": "",
		} {
			if got := body(t, r, "cfg", "/env?name="+name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		cl.waitEvent(t, "cfg", kubelet.ReasonInvalidEnvironmentVariableNames,
			"Keys [1st] from the EnvFrom configMap default/app were skipped since they are considered invalid environment variable names.")
	})

	t.Run("volumes", func(t *testing.T) {
		for path, want := range map[string]string{
			"/read?path=/etc/items/conf/app.conf":          "v1",
			"/read?path=/etc/items/blob.bin":               "\x00\x01\x02\xff",
			"/ls?path=/etc/items":                          "blob.bin\nconf\n",
			"/ls?path=/etc/all":                            "1st\nLEVEL\napp.conf\nblob\ngone\ngreeting\n",
			"/read?path=/etc/sec/password":                 password,
			"/write?path=/etc/items/conf/app.conf&bytes=1": "open: open /etc/items/conf/app.conf: Read-only file system",
			"/write?path=/etc/all/new&bytes=1":             "open: open /etc/all/new: Read-only file system",
		} {
			if got := body(t, r, "cfg", path); got != want {
				t.Errorf("GET %s = %q, want %q", path, got, want)
			}
		}
	})

	t.Run("a change reaches the volume, not the env", func(t *testing.T) {
		cm, err := configMaps(cl.c).Get(ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["app.conf"], cm.Data["greeting"] = "v2", "bye"
		delete(cm.Data, "gone")
		if _, err := configMaps(cl.c).Update(ctx, cm); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for body(t, r, "cfg", "/read?path=/etc/all/greeting") != "bye" {
			if time.Now().After(deadline) {
				t.Fatal("the volume never showed the new greeting")
			}
			time.Sleep(20 * time.Millisecond)
		}
		for path, want := range map[string]string{
			"/read?path=/etc/all/app.conf":        "v2",
			"/read?path=/etc/items/conf/app.conf": "v2",
			"/read?path=/etc/all/gone":            "error: open /etc/all/gone: No such file or directory",
			"/ls?path=/etc/all":                   "1st\nLEVEL\napp.conf\nblob\ngreeting\n",
			"/env?name=GREETING":                  "hello",
			"/env?name=greeting":                  "hello",
		} {
			if got := body(t, r, "cfg", path); got != want {
				t.Errorf("GET %s = %q, want %q", path, got, want)
			}
		}
	})

	t.Run("watches follow the pods", func(t *testing.T) {
		// The Secret is immutable: it is no longer watched.
		want := []string{"configmap default/app (1)", "secret default/creds (1) immutable"}
		if got := kubelet.WatchedConfigs(r.Runner); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("watched %q, want %q", got, want)
		}
		if err := client.Pods(cl.c).Namespace("default").Delete(ctx, "cfg", &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(0))}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for len(kubelet.WatchedConfigs(r.Runner)) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("still watching %q after the pod went", kubelet.WatchedConfigs(r.Runner))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// waiting returns the container's waiting state, or an error saying what it is instead.
func waiting(p *api.Pod, reason, msg string) error {
	w := status(p, "web").State.Waiting
	if p.Status.Phase != api.PodPending || w == nil || w.Reason != reason || w.Message != msg {
		return fmt.Errorf("phase %s, waiting %+v; want %s %q", p.Status.Phase, w, reason, msg)
	}
	return nil
}

// TestConfigMissing: a pod whose ConfigMap, Secret or key is missing waits, with the kubelet's
// reasons, messages and events, and starts once it appears; optional ones are not waited for.
func TestConfigMissing(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	r := cl.startRunner(t, t.TempDir())
	ctx := context.Background()
	envFrom := func(kind, name, key string, optional bool) func(*api.Pod) {
		return func(p *api.Pod) {
			p.Spec.Containers[0].Image = m.web
			src := &api.EnvVarSource{}
			if kind == "configmap" {
				src.ConfigMapKeyRef = &api.ConfigMapKeySelector{LocalObjectReference: ref(name), Key: key, Optional: &optional}
			} else {
				src.SecretKeyRef = &api.SecretKeySelector{LocalObjectReference: ref(name), Key: key, Optional: &optional}
			}
			p.Spec.Containers[0].Env = []api.EnvVar{{Name: "V", ValueFrom: src}}
		}
	}

	t.Run("configmap", func(t *testing.T) {
		cl.create(t, webPod("wait-cm", envFrom("configmap", "later", "k", false)))
		cl.waitPod(t, "wait-cm", func(p *api.Pod) error {
			return waiting(p, kubelet.ReasonCreateContainerConfigError, `configmap "later" not found`)
		})
		cl.waitEvent(t, "wait-cm", kubelet.ReasonFailed, `Error: configmap "later" not found`)
		if _, err := configMaps(cl.c).Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "later"},
			Data: map[string]string{"k": "here"}}); err != nil {
			t.Fatal(err)
		}
		cl.waitPod(t, "wait-cm", runningReady)
		if got := body(t, r, "wait-cm", "/env?name=V"); got != "here" {
			t.Errorf("V = %q", got)
		}
	})

	t.Run("key", func(t *testing.T) {
		cl.create(t, webPod("wait-key", envFrom("configmap", "later", "nokey", false)))
		cl.waitPod(t, "wait-key", func(p *api.Pod) error {
			return waiting(p, kubelet.ReasonCreateContainerConfigError, "couldn't find key nokey in ConfigMap default/later")
		})
	})

	t.Run("secret", func(t *testing.T) {
		cl.create(t, webPod("wait-secret", envFrom("secret", "s", "k", false)))
		cl.waitPod(t, "wait-secret", func(p *api.Pod) error {
			return waiting(p, kubelet.ReasonCreateContainerConfigError, `secret "s" not found`)
		})
		if _, err := secrets(cl.c).Create(ctx, &api.Secret{ObjectMeta: api.ObjectMeta{Name: "s"},
			Data: map[string][]byte{"k": []byte("secret")}}); err != nil {
			t.Fatal(err)
		}
		cl.waitPod(t, "wait-secret", runningReady)
		if got := body(t, r, "wait-secret", "/env?name=V"); got != "secret" {
			t.Errorf("V = %q", got)
		}
	})

	t.Run("optional", func(t *testing.T) {
		cl.create(t, webPod("optional", func(p *api.Pod) {
			envFrom("configmap", "nowhere", "k", true)(p)
			c := &p.Spec.Containers[0]
			c.Env = append(c.Env, api.EnvVar{Name: "W", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{
				LocalObjectReference: ref("s"), Key: "nokey", Optional: api.Ptr(true)}}})
			c.EnvFrom = []api.EnvFromSource{{SecretRef: &api.SecretEnvSource{LocalObjectReference: ref("nowhere"), Optional: api.Ptr(true)}}}
			c.VolumeMounts = []api.VolumeMount{{Name: "v", MountPath: "/etc/v"}}
			p.Spec.Volumes = []api.Volume{{Name: "v", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: ref("nowhere"),
				Optional: api.Ptr(true)}}}
		}))
		cl.waitPod(t, "optional", runningReady)
		if got := body(t, r, "optional", "/ls?path=/etc/v"); got != "" {
			t.Errorf("the optional volume holds %q", got)
		}
	})

	t.Run("volume", func(t *testing.T) {
		cl.create(t, webPod("wait-vol", func(p *api.Pod) {
			p.Spec.Containers[0].Image = m.web
			p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "v", MountPath: "/etc/v"}}
			p.Spec.Volumes = []api.Volume{{Name: "v", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: ref("vol")}}}
		}))
		cl.waitEvent(t, "wait-vol", kubelet.ReasonFailedMount, `MountVolume.SetUp failed for volume "v" : configmap "vol" not found`)
		cl.waitPod(t, "wait-vol", func(p *api.Pod) error { return waiting(p, kubelet.ReasonContainerCreating, "") })
		if _, err := configMaps(cl.c).Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "vol"},
			Data: map[string]string{"f": "file"}}); err != nil {
			t.Fatal(err)
		}
		cl.waitPod(t, "wait-vol", runningReady)
		if got := body(t, r, "wait-vol", "/read?path=/etc/v/f"); got != "file" {
			t.Errorf("/etc/v/f = %q", got)
		}
	})
}

// TestConfigAfterRestart: a runner that restarts gives its pods their volumes again and follows
// their sources.
func TestConfigAfterRestart(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	dir := t.TempDir()
	r := cl.startRunner(t, dir)
	ctx := context.Background()
	if _, err := configMaps(cl.c).Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "app"},
		Data: map[string]string{"f": "v1"}}); err != nil {
		t.Fatal(err)
	}
	cl.create(t, webPod("cfg", func(p *api.Pod) {
		p.Spec.Containers[0].Image = m.web
		p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "v", MountPath: "/etc/v"}}
		p.Spec.Volumes = []api.Volume{{Name: "v", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: ref("app")}}}
	}))
	cl.waitPod(t, "cfg", runningReady)
	r.stop(t)
	r = cl.startRunner(t, dir)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, ok := r.Pod("default", "cfg"); ok && body(t, r, "cfg", "/read?path=/etc/v/f") == "v1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pod did not get its volume back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cm, err := configMaps(cl.c).Get(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["f"] = "v2"
	if _, err := configMaps(cl.c).Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	for body(t, r, "cfg", "/read?path=/etc/v/f") != "v2" {
		if time.Now().After(deadline) {
			t.Fatal("the restarted runner does not follow the ConfigMap")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConfigHammer starts and deletes pods that share a ConfigMap, each with its own too, while
// the shared one changes: every pod ends up showing its last contents, and once the pods are gone
// nothing is watched.
func TestConfigHammer(t *testing.T) {
	cl := newCluster(t)
	m := buildModules(t)
	r := cl.startRunner(t, t.TempDir())
	ctx := context.Background()
	cms := configMaps(cl.c)
	if _, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "shared"}, Data: map[string]string{"v": "0"}}); err != nil {
		t.Fatal(err)
	}
	const pods, updates = 12, 10
	var wg sync.WaitGroup
	for i := range pods {
		name := fmt.Sprintf("h-%d", i)
		wg.Go(func() {
			p := webPod(name, func(p *api.Pod) {
				c := &p.Spec.Containers[0]
				c.Image = m.web
				c.EnvFrom = []api.EnvFromSource{{ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: ref(name)}}}
				c.VolumeMounts = []api.VolumeMount{{Name: "s", MountPath: "/etc/s"}}
				p.Spec.Volumes = []api.Volume{{Name: "s", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: ref("shared")}}}
			})
			if _, err := client.Pods(cl.c).Namespace("default").Create(ctx, p); err != nil {
				t.Error(err)
			}
			// Half the pods wait for their own ConfigMap a moment.
			if _, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: name}, Data: map[string]string{"ME": name}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		for v := 1; v <= updates; v++ {
			for {
				cm, err := cms.Get(ctx, "shared")
				if err != nil {
					t.Error(err)
					return
				}
				cm.Data["v"] = fmt.Sprint(v)
				if _, err = cms.Update(ctx, cm); err == nil {
					break
				} else if !api.IsConflict(err) {
					t.Error(err)
					return
				}
			}
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range pods {
		name := fmt.Sprintf("h-%d", i)
		cl.waitPod(t, name, runningReady)
		if got := body(t, r, name, "/env?name=ME"); got != name {
			t.Errorf("%s: ME = %q", name, got)
		}
		deadline := time.Now().Add(time.Minute)
		for body(t, r, name, "/read?path=/etc/s/v") != fmt.Sprint(updates) {
			if time.Now().After(deadline) {
				t.Fatalf("%s shows v = %q, want %d", name, body(t, r, name, "/read?path=/etc/s/v"), updates)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := range pods {
		wg.Go(func() {
			err := client.Pods(cl.c).Namespace("default").Delete(ctx, fmt.Sprintf("h-%d", i), &api.DeleteOptions{GracePeriodSeconds: api.Ptr(int64(0))})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(time.Minute)
	for len(kubelet.WatchedConfigs(r.Runner)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still watching %q after the pods went", kubelet.WatchedConfigs(r.Runner))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
