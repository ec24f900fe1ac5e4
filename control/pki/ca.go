package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

const (
	// CAValidity is how long a CA made by NewCA is valid.
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultValidity is the lifetime of an issued certificate whose
	// CertRequest.Validity is zero.
	DefaultValidity = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so that a machine whose clock is a little
	// behind the issuer's still accepts a certificate issued just now.
	clockSkew = time.Hour
)

var (
	// ErrNotCA is returned by LoadCA when the certificate is not a CA.
	ErrNotCA = errors.New("certificate is not a CA")
	// ErrKeyMismatch is returned when a private key does not belong to the
	// certificate it is loaded with.
	ErrKeyMismatch = errors.New("private key does not match certificate")
	// ErrNoPEM is returned when input holds no PEM block of the expected type.
	ErrNoPEM = errors.New("no PEM data found")
	// ErrInvalidRequest is returned by Issue for a CertRequest it cannot honour.
	ErrInvalidRequest = errors.New("invalid certificate request")
)

// CA is a certificate authority: a self-signed certificate and its key.
// A CA is safe for concurrent use as long as its fields are not modified.
type CA struct {
	// Cert is the parsed CA certificate.
	Cert *x509.Certificate
	// Key signs issued certificates; its public half is Cert's public key.
	Key crypto.Signer
	// CertPEM is Cert, PEM-encoded, as distributed to clients.
	CertPEM []byte
}

// CertRequest describes a certificate for CA.Issue.
type CertRequest struct {
	// CommonName is the subject CN; for client certificates it is the user name.
	CommonName string
	// Organization is the subject O; for client certificates these are groups.
	Organization []string
	// DNSNames and IPs are the subject alternative names a server certificate
	// is valid for. A server certificate needs at least one.
	DNSNames []string
	IPs      []net.IP
	// Server and Client select the extended key usages (server auth, client
	// auth). At least one must be set.
	Server, Client bool
	// Validity is the lifetime from now; zero means DefaultValidity. It is cut
	// short so the certificate never outlives the CA.
	Validity time.Duration
}

// NewCA creates a self-signed CA with an ECDSA P-256 key, valid from now
// (backdated an hour for clock skew) for CAValidity.
func NewCA(commonName string, now time.Time) (*CA, error) {
	if commonName == "" {
		return nil, fmt.Errorf("create CA: common name is empty")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: generate key: %w", commonName, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("create CA %q: %w", commonName, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: sign: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: parse: %w", commonName, err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodePEM("CERTIFICATE", der)}, nil
}

// LoadCA parses a CA from its PEM certificate and PEM private key (PKCS#8,
// SEC 1 EC or PKCS#1 RSA). It fails with ErrNotCA if the certificate is not
// a CA and ErrKeyMismatch if the key is not the certificate's.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("load CA %q: %w", cert.Subject.CommonName, ErrNotCA)
	}
	key, err := ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA %q: %w", cert.Subject.CommonName, err)
	}
	if !publicKeyEqual(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("load CA %q: %w", cert.Subject.CommonName, ErrKeyMismatch)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodePEM("CERTIFICATE", cert.Raw)}, nil
}

// KeyPEM returns the CA's private key as PEM-encoded PKCS#8.
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	return encodePEM("PRIVATE KEY", der), nil
}

// Pool returns a new pool holding only the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Issue creates a key pair and a certificate for it signed by the CA, valid
// from now (backdated an hour for clock skew). The key is an ECDSA P-256
// key, returned as PEM-encoded PKCS#8. It fails with ErrInvalidRequest when
// req has no common name, no usage, a negative validity, or is a server
// certificate without any DNS name or IP.
func (ca *CA) Issue(req CertRequest, now time.Time) (certPEM, keyPEM []byte, err error) {
	if err := req.validate(); err != nil {
		return nil, nil, fmt.Errorf("issue certificate %q: %w", req.CommonName, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("issue certificate %q: generate key: %w", req.CommonName, err)
	}
	certPEM, err = ca.Sign(key.Public(), req, now)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue certificate %q: encode key: %w", req.CommonName, err)
	}
	return certPEM, encodePEM("PRIVATE KEY", keyDER), nil
}

func (req CertRequest) validate() error {
	switch {
	case req.CommonName == "":
		return fmt.Errorf("%w: common name is empty", ErrInvalidRequest)
	case !req.Server && !req.Client:
		return fmt.Errorf("%w: neither server nor client usage requested", ErrInvalidRequest)
	case req.Validity < 0:
		return fmt.Errorf("%w: negative validity %s", ErrInvalidRequest, req.Validity)
	case req.Server && len(req.DNSNames) == 0 && len(req.IPs) == 0:
		return fmt.Errorf("%w: server certificate needs at least one DNS name or IP", ErrInvalidRequest)
	}
	return nil
}

// Verify checks that cert chains to the CA at the current time and allows
// usage (x509.ExtKeyUsageServerAuth or x509.ExtKeyUsageClientAuth). It does
// not check host names; use cert.VerifyHostname for that.
func (ca *CA) Verify(cert *x509.Certificate, usage x509.ExtKeyUsage) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:     ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return fmt.Errorf("verify certificate %q against CA %q: %w",
			cert.Subject.CommonName, ca.Cert.Subject.CommonName, err)
	}
	return nil
}

// ServerTLSConfig returns a TLS server configuration serving the given
// certificate: TLS 1.2 or later, offering h2 and http/1.1 by ALPN. Callers
// that want client certificates set ClientAuth and ClientCAs on the result.
func ServerTLSConfig(certPEM, keyPEM []byte) (*tls.Config, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load serving certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// ParseCertificatePEM parses the first CERTIFICATE block of data.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("parse certificate: %w", ErrNoPEM)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		return cert, nil
	}
}

// ParsePrivateKeyPEM parses the first private key block of data: PKCS#8
// ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY").
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("parse private key: %w", ErrNoPEM)
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse private key: %w", err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("parse private key: %T cannot sign", key)
		}
		return signer, nil
	}
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func encodePEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// newSerial returns a random positive 128-bit serial number (RFC 5280
// allows up to 20 octets).
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}
