package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/pki"
)

func TestInfo(t *testing.T) {
	tc := startCluster(t)
	for _, tt := range []struct {
		name, golden string
		args         []string
	}{
		{"api-resources", "info/api-resources.txt", []string{"api-resources"}},
		{"api-resources wide", "info/api-resources-wide.txt", []string{"api-resources", "-o", "wide"}},
		{"api-resources apps", "info/api-resources-apps.txt", []string{"api-resources", "--api-group=apps", "--no-headers"}},
		{"api-resources cluster-scoped names", "info/api-resources-names.txt", []string{"api-resources", "--namespaced=false", "-o", "name"}},
		{"cluster-info", "info/cluster-info.txt", []string{"cluster-info"}},
	} {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.golden, tc.mustWK(t, tt.args...)) })
	}

	t.Run("version", func(t *testing.T) {
		out := tc.mustWK(t, "version")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "Client Version: v") || !strings.HasPrefix(lines[1], "Server Version: v") {
			t.Errorf("version:\n%s", out)
		}
		var doc struct {
			ClientVersion struct{ GitVersion, Platform string }
			ServerVersion *struct{ GitVersion string }
		}
		if err := json.Unmarshal([]byte(tc.mustWK(t, "version", "-o", "json")), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.ClientVersion.GitVersion == "" || doc.ServerVersion == nil || doc.ServerVersion.GitVersion == "" {
			t.Errorf("version -o json: %+v", doc)
		}
		// --client needs no server and no kubeconfig.
		var out2, errOut strings.Builder
		if code := run([]string{"version", "--client", "--kubeconfig", filepath.Join(t.TempDir(), "none")}, strings.NewReader(""), &out2, &errOut); code != 0 ||
			!strings.HasPrefix(out2.String(), "Client Version: ") || strings.Contains(out2.String(), "Server") {
			t.Errorf("version --client: exit %d\n%s%s", code, out2.String(), errOut.String())
		}
	})
}

// TestClientErrors checks how failures to reach or authenticate to the server are printed.
func TestClientErrors(t *testing.T) {
	tc := startCluster(t)
	dir := t.TempDir()
	wrongToken := filepath.Join(dir, "wrong-token")
	if err := pki.WriteKubeconfig(wrongToken, pki.AdminKubeconfig("test", tc.api.URL, tc.api.CAPEM, "wk-admin-not-the-token")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	refused := filepath.Join(dir, "refused")
	if err := pki.WriteKubeconfig(refused, pki.AdminKubeconfig("test", "https://"+closedAddr, tc.api.CAPEM, tc.api.Token)); err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(dir, "other-ca")
	ca, err := pki.NewCA("someone-else", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteKubeconfig(otherCA, pki.AdminKubeconfig("test", tc.api.URL, ca.CertPEM, tc.api.Token)); err != nil {
		t.Fatal(err)
	}

	// No kubeconfig anywhere: an empty home and no $KUBECONFIG.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")

	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no kubeconfig", []string{"get", "pods"}, "error: no kubeconfig: set --kubeconfig, $KUBECONFIG or ~/.wk/config (wk server writes one into its data directory)\n"},
		{"missing kubeconfig file", []string{"get", "pods", "--kubeconfig", filepath.Join(dir, "nope")}, "error: client config: load kubeconfig: open " + filepath.Join(dir, "nope") + ": no such file or directory\n"},
		{"unknown context", []string{"get", "pods", "--kubeconfig", tc.kubeconfig, "--context", "elsewhere"}, "error: client config: kubeconfig " + tc.kubeconfig + ": context \"elsewhere\" not found\n"},
		{"wrong token", []string{"get", "pods", "--kubeconfig", wrongToken}, "error: You must be logged in to the server (Unauthorized)\n"},
		{"wrong token on apply", []string{"apply", "--kubeconfig", wrongToken, "-f", tc.file(t, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n")}, "error: You must be logged in to the server (Unauthorized)\n"},
		{"connection refused", []string{"get", "pods", "--kubeconfig", refused}, "The connection to the server " + closedAddr + " was refused - did you specify the right host or port?\n"},
		{"untrusted server", []string{"version", "--kubeconfig", otherCA}, "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(tt.args, strings.NewReader(""), &out, &errOut)
			if code != 1 || !strings.HasPrefix(errOut.String(), tt.wantErr) {
				t.Errorf("exit %d\nstderr %q\nwant   %q", code, errOut.String(), tt.wantErr)
			}
		})
	}

	// $KUBECONFIG and settings through WK_* variables work like the flags.
	t.Setenv("KUBECONFIG", tc.kubeconfig)
	var out, errOut strings.Builder
	if code := run([]string{"get", "ns", "default", "-o", "name"}, strings.NewReader(""), &out, &errOut); code != 0 || out.String() != "namespace/default\n" {
		t.Errorf("with $KUBECONFIG: exit %d, %q %q", code, out.String(), errOut.String())
	}
	t.Setenv("KUBECONFIG", "")
	t.Setenv("WK_KUBECONFIG", tc.kubeconfig)
	t.Setenv("WK_NAMESPACE", "kube-system")
	out.Reset()
	errOut.Reset()
	if code := run([]string{"get", "pods"}, strings.NewReader(""), &out, &errOut); code != 0 || errOut.String() != "No resources found in kube-system namespace.\n" {
		t.Errorf("with WK_KUBECONFIG and WK_NAMESPACE: exit %d, %q %q", code, out.String(), errOut.String())
	}
}
