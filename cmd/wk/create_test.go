package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/pki"
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

// writeKeyPair writes a certificate issued by a new CA and its key as PEM files.
func writeKeyPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	ca, err := pki.NewCA("test-ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertRequest{CommonName: "web", DNSNames: []string{"web"}, Server: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, string(certPEM))
	writeFile(t, keyFile, string(keyPEM))
	return certFile, keyFile
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCreateConfig creates config maps and secrets from every kind of source, as kubectl
// create configmap and create secret generic|tls do.
func TestCreateConfig(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	dir := t.TempDir()
	props := filepath.Join(dir, "app.properties")
	writeFile(t, props, "color=blue\n")
	conf := filepath.Join(dir, "conf")
	if err := os.Mkdir(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(conf, "a.txt"), "A")
	writeFile(t, filepath.Join(conf, "logo.bin"), "\xff\xfe")
	envFile := filepath.Join(dir, "app.env")
	writeFile(t, envFile, "\xef\xbb\xbf# settings\n\nMODE=fast\n  LIST=a,b\nFROM_ENV\n")
	t.Setenv("FROM_ENV", "inherited")
	cert, key := writeKeyPair(t, dir)

	outputs := []struct {
		name string
		args []string
		want string
	}{
		{"configmap", []string{"create", "configmap", "app", "--from-literal=greeting=hello, world", "--from-file=" + props,
			"--from-file=renamed=" + props, "--from-file=" + conf}, "configmap/app created\n"},
		{"configmap from env file", []string{"create", "cm", "env", "--from-env-file=" + envFile}, "configmap/env created\n"},
		{"secret generic", []string{"create", "secret", "generic", "db", "--from-literal=user=admin", "--from-file=password=" + props},
			"secret/db created\n"},
		{"secret generic typed", []string{"create", "secret", "generic", "auth", "--type=kubernetes.io/basic-auth", "--from-literal=username=u"},
			"secret/auth created\n"},
		{"secret tls", []string{"create", "secret", "tls", "web", "--cert=" + cert, "--key=" + key}, "secret/web created\n"},
		{"dry run", []string{"create", "cm", "dry", "--from-literal=a=b", "--dry-run=server"}, "configmap/dry created (server dry run)\n"},
	}
	for _, tt := range outputs {
		t.Run(tt.name, func(t *testing.T) {
			if out := tc.mustWK(t, tt.args...); out != tt.want {
				t.Errorf("stdout %q, want %q", out, tt.want)
			}
		})
	}
	cm, err := client.For[*api.ConfigMap](tc.c, "configmaps").Namespace("default").Get(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 4 || cm.Data["greeting"] != "hello, world" || cm.Data["app.properties"] != "color=blue\n" ||
		cm.Data["renamed"] != "color=blue\n" || cm.Data["a.txt"] != "A" || string(cm.BinaryData["logo.bin"]) != "\xff\xfe" {
		t.Errorf("configmap = %+v", cm)
	}
	env, err := client.For[*api.ConfigMap](tc.c, "configmaps").Namespace("default").Get(ctx, "env")
	if err != nil || len(env.Data) != 3 || env.Data["MODE"] != "fast" || env.Data["LIST"] != "a,b" || env.Data["FROM_ENV"] != "inherited" {
		t.Errorf("configmap from env file: %v %+v", err, env)
	}
	db, err := client.For[*api.Secret](tc.c, "secrets").Namespace("default").Get(ctx, "db")
	if err != nil || db.Type != api.SecretTypeOpaque || string(db.Data["user"]) != "admin" || string(db.Data["password"]) != "color=blue\n" {
		t.Errorf("secret generic: %v %+v", err, db)
	}
	web, err := client.For[*api.Secret](tc.c, "secrets").Namespace("default").Get(ctx, "web")
	if err != nil || web.Type != api.SecretTypeTLS || len(web.Data["tls.crt"]) == 0 || len(web.Data["tls.key"]) == 0 {
		t.Errorf("secret tls: %v %+v", err, web)
	}
	golden(t, "create/configmap-dry-run.txt", tc.mustWK(t, "create", "configmap", "dry", "--from-literal=a=b", "--dry-run=client", "-o", "yaml"))
	golden(t, "get/configmaps-secrets.txt", tc.mustWK(t, "get", "cm,secret"))

	errs := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad literal key", []string{"create", "cm", "x", "--from-literal=a b=c"}, "error: \"a b\" is not a valid key name for a ConfigMap: "},
		{"literal without value", []string{"create", "cm", "x", "--from-literal=ab"}, "error: invalid literal source ab, expected key=value\n"},
		{"duplicate key", []string{"create", "secret", "generic", "x", "--from-literal=a=1", "--from-literal=a=2"},
			"error: cannot add key \"a\", another key by that name already exists in Secret \"x\"\n"},
		{"missing file", []string{"create", "cm", "x", "--from-file=" + filepath.Join(dir, "nope")}, "error: error reading "},
		{"named directory", []string{"create", "cm", "x", "--from-file=k=" + conf}, "error: cannot give a key name for a directory path\n"},
		{"env file with literal", []string{"create", "cm", "x", "--from-env-file=" + envFile, "--from-literal=a=b"},
			"error: from-env-file cannot be combined with from-file or from-literal\n"},
		{"tls without key", []string{"create", "secret", "tls", "x", "--cert=" + cert}, "error: required flag(s) \"cert\", \"key\" not set\n"},
		{"tls mismatched", []string{"create", "secret", "tls", "x", "--cert=" + cert, "--key=" + props}, "error: failed to load key pair "},
		{"server refuses type", []string{"create", "secret", "generic", "x", "--type=kubernetes.io/tls", "--from-literal=tls.crt=c"},
			"The Secret \"x\" is invalid: data[tls.key]: Required value"},
		{"exists", []string{"create", "cm", "app"}, "Error from server (AlreadyExists): configmaps \"app\" already exists\n"},
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
