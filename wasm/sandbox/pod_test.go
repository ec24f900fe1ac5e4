package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

func TestPodConfigValidate(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	web := compile(t, rt, minimalHTTP())
	cmd := compile(t, rt, commandModule(exitWith(0)))
	c := func(mutate func(*sandbox.ContainerConfig)) sandbox.ContainerConfig {
		ct := sandbox.ContainerConfig{Name: "c", Module: web, Ports: []int{80}}
		mutate(&ct)
		return ct
	}
	tests := []struct {
		name string
		cfg  sandbox.PodConfig
		want string
	}{
		{"no name", sandbox.PodConfig{}, "name is required"},
		{"no containers", sandbox.PodConfig{Name: "p"}, "no containers"},
		{"duplicate container", sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
			c(func(*sandbox.ContainerConfig) {}), c(func(c *sandbox.ContainerConfig) { c.Ports = nil })}},
			`containers[1]: duplicate name "c"`},
		{"no module", sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
			c(func(c *sandbox.ContainerConfig) { c.Module = nil })}}, "module is required"},
		{"port range", sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
			c(func(c *sandbox.ContainerConfig) { c.Ports = []int{70000} })}}, "port 70000: want 1 to 65535"},
		{"port twice", sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
			c(func(*sandbox.ContainerConfig) {}), c(func(c *sandbox.ContainerConfig) { c.Name = "d" })}},
			"port 80 is already declared by container c"},
		{"command with port", sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
			c(func(c *sandbox.ContainerConfig) { c.Module = cmd })}}, "a command module does not serve HTTP"},
		{"unknown volume", sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
			c(func(c *sandbox.ContainerConfig) { c.Mounts = []sandbox.Mount{{Volume: "v", Path: "/v"}} })}},
			`volumeMounts[0]: no volume "v"`},
		{"relative mount", sandbox.PodConfig{Name: "p", Volumes: []sandbox.VolumeConfig{{Name: "v", Medium: sandbox.MediumMemory}},
			Containers: []sandbox.ContainerConfig{
				c(func(c *sandbox.ContainerConfig) { c.Mounts = []sandbox.Mount{{Volume: "v", Path: "v"}} })}},
			`mountPath "v": want a clean absolute path`},
		{"disk volume without dir", sandbox.PodConfig{Name: "p", Volumes: []sandbox.VolumeConfig{{Name: "v"}},
			Containers: []sandbox.ContainerConfig{c(func(*sandbox.ContainerConfig) {})}}, "a disk volume needs the pod's Dir"},
		{"bad medium", sandbox.PodConfig{Name: "p", Dir: "/tmp", Volumes: []sandbox.VolumeConfig{{Name: "v", Medium: "HugePages"}},
			Containers: []sandbox.ContainerConfig{c(func(*sandbox.ContainerConfig) {})}}, `medium "HugePages"`},
		{"volume name", sandbox.PodConfig{Name: "p", Dir: "/tmp", Volumes: []sandbox.VolumeConfig{{Name: "../x"}},
			Containers: []sandbox.ContainerConfig{c(func(*sandbox.ContainerConfig) {})}}, "is not a directory name"},
		{"env", sandbox.PodConfig{Name: "p", Containers: []sandbox.ContainerConfig{
			c(func(c *sandbox.ContainerConfig) { c.Env = []string{"NOEQUALS"} })}}, `env[0] "NOEQUALS": want NAME=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rt.NewPod(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPod = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestEnvOverridesIdentity(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	_, url := webPod(t, rt, func(c *sandbox.PodConfig) {
		c.Containers[0].Env = []string{"HOSTNAME=custom", "EMPTY="}
	})
	if _, body := fetch(t, url+"/identity"); body != "web-1 team node-a custom" {
		t.Fatalf("identity = %q", body)
	}
}

func TestStartTwice(t *testing.T) {
	rt := newRuntime(t, sandbox.RuntimeConfig{})
	p, _ := webPod(t, rt, nil)
	if err := p.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Fatalf("second Start = %v", err)
	}
}
