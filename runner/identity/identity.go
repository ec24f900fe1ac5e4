// Package identity owns a runner's TLS identity: the certificate and key, issued by the
// cluster CA, that the runner serves HTTP/3 with and presents to other runners for mutual
// TLS. Ensure reuses the pair kept in the runner's data directory while it is valid, and
// otherwise asks the cluster for a new one the Kubernetes way (kubelet TLS bootstrap): it makes
// a key, posts a certificates.k8s.io/v1 CertificateSigningRequest for signer
// wasmkube.io/runner, and waits for the control plane (control/csr) to approve and sign it.
//
// It does not approve or sign anything, and does not rotate a certificate by itself: callers
// call Ensure again (at start, or when Remaining says so).
package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/csr"
)

// Files in the directory Ensure is given.
const (
	CertFile = "runner.crt"
	KeyFile  = "runner.key"
)

// MinRemaining is how long a kept certificate must still be valid to be reused.
const MinRemaining = 24 * time.Hour

// Sentinel errors callers branch on.
var (
	// ErrDenied is wrapped when the control plane denied the request; the message says why.
	ErrDenied = errors.New("certificate request denied")
	// ErrFailed is wrapped when the signer could not sign an approved request.
	ErrFailed = errors.New("certificate request failed")
	// ErrNoCA is returned when the CA PEM given to Ensure holds no certificate.
	ErrNoCA = errors.New("no CA certificate")
)

// Usages are the key usages a runner certificate is requested with: it serves (HTTP/3, QUIC)
// and is a client (QUIC to other runners).
var usages = []api.KeyUsage{api.UsageDigitalSignature, api.UsageServerAuth, api.UsageClientAuth}

// Ensure returns the runner's certificate for nodeName, covering ips and dnsNames, signed by
// the CA in caPEM. It reuses dir/runner.crt and dir/runner.key when they match, chain to the
// CA, name the node, cover every IP and DNS name asked for, and stay valid for MinRemaining
// more. Otherwise it makes an ECDSA P-256 key, creates a CertificateSigningRequest named
// node-<nodeName>-<random> through c (normally authenticated with the join token), watches
// it until it carries a certificate or is Denied or Failed (errors wrapping ErrDenied or
// ErrFailed with the condition's message), writes the pair atomically (the key 0600, dir
// 0700), and returns it. ctx bounds the wait; nothing is written when it ends first.
func Ensure(ctx context.Context, c *client.Client, caPEM []byte, dir, nodeName string, ips []net.IP, dnsNames []string) (tls.Certificate, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return tls.Certificate{}, fmt.Errorf("runner identity for node %s: %w", nodeName, ErrNoCA)
	}
	want := want{node: nodeName, ips: ips, dnsNames: dnsNames, roots: roots}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if pair, err := load(certPath, keyPath); err == nil && want.fits(pair.Leaf, time.Now()) == nil {
		return pair, nil
	}
	keyPEM, certPEM, err := request(ctx, c, want)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("runner identity for node %s: %w", nodeName, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("runner identity for node %s: issued pair: %w", nodeName, err)
	}
	if err := want.fits(pair.Leaf, time.Now()); err != nil {
		return tls.Certificate{}, fmt.Errorf("runner identity for node %s: issued certificate: %w", nodeName, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("runner identity for node %s: %w", nodeName, err)
	}
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("runner identity for node %s: %w", nodeName, err)
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("runner identity for node %s: %w", nodeName, err)
	}
	return pair, nil
}

// Remaining is how long cert stays valid after now (negative once it has expired).
func Remaining(cert *x509.Certificate, now time.Time) time.Duration { return cert.NotAfter.Sub(now) }

// want is what a runner certificate must be.
type want struct {
	node     string
	ips      []net.IP
	dnsNames []string
	roots    *x509.CertPool
}

func (w want) commonName() string { return csr.NodeUserPrefix + w.node }

