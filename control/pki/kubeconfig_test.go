package pki

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestAdminKubeconfigGolden(t *testing.T) {
	kc := AdminKubeconfig("wasmkube", "https://127.0.0.1:6443",
		[]byte("-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n"), "wk-admin.secret")
	path := filepath.Join(t.TempDir(), "config")
	if err := WriteKubeconfig(path, kc); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "admin.kubeconfig")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("kubeconfig differs from %s (run with -update):\n%s", golden, got)
	}
}

func TestKubeconfigRoundTrip(t *testing.T) {
	ca := newTestCA(t, "ca")
	_, certPEM, keyPEM := issue(t, ca, CertRequest{CommonName: "alice", Client: true})
	kc := AdminKubeconfig("wk", "https://127.0.0.1:6443", ca.CertPEM, "wk-admin.abc")
	kc.Clusters = append(kc.Clusters, NamedCluster{Name: "edge", Cluster: Cluster{
		Server: "https://10.0.0.9:6443", TLSServerName: "api.edge", CertificateAuthority: "edge-ca.crt",
	}})
	kc.Users = append(kc.Users, NamedUser{Name: "alice", User: User{ClientCertificateData: certPEM, ClientKeyData: keyPEM}})
	kc.Contexts = append(kc.Contexts, NamedContext{Name: "alice@edge", Context: Context{Cluster: "edge", User: "alice", Namespace: "apps"}})
	kc.Preferences = []byte(`{"colors":true}`)

	path := filepath.Join(t.TempDir(), "sub", "config")
	if err := WriteKubeconfig(path, kc); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := LoadKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	// Compare through the wire format: equal files mean equal configs.
	again := filepath.Join(t.TempDir(), "again")
	if err := WriteKubeconfig(again, got); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip changed the file:\n%s\n---\n%s", a, b)
	}
	if !bytes.Equal(got.Clusters[0].Cluster.CertificateAuthorityData, ca.CertPEM) {
		t.Error("certificate-authority-data changed")
	}
	if string(got.Preferences) != `{"colors":true}` {
		t.Errorf("preferences = %s", got.Preferences)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "ca")
	_, certPEM, keyPEM := issue(t, ca, CertRequest{CommonName: "alice", Client: true})
	for name, data := range map[string][]byte{
		"ca.crt": ca.CertPEM, "alice.crt": certPEM, "alice.key": keyPEM, "token": []byte("file-token\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config")
	kcYAML := `apiVersion: v1
kind: Config
preferences: {}
current-context: main
clusters:
- name: main
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: ` + b64(ca.CertPEM) + `}
- name: byfile
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt, tls-server-name: api.test}
- name: insecure
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
- name: insecure-with-ca
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true, certificate-authority: ca.crt}
- name: noserver
  cluster: {certificate-authority: ca.crt}
- name: badserver
  cluster: {server: "127.0.0.1:6443"}
- name: missing-ca
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: nope.crt}
users:
- name: admin
  user: {token: wk-admin.x}
- name: alice
  user: {client-certificate: alice.crt, client-key: ` + filepath.Join(dir, "alice.key") + `}
- name: alice-data
  user: {client-certificate-data: ` + b64(certPEM) + `, client-key-data: ` + b64(keyPEM) + `}
- name: tokenfile
  user: {tokenFile: token}
- name: halfcert
  user: {client-certificate: alice.crt}
- name: oidc
  user: {auth-provider: {name: oidc}}
- name: plugin
  user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}}
- name: basic
  user: {username: u, password: p}
contexts:
- {name: main, context: {cluster: main, user: admin, namespace: apps}}
- {name: byfile, context: {cluster: byfile, user: alice}}
- {name: data, context: {cluster: main, user: alice-data}}
- {name: tokenfile, context: {cluster: insecure, user: tokenfile}}
- {name: anon, context: {cluster: main}}
- {name: nocluster, context: {user: admin}}
- {name: ghostcluster, context: {cluster: ghost, user: admin}}
- {name: ghostuser, context: {cluster: main, user: ghost}}
- {name: insecure-with-ca, context: {cluster: insecure-with-ca}}
- {name: noserver, context: {cluster: noserver}}
- {name: badserver, context: {cluster: badserver}}
- {name: missing-ca, context: {cluster: missing-ca}}
- {name: halfcert, context: {cluster: main, user: halfcert}}
- {name: oidc, context: {cluster: main, user: oidc}}
- {name: plugin, context: {cluster: main, user: plugin}}
- {name: basic, context: {cluster: main, user: basic}}
`
	if err := os.WriteFile(path, []byte(kcYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	kc, err := LoadKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		context string
		want    Credentials // compared field by field below
		wantErr string      // substring after "kubeconfig PATH: "
		errIs   error
	}{
		{context: "", want: Credentials{Context: "main", Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, Token: "wk-admin.x", Namespace: "apps"}},
		{context: "byfile", want: Credentials{Context: "byfile", Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, TLSServerName: "api.test", ClientCertPEM: certPEM, ClientKeyPEM: keyPEM, Namespace: "default"}},
		{context: "data", want: Credentials{Context: "data", Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, ClientCertPEM: certPEM, ClientKeyPEM: keyPEM, Namespace: "default"}},
		{context: "tokenfile", want: Credentials{Context: "tokenfile", Server: "https://127.0.0.1:6443", Insecure: true, Token: "file-token", Namespace: "default"}},
		{context: "anon", want: Credentials{Context: "anon", Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, Namespace: "default"}},
		{context: "foo", wantErr: `context "foo" not found`, errIs: ErrNotFound},
		{context: "nocluster", wantErr: `context "nocluster": cluster is not set`, errIs: ErrIncomplete},
		{context: "ghostcluster", wantErr: `context "ghostcluster": cluster "ghost" not found`, errIs: ErrNotFound},
		{context: "ghostuser", wantErr: `context "ghostuser": user "ghost" not found`, errIs: ErrNotFound},
		{context: "insecure-with-ca", wantErr: `cluster "insecure-with-ca": insecure-skip-tls-verify and a certificate authority are both set`},
		{context: "noserver", wantErr: `cluster "noserver": server is not set`, errIs: ErrIncomplete},
		{context: "badserver", wantErr: `cluster "badserver": server "127.0.0.1:6443" is not an http(s) URL`},
		{context: "missing-ca", wantErr: `cluster "missing-ca": certificate-authority: open ` + filepath.Join(dir, "nope.crt"), errIs: fs.ErrNotExist},
		{context: "halfcert", wantErr: `user "halfcert": client-key is not set`, errIs: ErrIncomplete},
		{context: "oidc", wantErr: `user "oidc": auth-provider is not supported`, errIs: ErrUnsupported},
		{context: "plugin", wantErr: `user "plugin": exec plugin is not supported`, errIs: ErrUnsupported},
		{context: "basic", wantErr: `user "basic": basic auth (username/password) is not supported`, errIs: ErrUnsupported},
	} {
		name := tc.context
		if name == "" {
			name = "current"
		}
		t.Run(name, func(t *testing.T) {
			got, err := kc.Resolve(tc.context)
			if tc.wantErr != "" {
				prefix := "kubeconfig " + path + ": "
				if err == nil || !strings.HasPrefix(err.Error(), prefix+tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, prefix+tc.wantErr)
				}
				if tc.errIs != nil && !errors.Is(err, tc.errIs) {
					t.Errorf("err = %v, want it to wrap %v", err, tc.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Context != tc.want.Context || got.Server != tc.want.Server || got.Token != tc.want.Token ||
				got.Namespace != tc.want.Namespace || got.Insecure != tc.want.Insecure || got.TLSServerName != tc.want.TLSServerName ||
				!bytes.Equal(got.CAPEM, tc.want.CAPEM) || !bytes.Equal(got.ClientCertPEM, tc.want.ClientCertPEM) ||
				!bytes.Equal(got.ClientKeyPEM, tc.want.ClientKeyPEM) {
				t.Errorf("Resolve = %+v\nwant %+v", got, tc.want)
			}
			if _, err := got.TLSConfig(); err != nil {
				t.Errorf("TLSConfig: %v", err)
			}
		})
	}

	t.Run("no current context", func(t *testing.T) {
		_, err := (&Kubeconfig{}).Resolve("")
		if err == nil || err.Error() != "kubeconfig: current-context is not set" {
			t.Errorf("err = %v", err)
		}
	})
}

func b64(p []byte) string { return base64.StdEncoding.EncodeToString(p) }

func TestLoadKubeconfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, wantErr string
	}{
		{"wrong kind", "kind: Pod\napiVersion: v1\n", `kind is "Pod"`},
		{"wrong version", "kind: Config\napiVersion: v2\n", `apiVersion is "v2"`},
		{"not yaml", "clusters: [\n", "kubeconfig " + filepath.Join(dir, "not yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			os.WriteFile(path, []byte(tc.content), 0o600)
			_, err := LoadKubeconfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := LoadKubeconfig(filepath.Join(dir, "absent"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		path := filepath.Join(dir, "empty")
		os.WriteFile(path, nil, 0o600)
		kc, err := LoadKubeconfig(path)
		if err != nil || len(kc.Contexts) != 0 {
			t.Errorf("LoadKubeconfig = %+v, %v", kc, err)
		}
	})
}

func TestResolvePath(t *testing.T) {
	home := t.TempDir()
	other := t.TempDir()
	touch := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wk := filepath.Join(home, ".wk", "config")
	kube := filepath.Join(home, ".kube", "config")
	a := touch(filepath.Join(other, "a"))
	b := touch(filepath.Join(other, "b"))
	missing := filepath.Join(other, "missing")
	list := func(ps ...string) string { return strings.Join(ps, string(os.PathListSeparator)) }

	for _, tc := range []struct {
		name       string
		flag       string
		kubeconfig string
		home       string
		files      []string // created under home for this case
		want       string
	}{
		{"flag wins", "/flag/config", a, home, []string{wk, kube}, "/flag/config"},
		{"flag need not exist", missing, "", home, nil, missing},
		{"env single", "", a, home, []string{wk, kube}, a},
		{"env first existing", "", list(missing, b, a), home, []string{wk}, b},
		{"env empty entries", "", list("", a), home, nil, a},
		{"env none exist falls through", "", list(missing), home, []string{kube}, kube},
		{"wk before kube", "", "", home, []string{wk, kube}, wk},
		{"kube only", "", "", home, []string{kube}, kube},
		{"nothing", "", "", home, nil, ""},
		{"no home", "", "", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(home, ".wk"))
			os.RemoveAll(filepath.Join(home, ".kube"))
			for _, f := range tc.files {
				touch(f)
			}
			env := func(k string) string {
				if k == "KUBECONFIG" {
					return tc.kubeconfig
				}
				return ""
			}
			if got := ResolvePath(tc.flag, env, tc.home); got != tc.want {
				t.Errorf("ResolvePath = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("nil env", func(t *testing.T) {
		touch(kube)
		if got := ResolvePath("", nil, home); got != kube {
			t.Errorf("ResolvePath = %q, want %q", got, kube)
		}
	})
}

// kubectl runs the real kubectl with a private HOME, or skips the test.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestKubectlReadsOurKubeconfig(t *testing.T) {
	ca := newTestCA(t, "ca")
	kc := AdminKubeconfig("wasmkube", "https://127.0.0.1:6443", ca.CertPEM, "wk-admin.tok")
	kc.Contexts[0].Context.Namespace = "apps"
	path := filepath.Join(t.TempDir(), "config")
	if err := WriteKubeconfig(path, kc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"server", []string{"config", "view", "--kubeconfig", path, "-o", "jsonpath={.clusters[0].cluster.server}"}, "https://127.0.0.1:6443"},
		{"current-context", []string{"config", "current-context", "--kubeconfig", path}, "wasmkube\n"},
		{"token", []string{"config", "view", "--raw", "--kubeconfig", path, "-o", "jsonpath={.users[0].user.token}"}, "wk-admin.tok"},
		{"namespace", []string{"config", "view", "--minify", "--kubeconfig", path, "-o", "jsonpath={.contexts[0].context.namespace}"}, "apps"},
		{"CA data", []string{"config", "view", "--raw", "--kubeconfig", path, "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"}, b64(ca.CertPEM)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kubectl(t, tc.args...); got != tc.want {
				t.Errorf("kubectl printed %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWeReadKubectlKubeconfig(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "ca")
	_, certPEM, keyPEM := issue(t, ca, CertRequest{CommonName: "alice", Client: true})
	for name, data := range map[string][]byte{"ca.crt": ca.CertPEM, "alice.crt": certPEM, "alice.key": keyPEM} {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	path := filepath.Join(dir, "config")
	kubectl(t, "config", "set-cluster", "edge", "--kubeconfig", path, "--server", "https://10.0.0.9:6443",
		"--certificate-authority", filepath.Join(dir, "ca.crt"), "--embed-certs")
	kubectl(t, "config", "set-credentials", "alice", "--kubeconfig", path, "--token", "wk-admin.t",
		"--client-certificate", filepath.Join(dir, "alice.crt"), "--client-key", filepath.Join(dir, "alice.key"), "--embed-certs")
	kubectl(t, "config", "set-context", "alice@edge", "--kubeconfig", path, "--cluster", "edge", "--user", "alice", "--namespace", "apps")
	kubectl(t, "config", "use-context", "alice@edge", "--kubeconfig", path)

	kc, err := LoadKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := kc.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	if creds.Server != "https://10.0.0.9:6443" || creds.Token != "wk-admin.t" || creds.Namespace != "apps" ||
		!bytes.Equal(creds.CAPEM, ca.CertPEM) || !bytes.Equal(creds.ClientCertPEM, certPEM) || !bytes.Equal(creds.ClientKeyPEM, keyPEM) {
		t.Errorf("Resolve = %+v", creds)
	}
}

// TestAdminKubeconfigEndToEnd serves HTTPS with the bundle Ensure made and
// reaches it with the admin kubeconfig, as wk server and wk do.
func TestAdminKubeconfigEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	b, err := Ensure(dataDir, BundleOptions{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srvCfg, err := ServerTLSConfig(b.ServingCertPEM, b.ServingKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig: srvCfg,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !TokenEqual(tok, b.AdminToken) {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, r.Proto)
		}),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})

	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			path := filepath.Join(dataDir, "kubeconfig-"+host)
			if err := WriteKubeconfig(path, AdminKubeconfig("wasmkube", "https://"+net.JoinHostPort(host, port), b.CA.CertPEM, b.AdminToken)); err != nil {
				t.Fatal(err)
			}
			kc, err := LoadKubeconfig(path)
			if err != nil {
				t.Fatal(err)
			}
			creds, err := kc.Resolve("")
			if err != nil {
				t.Fatal(err)
			}
			tlsCfg, err := creds.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			for _, rc := range []struct {
				name, token, want string
			}{
				{"admin token", creds.Token, "200 HTTP/2.0"},
				{"join token", b.JoinToken, "401 unauthorized\n"},
				{"no token", "", "401 unauthorized\n"},
			} {
				t.Run(rc.name, func(t *testing.T) {
					req, _ := http.NewRequest("GET", creds.Server+"/api", nil)
					if rc.token != "" {
						req.Header.Set("Authorization", "Bearer "+rc.token)
					}
					resp, err := client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					var body bytes.Buffer
					body.ReadFrom(resp.Body)
					if got := fmt.Sprintf("%d %s", resp.StatusCode, body.String()); got != rc.want {
						t.Errorf("got %q, want %q", got, rc.want)
					}
				})
			}
		})
	}
}
