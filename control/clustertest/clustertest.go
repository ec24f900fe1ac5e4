// Package clustertest starts real wasmkube control-plane components in-process for tests:
// an embedded etcd member in a temporary directory and the API server over HTTPS on
// 127.0.0.1 with a random port, with a fresh CA, serving certificate and tokens. Everything
// it starts is stopped by t.Cleanup. It owns no production code path; it is the harness
// other packages' tests (client, controllers, scheduler, CLI) build on.
package clustertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/pki"
	"github.com/wasmkube/wasmkube/control/store"
)

// patience bounds start-up and shutdown so a broken component fails the test instead of
// hanging it.
const patience = 60 * time.Second

// API is a running API server and what a client needs to reach it.
type API struct {
	// URL is the server's base URL, https://127.0.0.1:PORT.
	URL string
	// CAPEM is the PEM certificate of the CA that signed the serving certificate.
	CAPEM []byte
	// Token is the admin bearer token; JoinToken is the runners' join token.
	Token, JoinToken string
	// Store is the store the server writes, for tests that look underneath the API.
	Store *store.Store
	// Server is the API server itself.
	Server *apiserver.Server
	// CA is the cluster CA, for tests that issue more certificates.
	CA *pki.CA
	// Etcd is the embedded etcd member.
	Etcd *store.Embedded
}

// Option changes how StartAPI configures the server.
type Option func(*apiserver.Config)

// WithConfig lets a test change the server's Config (watch cache size, bookmark interval,
// LogSource, service CIDR, ...) before the server is built.
func WithConfig(f func(*apiserver.Config)) Option { return Option(f) }

// StartAPI starts embedded etcd (without fsync: test data need not survive a crash) in
// t.TempDir(), and the API server over HTTPS on 127.0.0.1:0 with a new CA, a serving
// certificate for 127.0.0.1 and localhost, an admin token and a join token. It fails the
// test if anything does not start, and stops everything when the test ends.
func StartAPI(t testing.TB, opts ...Option) *API {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()

	e, err := store.StartEmbedded(ctx, store.EtcdConfig{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("clustertest: start etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("clustertest: close etcd: %v", err)
		}
	})
	st, err := store.New(e.Client(), store.Config{})
	if err != nil {
		t.Fatalf("clustertest: new store: %v", err)
	}
	t.Cleanup(st.Close)

	now := time.Now()
	ca, err := pki.NewCA("wasmkube-test-ca", now)
	if err != nil {
		t.Fatalf("clustertest: new CA: %v", err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertRequest{
		CommonName: pki.ServingCommonName,
		IPs:        []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:   []string{"localhost"},
		Server:     true,
	}, now)
	if err != nil {
		t.Fatalf("clustertest: issue serving certificate: %v", err)
	}
	tlsCfg, err := pki.ServerTLSConfig(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	admin, err := pki.NewToken(pki.AdminTokenPrefix)
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	join, err := pki.NewToken(pki.JoinTokenPrefix)
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}

	cfg := apiserver.Config{
		Store: st,
		Tokens: map[string]apiserver.User{
			admin: {Name: "admin", Groups: []string{"system:masters"}},
			join:  {Name: "system:bootstrap", Groups: []string{"system:bootstrappers"}},
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := apiserver.New(cfg)
	if err != nil {
		t.Fatalf("clustertest: new API server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("clustertest: listen: %v", err)
	}
	if err := srv.Start(ctx, ln, tlsCfg); err != nil {
		ln.Close()
		t.Fatalf("clustertest: start API server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("clustertest: stop API server: %v", err)
		}
	})
	return &API{
		URL:       "https://" + ln.Addr().String(),
		CAPEM:     ca.CertPEM,
		Token:     admin,
		JoinToken: join,
		Store:     st,
		Server:    srv,
		CA:        ca,
		Etcd:      e,
	}
}

// HTTPClient returns a plain net/http client that trusts the cluster CA. It does not add
// the token: tests set the Authorization header themselves (see Do in the apiserver
// tests), so they can also test what happens without one.
func (a *API) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.CAPEM)
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   true,
	}}
}

// Kubeconfig writes an admin kubeconfig for the server into a temporary directory and
// returns its path, for tests that run kubectl or wk.
func (a *API) Kubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := pki.WriteKubeconfig(path, pki.AdminKubeconfig("wasmkube-test", a.URL, a.CAPEM, a.Token)); err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	return path
}