// fits says why cert will not do, or nil.
func (w want) fits(cert *x509.Certificate, now time.Time) error {
	if cert == nil {
		return errors.New("no certificate")
	}
	if cert.Subject.CommonName != w.commonName() {
		return fmt.Errorf("certificate is for %q, not %q", cert.Subject.CommonName, w.commonName())
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: w.roots, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("certificate does not chain to the cluster CA: %w", err)
	}
	if r := Remaining(cert, now); r < MinRemaining {
		return fmt.Errorf("certificate expires in %s", r.Round(time.Second))
	}
	for _, ip := range w.ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return fmt.Errorf("certificate does not cover IP %s", ip)
		}
	}
	for _, n := range w.dnsNames {
		if !slices.Contains(cert.DNSNames, n) {
			return fmt.Errorf("certificate does not cover DNS name %s", n)
		}
	}
	return nil
}

// load reads a pair from disk.
func load(certPath, keyPath string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// request makes a key, asks for its certificate and waits for it.
func request(ctx context.Context, c *client.Client, w want) (keyPEM, certPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: w.commonName(), Organization: []string{csr.NodesGroup}},
		IPAddresses: w.ips, DNSNames: w.dnsNames,
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate request: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key: %w", err)
	}
	csrs := client.For[*api.CertificateSigningRequest](c, "certificatesigningrequests")
	created, err := csrs.Create(ctx, &api.CertificateSigningRequest{
		ObjectMeta: api.ObjectMeta{GenerateName: "node-" + w.node + "-"},
		Spec: api.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: csr.SignerName,
			Usages:     usages,
		},
	})
	if err != nil {
		return nil, nil, err
	}
	issued, err := wait(ctx, csrs, created)
	if err != nil {
		return nil, nil, err
	}
	cert, err := leaf(issued.Status.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("csr %s: %w", issued.Name, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("csr %s: the issued certificate is not for the requested key", issued.Name)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), issued.Status.Certificate, nil
}

// outcome is what a request's state says: done with a certificate, an error, or wait on.
func outcome(r *api.CertificateSigningRequest) (bool, error) {
	for _, t := range []struct {
		typ string
		err error
	}{{api.CertificateDenied, ErrDenied}, {api.CertificateFailed, ErrFailed}} {
		if c := r.Status.Condition(t.typ); c != nil && c.Status == api.ConditionTrue {
			return true, fmt.Errorf("csr %s: %w: %s: %s", r.Name, t.err, c.Reason, c.Message)
		}
	}
	return len(r.Status.Certificate) > 0, nil
}

// wait watches r until it is decided, resuming the watch when the server ends it.
func wait(ctx context.Context, csrs *client.Resource[*api.CertificateSigningRequest], r *api.CertificateSigningRequest) (*api.CertificateSigningRequest, error) {
	name, rv := r.Name, r.ResourceVersion
	for {
		if done, err := outcome(r); done || err != nil {
			return r, err
		}
		w, err := csrs.Watch(ctx, client.ListOptions{FieldSelector: "metadata.name=" + r.Name, ResourceVersion: rv})
		if err != nil {
			return nil, fmt.Errorf("wait for csr %s: %w", r.Name, err)
		}
		gone := false
	events:
		for ev := range w.Events() {
			switch ev.Type {
			case api.Added, api.Modified:
				r, rv = ev.Object, ev.Object.ResourceVersion
				if done, err := outcome(r); done || err != nil {
					w.Stop()
					return r, err
				}
			case api.Deleted:
				w.Stop()
				return nil, fmt.Errorf("wait for csr %s: it was deleted before it was signed", r.Name)
			case api.Error:
				gone = api.IsGone(ev.Err)
				break events
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for csr %s to be signed: %w", r.Name, context.Cause(ctx))
		}
		if gone { // too far behind: read the request afresh
			if r, err = csrs.Get(ctx, name); err != nil {
				return nil, fmt.Errorf("wait for csr %s: %w", name, err)
			}
			rv = r.ResourceVersion
		}
	}
}

// leaf parses the first certificate of a PEM chain.
func leaf(chain []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(chain)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("the issued certificate is not PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}

// writeAtomic writes data to path through a temporary file in the same directory and a rename,
// so a reader sees the old file or the new one, never half of one.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := writeSync(f, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeSync writes data, syncs and closes f.
func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
