package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
)

// serveTLS accepts connections on 127.0.0.1:0 with cfg, completes each
// handshake and writes the negotiated protocol, until the test ends.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if tc.Handshake() == nil {
				io.WriteString(tc, tc.ConnectionState().NegotiatedProtocol+"\n")
			}
			tc.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestTLSHandshake(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	other := newTestCA(t, "other-ca")
	_, certPEM, keyPEM := issue(t, ca, CertRequest{
		CommonName: "apiserver",
		DNSNames:   []string{"localhost"},
		IPs:        []net.IP{net.ParseIP("127.0.0.1")},
		Server:     true,
	})
	srvCfg, err := ServerTLSConfig(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, srvCfg)

	// A server that demands client certificates from the cluster CA.
	mtlsCfg := srvCfg.Clone()
	mtlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
	mtlsCfg.ClientCAs = ca.Pool()
	mtlsAddr := serveTLS(t, mtlsCfg)
	_, clientPEM, clientKeyPEM := issue(t, ca, CertRequest{CommonName: "system:node:n1", Client: true})
	clientPair, err := tls.X509KeyPair(clientPEM, clientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, foreignPEM, foreignKeyPEM := issue(t, other, CertRequest{CommonName: "system:node:n1", Client: true})
	foreignPair, err := tls.X509KeyPair(foreignPEM, foreignKeyPEM)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		addr       string
		roots      *x509.CertPool
		serverName string
		alpn       []string
		certs      []tls.Certificate
		wantProto  string
		wantErr    bool
	}{
		{"trusted by IP", addr, ca.Pool(), "127.0.0.1", nil, nil, "", false},
		{"trusted by name", addr, ca.Pool(), "localhost", nil, nil, "", false},
		{"h2 negotiated", addr, ca.Pool(), "localhost", []string{"h2", "http/1.1"}, nil, "h2", false},
		{"http/1.1 negotiated", addr, ca.Pool(), "localhost", []string{"http/1.1"}, nil, "http/1.1", false},
		{"other CA", addr, other.Pool(), "localhost", nil, nil, "", true},
		{"name not in cert", addr, ca.Pool(), "api.example.test", nil, nil, "", true},
		{"mTLS with cluster client cert", mtlsAddr, ca.Pool(), "localhost", nil, []tls.Certificate{clientPair}, "", false},
		{"mTLS without client cert", mtlsAddr, ca.Pool(), "localhost", nil, nil, "", true},
		{"mTLS with foreign client cert", mtlsAddr, ca.Pool(), "localhost", nil, []tls.Certificate{foreignPair}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", tc.addr, &tls.Config{
				RootCAs:      tc.roots,
				ServerName:   tc.serverName,
				NextProtos:   tc.alpn,
				Certificates: tc.certs,
				MinVersion:   tls.VersionTLS12,
			})
			if err == nil {
				defer conn.Close()
				// With TLS 1.3 a rejected client certificate surfaces on
				// the first read, not in Dial.
				var line []byte
				line, err = io.ReadAll(conn)
				if err == nil && string(line) != tc.wantProto+"\n" {
					t.Errorf("negotiated %q, want %q", line, tc.wantProto)
				}
				if err == nil && len(line) == 0 {
					err = errors.New("server closed without reply")
				}
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestServerTLSConfig(t *testing.T) {
	ca := newTestCA(t, "ca")
	_, certPEM, keyPEM := issue(t, ca, CertRequest{CommonName: "s", DNSNames: []string{"localhost"}, Server: true})
	cfg, err := ServerTLSConfig(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	if len(cfg.NextProtos) != 2 || cfg.NextProtos[0] != "h2" || cfg.NextProtos[1] != "http/1.1" {
		t.Errorf("NextProtos = %v", cfg.NextProtos)
	}
	_, _, otherKey := issue(t, ca, CertRequest{CommonName: "s", DNSNames: []string{"localhost"}, Server: true})
	if _, err := ServerTLSConfig(certPEM, otherKey); err == nil {
		t.Error("ServerTLSConfig with a mismatched key succeeded")
	}
}
