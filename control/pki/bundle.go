package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// RenewBefore is how close to expiry a serving certificate may get
	// before Ensure reissues it.
	RenewBefore = 30 * 24 * time.Hour
	// DefaultCACommonName names the CA Ensure creates when
	// BundleOptions.CACommonName is empty.
	DefaultCACommonName = "wasmkube-ca"
	// ServingCommonName is the subject CN of the API server's certificate.
	ServingCommonName = "wasmkube-apiserver"
)

// File names under the data directory.
const (
	pkiDir          = "pki"
	caCertFile      = "ca.crt"
	caKeyFile       = "ca.key"
	servingCertFile = "apiserver.crt"
	servingKeyFile  = "apiserver.key"
	adminTokenFile  = "admin-token"
	joinTokenFile   = "join-token"
)

var (
	// ErrIncompleteCA is returned by Ensure when ca.crt exists without
	// ca.key: the cluster's CA can no longer sign, and making a new one
	// would silently break every client that trusts the old one.
	ErrIncompleteCA = errors.New("CA certificate present but its key is missing")
	// ErrInvalidHost is returned by Ensure for a host that is neither an IP
	// address nor a DNS name.
	ErrInvalidHost = errors.New("invalid host")
)

// BundleOptions configures Ensure.
type BundleOptions struct {
	// Hosts are the IP addresses and DNS names clients use to reach the API
	// server. 127.0.0.1, ::1 and localhost are always added. An IPv6
	// address may be bracketed ("[fd00::1]"); ports are not allowed.
	Hosts []string
	// CACommonName names a newly created CA; empty means DefaultCACommonName.
	// It is ignored once the CA exists.
	CACommonName string
	// ServingValidity is the lifetime of a newly issued serving certificate;
	// zero means DefaultValidity.
	ServingValidity time.Duration
}

// Bundle is the identity material of one cluster, as held in its data
// directory.
type Bundle struct {
	// CA is the cluster CA.
	CA *CA
	// ServingCertPEM and ServingKeyPEM are the API server's certificate
	// (for every requested host) and key; pass them to ServerTLSConfig.
	ServingCertPEM, ServingKeyPEM []byte
	// AdminToken grants full access to the API; JoinToken lets a runner join.
	AdminToken, JoinToken string
	// CreatedCA reports that this call created the CA (first start).
	CreatedCA bool
	// IssuedServing reports that this call issued a new serving certificate.
	IssuedServing bool
}

// Ensure makes sure dataDir holds the cluster's identity material and
// returns it. On first start it creates, under dataDir/pki, ca.crt, ca.key,
// apiserver.crt and apiserver.key, and the token files dataDir/admin-token
// and dataDir/join-token; keys and tokens are mode 0600. Later calls load
// them, and reissue the serving certificate from the same CA when it lacks a
// requested host, expires within RenewBefore of now, was not issued by the
// CA, or does not match its key. A deleted token file is regenerated.
//
// Every file is written atomically, so a crash leaves either no file or a
// whole one. Ensure is idempotent but not safe to run concurrently on one
// data directory from several processes; the embedded etcd member already
// gives each data directory a single owner.
func Ensure(dataDir string, opts BundleOptions, now time.Time) (*Bundle, error) {
	ips, names, err := parseHosts(opts.Hosts)
	if err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dataDir, err)
	}
	dir := filepath.Join(dataDir, pkiDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dataDir, err)
	}
	for _, p := range []string{
		filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile),
		filepath.Join(dir, servingCertFile), filepath.Join(dir, servingKeyFile),
		filepath.Join(dataDir, adminTokenFile), filepath.Join(dataDir, joinTokenFile),
	} {
		removeStaleTemps(p)
	}

	b := &Bundle{}
	b.CA, b.CreatedCA, err = ensureCA(dir, opts.CACommonName, now)
	if err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dataDir, err)
	}
	b.ServingCertPEM, b.ServingKeyPEM, b.IssuedServing, err = ensureServing(dir, b.CA, ips, names, opts.ServingValidity, now)
	if err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dataDir, err)
	}
	if b.AdminToken, err = ensureToken(filepath.Join(dataDir, adminTokenFile), AdminTokenPrefix); err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dataDir, err)
	}
	if b.JoinToken, err = ensureToken(filepath.Join(dataDir, joinTokenFile), JoinTokenPrefix); err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dataDir, err)
	}
	return b, nil
}

