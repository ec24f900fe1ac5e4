package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"
)

func newTestCA(t testing.TB, name string) *CA {
	t.Helper()
	ca, err := NewCA(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t testing.TB, ca *CA, req CertRequest) (*x509.Certificate, []byte, []byte) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM, keyPEM
}

func TestNewCA(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ca, err := NewCA("test-ca", now)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a CA: IsCA=%v BasicConstraintsValid=%v KeyUsage=%v", c.IsCA, c.BasicConstraintsValid, c.KeyUsage)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if got, want := c.NotAfter, now.Add(CAValidity); !got.Equal(want) {
		t.Errorf("NotAfter = %s, want %s", got, want)
	}
	if c.Subject.CommonName != "test-ca" {
		t.Errorf("CommonName = %q", c.Subject.CommonName)
	}
	if _, err := NewCA("", now); err == nil {
		t.Error("NewCA with empty name succeeded")
	}
}

func TestIssueVerify(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	other := newTestCA(t, "other-ca")
	serverReq := CertRequest{
		CommonName: "apiserver",
		DNSNames:   []string{"localhost", "api.example.test"},
		IPs:        []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		Server:     true,
	}
	server, _, _ := issue(t, ca, serverReq)
	client, _, _ := issue(t, ca, CertRequest{CommonName: "system:node:n1", Organization: []string{"system:nodes"}, Client: true})
	both, _, _ := issue(t, ca, CertRequest{CommonName: "runner", IPs: []net.IP{net.ParseIP("127.0.0.2")}, Server: true, Client: true})
	// Same names and usage, wrong issuer: only the chain can reject it.
	foreign, _, _ := issue(t, other, serverReq)

	for _, tc := range []struct {
		name  string
		cert  *x509.Certificate
		usage x509.ExtKeyUsage
		ok    bool
	}{
		{"server as server", server, x509.ExtKeyUsageServerAuth, true},
		{"server as client", server, x509.ExtKeyUsageClientAuth, false},
		{"client as client", client, x509.ExtKeyUsageClientAuth, true},
		{"client as server", client, x509.ExtKeyUsageServerAuth, false},
		{"both as server", both, x509.ExtKeyUsageServerAuth, true},
		{"both as client", both, x509.ExtKeyUsageClientAuth, true},
		{"other CA", foreign, x509.ExtKeyUsageServerAuth, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ca.Verify(tc.cert, tc.usage)
			if (err == nil) != tc.ok {
				t.Errorf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}

	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"localhost", true},
		{"api.example.test", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"127.0.0.2", false},
		{"evil.example.test", false},
	} {
		t.Run("host "+tc.host, func(t *testing.T) {
			_, err := server.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: tc.host})
			if (err == nil) != tc.ok {
				t.Errorf("Verify(%s) = %v, want ok=%v", tc.host, err, tc.ok)
			}
			if !tc.ok {
				return
			}
			_, err = foreign.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: tc.host})
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Errorf("foreign cert Verify(%s) = %v, want UnknownAuthorityError", tc.host, err)
			}
		})
	}

	if got := client.Subject.Organization; len(got) != 1 || got[0] != "system:nodes" {
		t.Errorf("Organization = %v", got)
	}
}

func TestIssueInvalid(t *testing.T) {
	ca := newTestCA(t, "ca")
	for _, tc := range []struct {
		name string
		req  CertRequest
	}{
		{"no common name", CertRequest{Client: true}},
		{"no usage", CertRequest{CommonName: "x"}},
		{"negative validity", CertRequest{CommonName: "x", Client: true, Validity: -time.Hour}},
		{"server without names", CertRequest{CommonName: "x", Server: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ca.Issue(tc.req, time.Now())
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("Issue = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestIssueValidity(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ca, err := NewCA("ca", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		at       time.Time
		validity time.Duration
		want     time.Time
	}{
		{"default", now, 0, now.Add(DefaultValidity)},
		{"explicit", now, time.Hour, now.Add(time.Hour)},
		{"clamped to CA", now.Add(CAValidity - time.Hour), DefaultValidity, ca.Cert.NotAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, _, err := ca.Issue(CertRequest{CommonName: "c", Client: true, Validity: tc.validity}, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := ParseCertificatePEM(certPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !cert.NotAfter.Equal(tc.want) {
				t.Errorf("NotAfter = %s, want %s", cert.NotAfter, tc.want)
			}
		})
	}
	if _, _, err := ca.Issue(CertRequest{CommonName: "c", Client: true}, now.Add(CAValidity+time.Hour)); err == nil {
		t.Error("Issue from an expired CA succeeded")
	}
}

func TestLoadCA(t *testing.T) {
	ca := newTestCA(t, "ca")
	other := newTestCA(t, "other")
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	_, leafPEM, leafKeyPEM := issue(t, ca, CertRequest{CommonName: "leaf", Client: true})

	t.Run("round trip", func(t *testing.T) {
		got, err := LoadCA(ca.CertPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Cert.Equal(ca.Cert) {
			t.Error("loaded certificate differs")
		}
		// The loaded CA signs certificates the original trusts.
		leaf, _, _ := issue(t, got, CertRequest{CommonName: "x", Client: true})
		if err := ca.Verify(leaf, x509.ExtKeyUsageClientAuth); err != nil {
			t.Error(err)
		}
	})
	for _, tc := range []struct {
		name    string
		cert    []byte
		key     []byte
		wantErr error
	}{
		{"key of another CA", ca.CertPEM, mustKeyPEM(t, other), ErrKeyMismatch},
		{"leaf certificate", leafPEM, leafKeyPEM, ErrNotCA},
		{"no certificate", []byte("junk"), keyPEM, ErrNoPEM},
		{"no key", ca.CertPEM, ca.CertPEM, ErrNoPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCA(tc.cert, tc.key)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("LoadCA = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func mustKeyPEM(t testing.TB, ca *CA) []byte {
	t.Helper()
	p, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func BenchmarkIssue(b *testing.B) {
	ca := newTestCA(b, "ca")
	now := time.Now()
	req := CertRequest{CommonName: "runner", IPs: []net.IP{net.ParseIP("127.0.0.2")}, Server: true, Client: true}
	for b.Loop() {
		if _, _, err := ca.Issue(req, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ca := newTestCA(b, "ca")
	leaf, _, _ := issue(b, ca, CertRequest{CommonName: "n", Client: true})
	for b.Loop() {
		if err := ca.Verify(leaf, x509.ExtKeyUsageClientAuth); err != nil {
			b.Fatal(err)
		}
	}
}
