package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/quic-go/quic-go"
)

// ErrNotNode is returned (wrapped, inside the handshake error) when a peer's certificate chains to
// the cluster CA but does not carry the NodesGroup organization.
var ErrNotNode = errors.New("peer certificate is not a node's (subject O lacks " + NodesGroup + ")")

// ServerTLS returns the TLS configuration of a Server presenting cert: it requires a client
// certificate that chains to clusterCA, allows client authentication, and names NodesGroup among
// its organizations. cert should be issued by the cluster CA for the node (CN
// "system:node:<node>", O NodesGroup, IP SAN the node address, server and client usage).
func ServerTLS(cert tls.Certificate, clusterCA *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        clusterCA,
		MinVersion:       tls.VersionTLS13,
		NextProtos:       []string{ALPN},
		VerifyConnection: verifyNode,
	}
}

// ClientTLS returns the TLS configuration of a Client presenting cert: it verifies the server's
// certificate against clusterCA, its IP SAN against the IP address dialled (the Client sets
// ServerName per connection), and that it names NodesGroup among its organizations, so that no
// other certificate of the cluster (the API server's, a user's) can pose as a runner.
func ClientTLS(cert tls.Certificate, clusterCA *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates:     []tls.Certificate{cert},
		RootCAs:          clusterCA,
		MinVersion:       tls.VersionTLS13,
		NextProtos:       []string{ALPN},
		VerifyConnection: verifyNode,
	}
}

// verifyNode runs after the chain was verified and requires the leaf to be a node's.
func verifyNode(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("verify peer: no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if !slices.Contains(leaf.Subject.Organization, NodesGroup) {
		return fmt.Errorf("verify peer %q: %w", leaf.Subject.CommonName, ErrNotNode)
	}
	return nil
}

// withALPN returns a copy of c that negotiates ALPN only.
func withALPN(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.NextProtos = []string{ALPN}
	if c.MinVersion < tls.VersionTLS13 {
		c.MinVersion = tls.VersionTLS13
	}
	return c
}

// statelessResetKey derives the server's stateless reset key from its certificate's private key,
// so that the same identity restarted on the same address resets connections of its previous life.
// It returns nil (no resets) when the key cannot be serialized.
func statelessResetKey(c *tls.Config) *quic.StatelessResetKey {
	if len(c.Certificates) == 0 || c.Certificates[0].PrivateKey == nil {
		return nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.Certificates[0].PrivateKey)
	if err != nil {
		return nil
	}
	mac := hmac.New(sha256.New, der)
	mac.Write([]byte("wasmkube peer stateless reset key"))
	var key quic.StatelessResetKey
	copy(key[:], mac.Sum(nil))
	return &key
}
