package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/wasmkube/wasmkube/control/client"
)

// PeerPortAnnotation is the Node annotation in which a runner publishes the UDP port of its
// proxy's peer listener (PeerPort); other proxies reach it at the node's InternalIP and that
// port.
const PeerPortAnnotation = "wasmkube.io/proxy-port"

// LoadBalancerAnnotation on a Service chooses how its requests are spread over its ready
// endpoints: LeastRequests, or round robin when absent or anything else.
const LoadBalancerAnnotation = "wasmkube.io/load-balancer"

// LeastRequests is the LoadBalancerAnnotation value that sends each request to the endpoint
// with the fewest requests in flight through this proxy.
const LeastRequests = "least-requests"

// NotFoundHeader is set (to "1") on the 503 a proxy's peer handler answers when the pod asked
// for does not run on its node: the request never reached a pod, so the sender retries it on
// another endpoint whatever its method.
const NotFoundHeader = "Wk-Proxy-Not-Found"

// Backend is a pod that serves HTTP on its container ports, in process. *sandbox.Pod
// satisfies it.
type Backend interface {
	ServeHTTP(port int, w http.ResponseWriter, r *http.Request)
}

// Config configures a Proxy. Zero fields take the defaults in their comments.
type Config struct {
	// Client reaches the API server, for the Service, Endpoints and Node informers. Required.
	Client *client.Client
	// NodeName is this runner's node: endpoints whose nodeName it is are served through Local.
	// Required.
	NodeName string
	// NodeIP is this runner's node address; NodePort front doors listen on it. Required.
	NodeIP string
	// Local returns the pod of this node named namespace/pod, or false if it does not run
	// here (now). Required.
	Local func(namespace, pod string) (Backend, bool)
	// Cert is the runner's certificate from the cluster CA: it serves HTTP/3 on front doors
	// and authenticates this runner to its peers (server and client usages). Required.
	Cert tls.Certificate
	// ClusterCA holds the cluster CA; peers must present a certificate it signed. Required.
	ClusterCA *x509.CertPool
	// PeerAddr is the UDP address the peer listener binds (NodeIP:0).
	PeerAddr string
	// Logger receives what goes wrong in the background (discarded when nil).
	Logger *slog.Logger
}

// Default fills the zero fields of c with their defaults.
func (c *Config) Default() {
	if c.PeerAddr == "" && c.NodeIP != "" {
		c.PeerAddr = net.JoinHostPort(c.NodeIP, "0")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first field of c that cannot be used.
func (c *Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("proxy config: Client is required")
	case c.NodeName == "":
		return errors.New("proxy config: NodeName is required")
	case net.ParseIP(c.NodeIP) == nil:
		return fmt.Errorf("proxy config: NodeIP %q is not an IP address", c.NodeIP)
	case c.Local == nil:
		return errors.New("proxy config: Local is required")
	case len(c.Cert.Certificate) == 0 || c.Cert.PrivateKey == nil:
		return errors.New("proxy config: Cert is required (a certificate and its key)")
	case c.ClusterCA == nil:
		return errors.New("proxy config: ClusterCA is required")
	}
	if _, _, err := net.SplitHostPort(c.PeerAddr); err != nil {
		return fmt.Errorf("proxy config: PeerAddr %q: %w", c.PeerAddr, err)
	}
	return nil
}
