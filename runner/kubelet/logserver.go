package kubelet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
)

// How the API server reaches a runner in another process for pods/log:
//
// The runner serves GET /containerLogs/{namespace}/{pod}/{container} over HTTPS on its node
// address, at the port it publishes as node.status.daemonEndpoints.kubeletEndpoint.Port (as the
// kubelet does). Its serving certificate is its own, self-signed and kept in its data directory;
// the node carries the certificate's SHA-256 in the ServingCertAnnotation, written with the
// runner's join credentials when it registers, and the API server accepts exactly that
// certificate (pinning, not a CA chain). The runner in turn accepts only clients presenting a
// certificate signed by the cluster CA for LogClientCommonName, which the API server holds.

// ServingCertAnnotation is the node annotation holding the sha256 (hex) of the runner's log
// serving certificate.
const ServingCertAnnotation = "wasmkube.io/runner-serving-cert-sha256"

// LogClientCommonName is the subject CN of the client certificate the API server presents to
// runners when it fetches logs.
const LogClientCommonName = "wasmkube-apiserver-runner-client"

// servingCert loads the runner's log serving certificate from dir, creating it on first use.
// It returns the certificate and its sha256 in hex.
func servingCert(dir, nodeName, nodeIP string) (tls.Certificate, string, error) {
	certPath, keyPath := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key")
	certPEM, err1 := os.ReadFile(certPath)
	keyPEM, err2 := os.ReadFile(keyPath)
	if err1 != nil || err2 != nil {
		var err error
		if certPEM, keyPEM, err = newSelfSigned(nodeName, nodeIP); err != nil {
			return tls.Certificate{}, "", err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return tls.Certificate{}, "", fmt.Errorf("save serving certificate: %w", err)
		}
		if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
			return tls.Certificate{}, "", fmt.Errorf("save serving certificate: %w", err)
		}
		if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
			return tls.Certificate{}, "", fmt.Errorf("save serving certificate: %w", err)
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("load serving certificate: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return cert, hex.EncodeToString(sum[:]), nil
}

func newSelfSigned(nodeName, nodeIP string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serving certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "system:node:" + nodeName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), DNSNames: []string{nodeName},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(nodeIP); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate serving key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// logServer serves the runner's pods' logs to the API server.
type logServer struct {
	r       *Runner
	clients *x509.CertPool
}

func (s *logServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	select {
	case <-s.r.synced: // r.inf is set before synced is closed
	default:
		http.Error(w, "the runner is starting", http.StatusServiceUnavailable)
		return
	}
	if !s.authorized(req) {
		http.Error(w, "a client certificate for "+LogClientCommonName+" signed by the cluster CA is required", http.StatusUnauthorized)
		return
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/containerLogs/")
	parts := strings.Split(rest, "/")
	if !ok || req.Method != http.MethodGet || len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		http.Error(w, "want GET /containerLogs/{namespace}/{pod}/{container}", http.StatusNotFound)
		return
	}
	p, found := s.r.inf.Get(parts[0], parts[1])
	if !found {
		http.Error(w, fmt.Sprintf("pod %s/%s is not on node %s", parts[0], parts[1], s.r.cfg.NodeName), http.StatusNotFound)
		return
	}
	opts, err := decodeLogOptions(parts[2], req.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if err := s.r.Logs(req.Context(), p, opts, fw); err != nil && !fw.started {
		code := http.StatusInternalServerError
		var se *api.StatusError
		if errors.As(err, &se) {
			code = int(se.Status.Code)
		}
		http.Error(w, err.Error(), code)
	}
}

func (s *logServer) authorized(req *http.Request) bool {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return false
	}
	leaf := req.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range req.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: s.clients, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err == nil && leaf.Subject.CommonName == LogClientCommonName
}

// flushWriter flushes each write, so that followers see lines as they come.
type flushWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	if !f.started {
		f.started = true
		f.w.Header().Set("Content-Type", "text/plain")
	}
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

func encodeLogOptions(o apiserver.LogOptions) url.Values {
	q := url.Values{}
	set := func(k string, v *int64) {
		if v != nil {
			q.Set(k, strconv.FormatInt(*v, 10))
		}
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Previous {
		q.Set("previous", "true")
	}
	if o.Timestamps {
		q.Set("timestamps", "true")
	}
	set("tailLines", o.TailLines)
	set("sinceSeconds", o.SinceSeconds)
	set("limitBytes", o.LimitBytes)
	return q
}

func decodeLogOptions(container string, q url.Values) (apiserver.LogOptions, error) {
	o := apiserver.LogOptions{Container: container, Follow: q.Get("follow") == "true",
		Previous: q.Get("previous") == "true", Timestamps: q.Get("timestamps") == "true"}
	for name, dst := range map[string]**int64{"tailLines": &o.TailLines, "sinceSeconds": &o.SinceSeconds, "limitBytes": &o.LimitBytes} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return o, fmt.Errorf("invalid %s %q", name, v)
			}
			*dst = &n
		}
	}
	return o, nil
}

