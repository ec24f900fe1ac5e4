package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"
)

func TestSign(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test-ca", now)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		req     CertRequest
		wantErr error
	}{
		{"server and client", CertRequest{CommonName: "system:node:n1", Organization: []string{"system:nodes"},
			IPs: []net.IP{net.IPv4(127, 0, 0, 2)}, DNSNames: []string{"n1"}, Server: true, Client: true, Validity: time.Hour}, nil},
		{"client only", CertRequest{CommonName: "u", Client: true}, nil},
		{"no usage", CertRequest{CommonName: "u"}, ErrInvalidRequest},
		{"server without names", CertRequest{CommonName: "u", Server: true}, ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, err := ca.Sign(key.Public(), tc.req, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cert, err := ParseCertificatePEM(certPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !publicKeyEqual(cert.PublicKey, key.Public()) || cert.Subject.CommonName != tc.req.CommonName {
				t.Fatalf("certificate %+v", cert.Subject)
			}
			usage := x509.ExtKeyUsageClientAuth
			if tc.req.Server {
				usage = x509.ExtKeyUsageServerAuth
			}
			if err := ca.Verify(cert, usage); err != nil {
				t.Fatal(err)
			}
			if tc.req.Validity != 0 && !cert.NotAfter.Equal(now.Add(tc.req.Validity).Truncate(time.Second)) {
				t.Fatalf("not after %v", cert.NotAfter)
			}
		})
	}
}
