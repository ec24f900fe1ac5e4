package main

import (
	"context"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestCreate(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	outputs := []struct {
		name string
		args []string
		want string
	}{
		{"deployment", []string{"create", "deployment", "hello", "--image=registry.local/hello.wasm:v1", "--replicas=2", "--port=8080"}, "deployment.apps/hello created\n"},
		{"namespace", []string{"create", "namespace", "team-a"}, "namespace/team-a created\n"},
		{"run", []string{"run", "job", "--image=job:v1", "--restart=Never", "--env=MODE=fast", "--port=9000", "--", "--count=3"}, "pod/job created\n"},
		{"run with labels", []string{"run", "tagged", "--image=t:v1", "--labels=app=tagged,tier=x", "-n", "team-a"}, "pod/tagged created\n"},
		{"expose deployment", []string{"expose", "deployment", "hello", "--port=80", "--target-port=8080", "--type=NodePort"}, "service/hello exposed\n"},
		{"expose pod by introspection", []string{"expose", "pod/job", "--name=job-svc"}, "service/job-svc exposed\n"},
		{"server dry run", []string{"create", "namespace", "dry", "--dry-run=server"}, "namespace/dry created (server dry run)\n"},
	}
	for _, tt := range outputs {
		t.Run(tt.name, func(t *testing.T) {
			if out := tc.mustWK(t, tt.args...); out != tt.want {
				t.Errorf("stdout %q, want %q", out, tt.want)
			}
		})
	}

	d, err := client.Deployments(tc.c).Namespace("default").Get(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers
	if d.Labels["app"] != "hello" || d.Spec.Selector.MatchLabels["app"] != "hello" || d.Spec.Template.Labels["app"] != "hello" ||
		api.Deref(d.Spec.Replicas, 0) != 2 || len(c) != 1 || c[0].Name != "hello" || c[0].Image != "registry.local/hello.wasm:v1" ||
		len(c[0].Ports) != 1 || c[0].Ports[0].ContainerPort != 8080 {
		t.Errorf("deployment = %+v", d)
	}
	p, err := client.Pods(tc.c).Namespace("default").Get(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	pc := p.Spec.Containers[0]
	if p.Labels["run"] != "job" || p.Spec.RestartPolicy != api.RestartNever || pc.Name != "job" || len(pc.Args) != 1 || pc.Args[0] != "--count=3" ||
		len(pc.Env) != 1 || pc.Env[0] != (api.EnvVar{Name: "MODE", Value: "fast"}) {
		t.Errorf("pod = %+v", p)
	}
	tagged, err := client.Pods(tc.c).Namespace("team-a").Get(ctx, "tagged")
	if err != nil || tagged.Labels["tier"] != "x" || tagged.Labels["run"] != "" {
		t.Errorf("pod with --labels: %v %v", err, tagged)
	}
	svc, err := client.Services(tc.c).Namespace("default").Get(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Type != api.ServiceNodePort || svc.Spec.Selector["app"] != "hello" || svc.Labels["app"] != "hello" ||
		len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort != api.FromInt(8080) || svc.Spec.Ports[0].NodePort == 0 {
		t.Errorf("service = %+v", svc)
	}
	js, err := client.Services(tc.c).Namespace("default").Get(ctx, "job-svc")
	if err != nil || js.Spec.Selector["run"] != "job" || len(js.Spec.Ports) != 1 || js.Spec.Ports[0].Port != 9000 {
		t.Errorf("service from the pod's ports: %v %+v", err, js)
	}
	if _, err := client.Namespaces(tc.c).Get(ctx, "dry"); !api.IsNotFound(err) {
		t.Errorf("namespace after a server dry run: %v", err)
	}

	golden(t, "create/deployment-dry-run.txt", tc.mustWK(t, "create", "deployment", "web", "--image=file:///srv/Web_App.wasm",
		"--image=web:v2", "--dry-run=client", "-o", "yaml"))

	errs := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"exists", []string{"create", "namespace", "team-a"}, "Error from server (AlreadyExists): namespaces \"team-a\" already exists\n"},
		{"no image", []string{"create", "deployment", "x"}, "error: required flag(s) \"image\" not set\n"},
		{"invalid name", []string{"create", "deployment", "Bad_Name", "--image=x:v1"}, "The Deployment \"Bad_Name\" is invalid: "},
		{"bad restart", []string{"run", "x", "--image=x:v1", "--restart=Sometimes"}, "error: invalid restart policy: Sometimes\n"},
		{"expose without ports", []string{"expose", "deploy", "hello2"}, "Error from server (NotFound): deployments.apps \"hello2\" not found\n"},
		{"expose bad type", []string{"expose", "deploy", "hello", "--port=81", "--name=h2", "--type=ExternalName"},
			"error: invalid service type \"ExternalName\": wasmkube supports ClusterIP, NodePort and LoadBalancer\n"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			r := tc.wk(t, "", tt.args...)
			if r.code != 1 || len(r.err) < len(tt.wantErr) || r.err[:len(tt.wantErr)] != tt.wantErr {
				t.Errorf("exit %d, stderr %q, want it to start with %q", r.code, r.err, tt.wantErr)
			}
		})
	}
}
