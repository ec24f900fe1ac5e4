package kubelet_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// BenchmarkPodStartup measures a pod's startup as a user sees it: from the create request to the
// pod Running and Ready in a watch, with the module already compiled, for samples/hello (a Go
// guest) and a minimal hand-written module. Pods are started one at a time and stay running; p50
// and p99 are reported.
func BenchmarkPodStartup(b *testing.B) {
	cl := newCluster(b)
	m := buildModules(b)
	cl.startRunner(b, b.TempDir())
	for _, mod := range []struct{ name, image string }{{"hello", m.hello}, {"minimal", m.minimal}} {
		b.Run(mod.name, func(b *testing.B) { benchStartup(b, cl, mod.name, mod.image, nil) })
	}
}

// BenchmarkPodStartupConfigMap is BenchmarkPodStartup for pods without and with a configMap
// volume of three keys, created before the clock starts: each pod its own ConfigMap (each start
// includes a new watch of it and its first list), or one ConfigMap all pods share (watched once).
func BenchmarkPodStartupConfigMap(b *testing.B) {
	cl := newCluster(b)
	m := buildModules(b)
	cl.startRunner(b, b.TempDir())
	cms := client.For[*api.ConfigMap](cl.c, "configmaps").Namespace("default")
	for _, mod := range []struct{ name, image string }{{"hello", m.hello}, {"minimal", m.minimal}} {
		b.Run(mod.name+"/none", func(b *testing.B) { benchStartup(b, cl, mod.name+"-none", mod.image, nil) })
		for _, shared := range []bool{false, true} {
			name := "configmap"
			if shared {
				name = "configmap-shared"
			}
			b.Run(mod.name+"/"+name, func(b *testing.B) {
				benchStartup(b, cl, mod.name+"-"+name, mod.image, func(p *api.Pod) {
					cm := p.Name
					if shared {
						cm = "shared"
					}
					_, err := cms.Create(context.Background(), &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: cm},
						Data: map[string]string{"app.conf": strings.Repeat("x", 1000), "level": "debug", "name": cm}})
					if err != nil && !api.IsAlreadyExists(err) {
						b.Fatal(err)
					}
					p.Spec.Volumes = []api.Volume{{Name: "config", ConfigMap: &api.ConfigMapVolumeSource{
						LocalObjectReference: api.LocalObjectReference{Name: cm}}}}
					p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "config", MountPath: "/etc/config"}}
				})
			})
		}
	}
}

// benchStartup starts pods of image one at a time; change, if set, changes each pod before it
// is created, outside the measured time.
func benchStartup(b *testing.B, cl *cluster, prefix, image string, change func(*api.Pod)) {
	ctx := context.Background()
	pods := client.Pods(cl.c).Namespace("default")
	w, err := pods.Watch(ctx, client.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	start := func(name string) time.Duration {
		p := pod(name, "", api.Container{Name: "c", Image: image, Ports: []api.ContainerPort{{ContainerPort: 8080}}})
		if change != nil {
			change(p)
		}
		t0 := time.Now()
		cl.create(b, p)
		for ev := range w.Events() {
			if ev.Err != nil {
				b.Fatal(ev.Err)
			}
			if ev.Object.Name == name && runningReady(ev.Object) == nil {
				return time.Since(t0)
			}
		}
		b.Fatal("watch ended")
		return 0
	}
	start(prefix + "-warm") // compiles the module
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		lat = append(lat, start(fmt.Sprintf("%s-%d", prefix, i)))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