// ensureCA loads the CA or creates it. The key is written before the
// certificate, so an existing ca.crt means the CA is complete; a lone ca.key
// is what a crash during first start leaves, and is replaced.
func ensureCA(dir, commonName string, now time.Time) (*CA, bool, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, err := os.ReadFile(certPath)
	switch {
	case err == nil:
		keyPEM, err := os.ReadFile(keyPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("load CA: %s: %w", keyPath, ErrIncompleteCA)
		}
		if err != nil {
			return nil, false, fmt.Errorf("load CA: %w", err)
		}
		ca, err := LoadCA(certPEM, keyPEM)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", certPath, err)
		}
		return ca, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("load CA: %w", err)
	}
	if commonName == "" {
		commonName = DefaultCACommonName
	}
	ca, err := NewCA(commonName, now)
	if err != nil {
		return nil, false, err
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return nil, false, err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, false, fmt.Errorf("save CA: %w", err)
	}
	if err := writeFileAtomic(certPath, ca.CertPEM, 0o644); err != nil {
		return nil, false, fmt.Errorf("save CA: %w", err)
	}
	return ca, true, nil
}

// ensureServing loads the serving certificate and key, or issues new ones
// when they are missing or unfit (see Ensure).
func ensureServing(dir string, ca *CA, ips []net.IP, names []string, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, issued bool, err error) {
	certPath, keyPath := filepath.Join(dir, servingCertFile), filepath.Join(dir, servingKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	for _, err := range []error{certErr, keyErr} {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, fmt.Errorf("load serving certificate: %w", err)
		}
	}
	if certErr == nil && keyErr == nil && servingFit(ca, certPEM, keyPEM, ips, names, now) {
		return certPEM, keyPEM, false, nil
	}
	certPEM, keyPEM, err = ca.Issue(CertRequest{
		CommonName: ServingCommonName,
		DNSNames:   names,
		IPs:        ips,
		Server:     true,
		Validity:   validity,
	}, now)
	if err != nil {
		return nil, nil, false, err
	}
	// Key first: a crash between the two leaves a pair that does not match,
	// which the next start detects and reissues.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, nil, false, fmt.Errorf("save serving certificate: %w", err)
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, nil, false, fmt.Errorf("save serving certificate: %w", err)
	}
	return certPEM, keyPEM, true, nil
}

// servingFit reports whether an existing serving certificate can be kept.
func servingFit(ca *CA, certPEM, keyPEM []byte, ips []net.IP, names []string, now time.Time) bool {
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return false
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return false
	}
	if now.Before(cert.NotBefore) || now.Add(RenewBefore).After(cert.NotAfter) {
		return false
	}
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots:       ca.Pool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return false
	}
	for _, ip := range ips {
		if !containsIP(cert.IPAddresses, ip) {
			return false
		}
	}
	for _, name := range names {
		if !containsName(cert.DNSNames, name) {
			return false
		}
	}
	return true
}

// ensureToken reads the token in path, or generates and saves one if the
// file does not exist. An operator may put a token of their choosing there.
func ensureToken(path, prefix string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(data))
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
			return "", fmt.Errorf("load token %s: want one token on one line (delete the file to generate a new one)", path)
		}
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("load token: %w", err)
	}
	tok, err := NewToken(prefix)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save token: %w", err)
	}
	return tok, nil
}

// parseHosts splits hosts into IPs and lower-cased DNS names, adds the
// loopback defaults, and drops duplicates, keeping first-seen order.
func parseHosts(hosts []string) ([]net.IP, []string, error) {
	var (
		ips   []net.IP
		names []string
	)
	// The loopback names are always present, so that a client on the
	// server's own machine can connect by any of them.
	all := append([]string{"127.0.0.1", "::1", "localhost"}, hosts...)
	for _, h := range all {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
		if ip := net.ParseIP(h); ip != nil {
			if !containsIP(ips, ip) {
				ips = append(ips, ip)
			}
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(h, "."))
		if !validDNSName(name) {
			return nil, nil, fmt.Errorf("%w %q: want an IP address or a DNS name, without port", ErrInvalidHost, h)
		}
		if !containsName(names, name) {
			names = append(names, name)
		}
	}
	return ips, names, nil
}

// validDNSName accepts names made of letters, digits, '-', '_' (found in
// some internal host names), '.', and a leading "*." wildcard label.
func validDNSName(name string) bool {
	name = strings.TrimPrefix(name, "*.")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}

func containsName(names []string, name string) bool {
	for _, x := range names {
		if strings.EqualFold(x, name) {
			return true
		}
	}
	return false
}
