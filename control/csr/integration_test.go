package csr_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/csr"
	"github.com/wasmkube/wasmkube/control/pki"
)

const strangerToken = "stranger-token"

func startController(t *testing.T, a *clustertest.API, c *client.Client) *csr.Controller {
	t.Helper()
	inf := controller.NewInformers(c)
	ctrl, err := csr.New(csr.Config{Client: c, Informers: inf, CA: a.CA, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { inf.Run(ctx); done <- struct{}{} }()
	go func() { _ = ctrl.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return ctrl
}

func clientAs(t *testing.T, a *clustertest.API, token string) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Server: a.URL, CAPEM: a.CAPEM, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newRequest(t *testing.T, name, cn, signer string, ips []net.IP, dns []string, usages ...api.KeyUsage) *api.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{csr.NodesGroup}}, IPAddresses: ips, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &api.CertificateSigningRequest{ObjectMeta: api.ObjectMeta{Name: name}, Spec: api.CertificateSigningRequestSpec{
		Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		SignerName: signer, Usages: usages, ExpirationSeconds: api.Ptr[int32](3600)}}
}

func waitFor(t *testing.T, c *client.Client, name, what string, cond func(*api.CertificateSigningRequest) bool) *api.CertificateSigningRequest {
	t.Helper()
	var got *api.CertificateSigningRequest
	controllertest.Eventually(t, what, func() (bool, string) {
		r, err := client.For[*api.CertificateSigningRequest](c, "certificatesigningrequests").Get(context.Background(), name)
		if err != nil {
			return false, err.Error()
		}
		got = r
		return cond(r), printStatus(r)
	})
	return got
}

func printStatus(r *api.CertificateSigningRequest) string {
	var s []string
	for _, c := range r.Status.Conditions {
		s = append(s, c.Type+"="+string(c.Status)+" "+c.Reason+": "+c.Message)
	}
	return fmt.Sprintf("conditions [%s], %d bytes of certificate", strings.Join(s, "; "), len(r.Status.Certificate))
}

func decided(r *api.CertificateSigningRequest) bool {
	return len(r.Status.Certificate) > 0 || r.Status.HasCondition(api.CertificateDenied) || r.Status.HasCondition(api.CertificateFailed)
}

func TestApproveAndSign(t *testing.T) {
	a := clustertest.StartAPI(t, clustertest.WithConfig(func(cfg *apiserver.Config) {
		cfg.Tokens[strangerToken] = apiserver.User{Name: "alice"}
	}))
	admin := controllertest.Client(t, a)
	ctrl := startController(t, a, admin)
	ctx := context.Background()
	tlsUsages := []api.KeyUsage{api.UsageDigitalSignature, api.UsageKeyEncipherment, api.UsageServerAuth, api.UsageClientAuth}
	ips := []net.IP{net.IPv4(127, 0, 0, 2).To4()}
	dns := []string{"n1"}
	for _, tc := range []struct {
		name    string
		token   string
		req     *api.CertificateSigningRequest
		approve bool
		msg     string
	}{
		{"runner joining", a.JoinToken, newRequest(t, "node-n1", "system:node:n1", csr.SignerName, ips, dns, tlsUsages...), true, ""},
		{"admin", a.Token, newRequest(t, "node-n2", "system:node:n2", csr.SignerName, ips, nil, api.UsageClientAuth), true, ""},
		{"wrong CN", a.JoinToken, newRequest(t, "node-bad", "admin", csr.SignerName, ips, dns, tlsUsages...), false, `common name "admin"`},
		{"stranger", strangerToken, newRequest(t, "node-n3", "system:node:n3", csr.SignerName, ips, dns, tlsUsages...), false, `requestor "alice"`},
		{"code signing", a.JoinToken, newRequest(t, "node-n4", "system:node:n4", csr.SignerName, ips, dns, api.UsageCodeSigning), false, "code signing"},
		{"server without names", a.JoinToken, newRequest(t, "node-n5", "system:node:n5", csr.SignerName, nil, nil, api.UsageServerAuth), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clientAs(t, a, tc.token)
			if _, err := client.For[*api.CertificateSigningRequest](c, "certificatesigningrequests").Create(ctx, tc.req); err != nil {
				t.Fatal(err)
			}
			got := waitFor(t, admin, tc.req.Name, "a decision on "+tc.req.Name, decided)
			if !tc.approve {
				d := got.Status.Condition(api.CertificateDenied)
				if d == nil || d.Reason != csr.ReasonAutoDenied || !strings.Contains(d.Message, tc.msg) || got.Status.HasCondition(api.CertificateApproved) {
					t.Fatalf("want denied with %q: %s", tc.msg, printStatus(got))
				}
				return
			}
			if ap := got.Status.Condition(api.CertificateApproved); ap == nil || ap.Reason != csr.ReasonAutoApproved {
				t.Fatalf("not auto-approved: %s", printStatus(got))
			}
			if tc.name == "server without names" {
				if f := got.Status.Condition(api.CertificateFailed); f == nil || !strings.Contains(f.Message, "DNS name or IP") {
					t.Fatalf("want Failed: %s", printStatus(got))
				}
				return
			}
			cert, err := pki.ParseCertificatePEM(got.Status.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				want := slices.Contains(tc.req.Spec.Usages, api.UsageServerAuth) || u == x509.ExtKeyUsageClientAuth
				if err := a.CA.Verify(cert, u); (err == nil) != want {
					t.Fatalf("verify usage %v: %v (want ok=%v)", u, err, want)
				}
			}
			req, _ := api.ParseCertificateRequest(tc.req.Spec.Request)
			if cert.Subject.CommonName != req.Subject.CommonName || !slices.Equal(cert.Subject.Organization, []string{csr.NodesGroup}) ||
				len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(ips[0]) || !slices.Equal(cert.DNSNames, req.DNSNames) {
				t.Fatalf("certificate subject %v IPs %v DNS %v", cert.Subject, cert.IPAddresses, cert.DNSNames)
			}
			if life := cert.NotAfter.Sub(cert.NotBefore); life.Hours() != 2 { // an hour backdated + expirationSeconds
				t.Fatalf("certificate lifetime %v", life)
			}
		})
	}

	// Requests of other signers are left alone, even approved ones.
	other := newRequest(t, "other", "system:node:n1", "example.com/other", ips, dns, tlsUsages...)
	csrs := client.For[*api.CertificateSigningRequest](admin, "certificatesigningrequests")
	if _, err := csrs.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	// A request created after it is decided only once the controller has seen both.
	after := newRequest(t, "node-n6", "system:node:n6", csr.SignerName, ips, dns, tlsUsages...)
	if _, err := csrs.Create(ctx, after); err != nil {
		t.Fatal(err)
	}
	waitFor(t, admin, after.Name, "node-n6 issued", func(r *api.CertificateSigningRequest) bool { return len(r.Status.Certificate) > 0 })
	if err := ctrl.Reconcile(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	got, err := csrs.Get(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Conditions) != 0 || len(got.Status.Certificate) != 0 {
		t.Fatalf("other signer's request touched: %s", printStatus(got))
	}
	got.Status.SetCondition(api.CertificateSigningRequestCondition{Type: api.CertificateApproved, Status: api.ConditionTrue, Reason: "Test"})
	if _, err := csr.UpdateApproval(ctx, admin, got); err != nil {
		t.Fatal(err)
	}
	if err := ctrl.Reconcile(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if got, err = csrs.Get(ctx, "other"); err != nil || len(got.Status.Certificate) != 0 {
		t.Fatalf("other signer's approved request signed: %v %s", err, printStatus(got))
	}
}
