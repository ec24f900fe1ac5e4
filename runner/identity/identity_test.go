package identity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/controller/controllertest"
	"github.com/wasmkube/wasmkube/control/csr"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/runner/identity"
)

const strangerToken = "stranger-token"

// cluster starts an API server and, when signer is set, the CSR controller.
func cluster(t *testing.T, signer bool) (*clustertest.API, *client.Client) {
	t.Helper()
	a := clustertest.StartAPI(t, clustertest.WithConfig(func(cfg *apiserver.Config) {
		cfg.Tokens[strangerToken] = apiserver.User{Name: "alice"}
	}))
	admin := controllertest.Client(t, a)
	if signer {
		inf := controller.NewInformers(admin)
		ctrl, err := csr.New(csr.Config{Client: admin, Informers: inf, CA: a.CA})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{}, 2)
		go func() { inf.Run(ctx); done <- struct{}{} }()
		go func() { _ = ctrl.Run(ctx); done <- struct{}{} }()
		t.Cleanup(func() { cancel(); <-done; <-done })
	}
	return a, admin
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

func countCSRs(t *testing.T, c *client.Client) int {
	t.Helper()
	l, err := client.For[*api.CertificateSigningRequest](c, "certificatesigningrequests").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

func ensure(t *testing.T, c *client.Client, a *clustertest.API, dir string, ips ...net.IP) (tls.Certificate, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), controllertest.Patience)
	defer cancel()
	return identity.Ensure(ctx, c, a.CAPEM, dir, "n1", ips, []string{"n1"})
}

func TestEnsureIssuesThenReuses(t *testing.T) {
	a, admin := cluster(t, true)
	join := clientAs(t, a, a.JoinToken)
	dir := filepath.Join(t.TempDir(), "pki")
	ip2, ip3 := net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)

	first, err := ensure(t, join, a, dir, ip2)
	if err != nil {
		t.Fatal(err)
	}
	if cn := first.Leaf.Subject.CommonName; cn != "system:node:n1" {
		t.Fatalf("CN %q", cn)
	}
	if err := a.CA.Verify(first.Leaf, x509.ExtKeyUsageServerAuth); err != nil {
		t.Fatal(err)
	}
	if err := a.CA.Verify(first.Leaf, x509.ExtKeyUsageClientAuth); err != nil {
		t.Fatal(err)
	}
	if err := first.Leaf.VerifyHostname("127.0.0.2"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, identity.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	names, _ := os.ReadDir(dir)
	if len(names) != 2 {
		t.Fatalf("files left in %s: %v", dir, names)
	}
	l, _ := client.For[*api.CertificateSigningRequest](admin, "certificatesigningrequests").List(context.Background(), client.ListOptions{})
	if len(l.Items) != 1 || !strings.HasPrefix(l.Items[0].Name, "node-n1-") || l.Items[0].Spec.Username != "system:bootstrap" {
		t.Fatalf("requests %+v", l.Items)
	}

	for _, tc := range []struct {
		name   string
		ips    []net.IP
		prep   func(t *testing.T)
		reused bool
	}{
		{"same IPs", []net.IP{ip2}, nil, true},
		{"no IPs asked", nil, nil, true},
		{"another IP", []net.IP{ip2, ip3}, nil, false},
		{"expiring soon", []net.IP{ip2, ip3}, func(t *testing.T) { plant(t, a.CA, dir, time.Hour) }, false},
		{"other CA", []net.IP{ip2, ip3}, func(t *testing.T) {
			other, err := pki.NewCA("other", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			plant(t, other, dir, 48*time.Hour)
		}, false},
		{"planted and valid", []net.IP{ip2}, func(t *testing.T) { plant(t, a.CA, dir, 48*time.Hour) }, true},
		{"key lost", []net.IP{ip2}, func(t *testing.T) { os.Remove(filepath.Join(dir, identity.KeyFile)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prep != nil {
				tc.prep(t)
			}
			before, _ := os.ReadFile(filepath.Join(dir, identity.CertFile))
			n := countCSRs(t, admin)
			got, err := ensure(t, join, a, dir, tc.ips...)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := os.ReadFile(filepath.Join(dir, identity.CertFile))
			if reused := countCSRs(t, admin) == n && string(before) == string(after); reused != tc.reused {
				t.Fatalf("reused=%v, want %v", reused, tc.reused)
			}
			for _, ip := range tc.ips {
				if err := got.Leaf.VerifyHostname(ip.String()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// plant writes a pair for node n1 signed by ca and valid for life into dir.
func plant(t *testing.T, ca *pki.CA, dir string, life time.Duration) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.Sign(key.Public(), pki.CertRequest{CommonName: "system:node:n1", Organization: []string{"system:nodes"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 2)}, DNSNames: []string{"n1"}, Server: true, Client: true, Validity: life}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, identity.KeyFile), pemBlock("PRIVATE KEY", keyDER), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, identity.CertFile), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureDenied(t *testing.T) {
	a, _ := cluster(t, true)
	dir := t.TempDir()
	_, err := ensure(t, clientAs(t, a, strangerToken), a, dir, net.IPv4(127, 0, 0, 2))
	if !errors.Is(err, identity.ErrDenied) || !strings.Contains(err.Error(), `requestor "alice"`) {
		t.Fatalf("err %v, want ErrDenied naming the requestor", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Fatalf("files written after a denial: %v", names)
	}
}

func TestEnsureGivesUpWithContext(t *testing.T) {
	a, admin := cluster(t, false) // nobody signs
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { // cancel once the request is waiting
		defer close(done)
		csrs := client.For[*api.CertificateSigningRequest](admin, "certificatesigningrequests")
		for ctx.Err() == nil {
			if l, err := csrs.List(ctx, client.ListOptions{}); err == nil && len(l.Items) > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond) // polling the API, not waiting for time to pass
		}
	}()
	_, err := identity.Ensure(ctx, clientAs(t, a, a.JoinToken), a.CAPEM, dir, "n1", nil, []string{"n1"})
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Fatalf("files written: %v", names)
	}
	if _, err := identity.Ensure(context.Background(), nil, []byte("junk"), dir, "n1", nil, nil); !errors.Is(err, identity.ErrNoCA) {
		t.Fatalf("junk CA: %v", err)
	}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
