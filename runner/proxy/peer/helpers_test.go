package peer

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/pki"
)

// testPKI is a cluster CA and the certificates issued from it for a test.
type testPKI struct {
	ca   *pki.CA
	pool *x509.CertPool
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	ca, err := pki.NewCA("test-cluster-ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, pool: ca.Pool()}
}

// node issues a node certificate: CN system:node:<name>, O system:nodes, IP SAN 127.0.0.1.
func (p *testPKI) node(t testing.TB, name string) tls.Certificate {
	return p.issue(t, pki.CertRequest{
		CommonName:   "system:node:" + name,
		Organization: []string{NodesGroup},
		IPs:          []net.IP{net.IPv4(127, 0, 0, 1)},
		Server:       true,
		Client:       true,
	})
}

func (p *testPKI) issue(t testing.TB, req pki.CertRequest) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := p.ca.Issue(req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// listen starts a Server on addr (127.0.0.1:0 when empty) and closes it at the end of the test.
func listen(t testing.TB, addr string, tlsConf *tls.Config, h Handler) *Server {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s, err := Listen(ServerConfig{Addr: addr, TLS: tlsConf, Handler: h, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newClient(t testing.TB, tlsConf *tls.Config) *Client {
	t.Helper()
	c := NewClient(ClientConfig{TLS: tlsConf, Logger: quietLogger(), DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// readAll reads and closes a response body.
func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return string(b)
}

var testTarget = Target{Namespace: "default", Pod: "web-1", Port: 8080}
