package apiserver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/pki"
)

// selfSigned writes a certificate issued by a new CA and its key, PEM-encoded, as kubectl
// create secret tls reads them.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
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
	for f, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

const stringDataSecret = `apiVersion: v1
kind: Secret
metadata:
  name: applied
stringData:
  password: hunter2
`

// TestKubectlConfig drives ConfigMaps and Secrets with unmodified kubectls of several
// versions: the create generators (which send protobuf from 1.32 on), get's columns,
// describe, apply of a Secret's stringData, and delete.
func TestKubectlConfig(t *testing.T) {
	e := start(t)
	dir := t.TempDir()
	kubeconfig := e.api.Kubeconfig(t)
	file := filepath.Join(dir, "app.properties")
	if err := os.WriteFile(file, []byte("color=blue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "app.env")
	if err := os.WriteFile(envFile, []byte("# comment\nA=1\nB=two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "secret.yaml")
	if err := os.WriteFile(manifest, []byte(stringDataSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := selfSigned(t, dir)
	for version, kubectl := range clustertest.Kubectls(t) {
		t.Run(version, func(t *testing.T) {
			ns := "v" + strings.ReplaceAll(version, ".", "")
			k := clustertest.Kubectl{Bin: kubectl, Kubeconfig: kubeconfig, Namespace: ns, Home: filepath.Join(dir, ns)}
			run := func(t *testing.T, args ...string) (string, string) {
				t.Helper()
				out, errOut, err := k.Run(context.Background(), args...)
				if err != nil {
					t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
				}
				return out, errOut
			}
			steps := []struct {
				name     string
				args     []string
				stdout   []string // substrings, in order
				anyOrder bool     // kubectl prints map keys in no order
			}{
				{"namespace", []string{"create", "namespace", ns}, []string{"namespace/" + ns + " created"}, false},
				{"create configmap", []string{"create", "configmap", "cfg", "--from-literal=a=b", "--from-file=" + file, "--from-file=renamed=" + file},
					[]string{"configmap/cfg created"}, false},
				{"create configmap from env file", []string{"create", "cm", "env", "--from-env-file=" + envFile}, []string{"configmap/env created"}, false},
				{"create secret generic", []string{"create", "secret", "generic", "db", "--from-literal=user=admin", "--from-literal=password=hunter2"},
					[]string{"secret/db created"}, false},
				{"create secret tls", []string{"create", "secret", "tls", "web", "--cert=" + cert, "--key=" + key}, []string{"secret/web created"}, false},
				{"create secret docker-registry", []string{"create", "secret", "docker-registry", "reg", "--docker-server=registry.example",
					"--docker-username=u", "--docker-password=p"}, []string{"secret/reg created"}, false},
				{"get cm", []string{"get", "cm"}, []string{"NAME", "DATA", "AGE", "cfg", "3", "env", "2"}, false},
				{"get secret", []string{"get", "secret"}, []string{"NAME", "TYPE", "DATA", "AGE",
					"db", "Opaque", "2", "reg", "kubernetes.io/dockerconfigjson", "1", "web", "kubernetes.io/tls", "2"}, false},
				{"get cm,secret", []string{"get", "cm,secret", "-o", "name"}, []string{"configmap/cfg", "configmap/env", "secret/db"}, false},
				{"configmap data", []string{"get", "cm", "cfg", "-o", "jsonpath={.data.a} {.data.app\\.properties}"}, []string{"b color=blue"}, false},
				{"describe cm", []string{"describe", "cm", "cfg"}, []string{"Name:", "cfg", "Namespace:", ns, "Data", "a:", "b", "app.properties:", "color=blue"}, true},
				{"describe secret", []string{"describe", "secret", "db"}, []string{"Name:", "db", "Type:", "Opaque", "Data", "password:  7 bytes", "user:      5 bytes"}, true},
				{"apply stringData", []string{"apply", "-f", manifest}, []string{"secret/applied created"}, false},
				{"applied data", []string{"get", "secret", "applied", "-o", "jsonpath={.data.password}"}, []string{"aHVudGVyMg=="}, false},
				{"server-side apply stringData", []string{"apply", "--server-side", "--force-conflicts", "-f", manifest}, []string{"secret/applied serverside-applied"}, false},
				{"delete cm", []string{"delete", "cm", "cfg"}, []string{`configmap "cfg" deleted`}, false},
				{"delete secret", []string{"delete", "secret", "db", "web"}, []string{`secret "db" deleted`, `secret "web" deleted`}, false},
			}
			for _, s := range steps {
				stdout, stderr := run(t, s.args...)
				rest := stdout
				for _, want := range s.stdout {
					i := strings.Index(rest, want)
					if i < 0 {
						t.Fatalf("%s: stdout lacks %q (in order):\n%s\nstderr: %s", s.name, want, stdout, stderr)
					}
					if !s.anyOrder {
						rest = rest[i+len(want):]
					}
				}
			}
			out, _ := run(t, "describe", "secret", "reg")
			if strings.Contains(out, "registry.example") {
				t.Errorf("describe secret shows a value:\n%s", out)
			}
			out, _ = run(t, "get", "secret", "applied", "-o", "yaml")
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "stringData:") {
					t.Fatalf("get -o yaml shows stringData:\n%s", out)
				}
			}
		})
	}
}
