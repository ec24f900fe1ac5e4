package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"
)

// Sign issues a certificate for a public key the CA did not generate (the key of a
// certificate signing request), described by req as for Issue, valid from now (backdated an
// hour for clock skew) and never past the CA's own expiry. The key usage is digital signature,
// plus key encipherment for RSA keys. It fails with ErrInvalidRequest as Issue does, and when
// pub is not an ECDSA, Ed25519 or RSA public key.
func (ca *CA) Sign(pub crypto.PublicKey, req CertRequest, now time.Time) (certPEM []byte, err error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", req.CommonName, err)
	}
	if pub == nil {
		return nil, fmt.Errorf("sign certificate %q: %w: no public key", req.CommonName, ErrInvalidRequest)
	}
	validity := req.Validity
	if validity == 0 {
		validity = DefaultValidity
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	if !notAfter.After(now) {
		return nil, fmt.Errorf("sign certificate %q: CA %q expired at %s", req.CommonName,
			ca.Cert.Subject.CommonName, ca.Cert.NotAfter.Format(time.RFC3339))
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", req.CommonName, err)
	}
	usage := x509.KeyUsageDigitalSignature
	if _, isRSA := pub.(*rsa.PublicKey); isRSA {
		usage |= x509.KeyUsageKeyEncipherment
	}
	var ext []x509.ExtKeyUsage
	if req.Server {
		ext = append(ext, x509.ExtKeyUsageServerAuth)
	}
	if req.Client {
		ext = append(ext, x509.ExtKeyUsageClientAuth)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.CommonName, Organization: req.Organization},
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPs,
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           ext,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", req.CommonName, err)
	}
	return encodePEM("CERTIFICATE", der), nil
}
