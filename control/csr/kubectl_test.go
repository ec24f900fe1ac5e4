package csr_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/csr"
)

// TestKubectl checks `kubectl get csr` and `kubectl certificate approve|deny` against the
// server and this controller, if kubectl is on PATH.
func TestKubectl(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	a := clustertest.StartAPI(t)
	admin := controllertest.Client(t, a)
	startController(t, a, admin)
	dir := t.TempDir()
	kubeconfig := a.Kubeconfig(t)
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), controllertest.Patience)
		defer cancel()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "KUBECACHEDIR="+filepath.Join(dir, "cache"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	ctx := context.Background()
	join := clientAs(t, a, a.JoinToken)
	csrs := client.For[*api.CertificateSigningRequest](join, "certificatesigningrequests")
	ips := []net.IP{net.IPv4(127, 0, 0, 2)}
	for _, r := range []*api.CertificateSigningRequest{
		newRequest(t, "node-n1", "system:node:n1", csr.SignerName, ips, nil, api.UsageDigitalSignature, api.UsageClientAuth),
		newRequest(t, "other-1", "system:node:n1", "example.com/other", ips, nil, api.UsageClientAuth),
		newRequest(t, "other-2", "system:node:n1", "example.com/other", ips, nil, api.UsageClientAuth),
	} {
		if _, err := csrs.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, admin, "node-n1", "node-n1 issued", func(r *api.CertificateSigningRequest) bool { return len(r.Status.Certificate) > 0 })

	out := run("get", "csr")
	for _, want := range []string{"NAME", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION",
		"wasmkube.io/runner", "system:bootstrap", "60m", "Approved,Issued", "Pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get csr: no %q in\n%s", want, out)
		}
	}
	run("certificate", "approve", "other-1")
	run("certificate", "deny", "other-2")
	out = run("get", "csr", "other-1", "other-2", "--no-headers")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "Approved") || !strings.HasSuffix(lines[1], "Denied") {
		t.Fatalf("after approve and deny:\n%s", out)
	}
	// kubectl sends its conditions in protobuf: every field must have arrived.
	for name, want := range map[string]string{"other-1": api.CertificateApproved, "other-2": api.CertificateDenied} {
		r, err := client.For[*api.CertificateSigningRequest](admin, "certificatesigningrequests").Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		c := r.Status.Condition(want)
		if c == nil || c.Status != api.ConditionTrue || !strings.HasPrefix(c.Reason, "Kubectl") || !strings.Contains(c.Message, "kubectl") ||
			c.LastUpdateTime.IsZero() || len(r.Status.Conditions) != 1 || r.Spec.SignerName != "example.com/other" {
			t.Fatalf("%s after kubectl: %+v", name, r.Status)
		}
	}
}
