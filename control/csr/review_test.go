package csr

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func request(t *testing.T, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestReview(t *testing.T) {
	node := func(cn string, orgs ...string) *x509.CertificateRequest {
		return &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 2)}, DNSNames: []string{"n1"}}
	}
	tls := []api.KeyUsage{api.UsageDigitalSignature, api.UsageKeyEncipherment, api.UsageServerAuth, api.UsageClientAuth}
	withURI := node("system:node:n1", NodesGroup)
	withURI.URIs = []*url.URL{{Scheme: "spiffe", Host: "x"}}
	for _, tc := range []struct {
		name    string
		user    string
		groups  []string
		req     *x509.CertificateRequest
		usages  []api.KeyUsage
		approve bool
		msg     string
	}{
		{"bootstrapper", "system:bootstrap", []string{"system:bootstrappers"}, node("system:node:n1", NodesGroup), tls, true, "node n1"},
		{"admin", "admin", []string{"system:masters"}, node("system:node:n2", NodesGroup), tls[2:], true, "node n2"},
		{"node renewing itself", "system:node:n1", []string{NodesGroup}, node("system:node:n1", NodesGroup), tls, true, ""},
		{"node asking for another", "system:node:n1", []string{NodesGroup}, node("system:node:n2", NodesGroup), tls, false, "only request a certificate for itself"},
		{"stranger", "alice", []string{"system:authenticated"}, node("system:node:n1", NodesGroup), tls, false, "none of the groups"},
		{"wrong CN", "system:bootstrap", []string{"system:bootstrappers"}, node("admin", NodesGroup), tls, false, "common name \"admin\""},
		{"empty node name", "system:bootstrap", []string{"system:bootstrappers"}, node("system:node:", NodesGroup), tls, false, "common name"},
		{"wrong O", "system:bootstrap", []string{"system:bootstrappers"}, node("system:node:n1", "system:masters"), tls, false, "organization"},
		{"extra O", "system:bootstrap", []string{"system:bootstrappers"}, node("system:node:n1", NodesGroup, "x"), tls, false, "organization"},
		{"URI SAN", "system:bootstrap", []string{"system:bootstrappers"}, withURI, tls, false, "only IP and DNS"},
		{"code signing", "system:bootstrap", []string{"system:bootstrappers"}, node("system:node:n1", NodesGroup),
			[]api.KeyUsage{api.UsageDigitalSignature, api.UsageCodeSigning}, false, "usage \"code signing\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &api.CertificateSigningRequest{Spec: api.CertificateSigningRequestSpec{
				Request: request(t, tc.req), SignerName: SignerName, Usages: tc.usages, Username: tc.user, Groups: tc.groups}}
			d := Review(r)
			if d.Approve != tc.approve || !strings.Contains(d.Message, tc.msg) {
				t.Fatalf("got %+v, want approve=%v with %q", d, tc.approve, tc.msg)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	r := &api.CertificateSigningRequest{Spec: api.CertificateSigningRequestSpec{
		Request: request(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{NodesGroup}},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 2)}, DNSNames: []string{"n1", "localhost"}}),
		Usages: []api.KeyUsage{api.UsageDigitalSignature, api.UsageServerAuth}, ExpirationSeconds: api.Ptr[int32](7200)}}
	req, cr, err := Template(r)
	if err != nil {
		t.Fatal(err)
	}
	if req.PublicKey == nil || cr.CommonName != "system:node:n1" || !cr.Server || cr.Client || cr.Validity != 2*time.Hour ||
		len(cr.IPs) != 1 || !cr.IPs[0].Equal(net.IPv4(127, 0, 0, 2)) || len(cr.DNSNames) != 2 {
		t.Fatalf("template %+v", cr)
	}
	r.Spec.ExpirationSeconds = nil
	if _, cr, _ := Template(r); cr.Validity != 0 {
		t.Fatalf("default validity %v, want 0 (the CA's year)", cr.Validity)
	}
	r.Spec.Request = []byte("junk")
	if _, _, err := Template(r); err == nil {
		t.Fatal("junk request parsed")
	}
}