// RemoteLogs is the API server's LogSource for pods on runners in other processes: it fetches
// the log over HTTPS from the runner at the node's InternalIP and kubelet endpoint port,
// accepting only the certificate pinned in the node's ServingCertAnnotation, and presenting
// ClientCert (issued by the cluster CA for LogClientCommonName).
type RemoteLogs struct {
	// Node returns a node by name (from the API or a cache).
	Node func(ctx context.Context, name string) (*api.Node, error)
	// ClientCert is the API server's client certificate for runners.
	ClientCert tls.Certificate
}

var _ apiserver.LogSource = (*RemoteLogs)(nil)

// Logs streams the container's log from its runner into w.
func (rl *RemoteLogs) Logs(ctx context.Context, pod *api.Pod, opts apiserver.LogOptions, w io.Writer) error {
	unavailable := func(why string) error {
		return api.NewStatusError(http.StatusServiceUnavailable, "ServiceUnavailable",
			fmt.Sprintf("logs of pod %s/%s on node %s are not available: %s", pod.Namespace, pod.Name, pod.Spec.NodeName, why))
	}
	n, err := rl.Node(ctx, pod.Spec.NodeName)
	if err != nil {
		return unavailable(err.Error())
	}
	port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
	pin := n.Annotations[ServingCertAnnotation]
	ip := ""
	for _, a := range n.Status.Addresses {
		if a.Type == api.NodeInternalIP {
			ip = a.Address
			break
		}
	}
	if port == 0 || pin == "" || ip == "" {
		return unavailable("its runner publishes no log endpoint")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion:         tls.VersionTLS12,
		Certificates:       []tls.Certificate{rl.ClientCert},
		InsecureSkipVerify: true, // the chain is not checked: the leaf is pinned below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("runner presented no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if hex.EncodeToString(sum[:]) != pin {
				return fmt.Errorf("runner certificate does not match the node's %s", ServingCertAnnotation)
			}
			return nil
		},
	}}
	defer tr.CloseIdleConnections()
	u := url.URL{Scheme: "https", Host: net.JoinHostPort(ip, strconv.Itoa(int(port))),
		Path:     "/containerLogs/" + pod.Namespace + "/" + pod.Name + "/" + opts.Container,
		RawQuery: encodeLogOptions(opts).Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return unavailable(err.Error())
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return unavailable(err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(b))
		switch resp.StatusCode {
		case http.StatusBadRequest:
			return api.BadRequest(msg)
		case http.StatusNotFound:
			return api.NewStatusError(http.StatusNotFound, api.ReasonNotFound, msg)
		}
		return unavailable(fmt.Sprintf("runner answered %d: %s", resp.StatusCode, msg))
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read logs from node %s: %w", pod.Spec.NodeName, err)
		}
	}
}
