package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

var (
	// ErrNotFound is wrapped by Resolve when a context, cluster or user
	// named in a kubeconfig does not exist in it.
	ErrNotFound = errors.New("not found")
	// ErrIncomplete is wrapped by Resolve when a field it needs is empty.
	ErrIncomplete = errors.New("is not set")
	// ErrUnsupported is wrapped by Resolve for kubeconfig features wasmkube
	// does not implement (exec and auth-provider plugins, basic auth).
	ErrUnsupported = errors.New("is not supported by wasmkube")
)

// Kubeconfig is a kubeconfig file (apiVersion v1, kind Config) in the shape
// kubectl reads and writes. It holds the fields wasmkube uses; other fields
// of a kubectl-written file are ignored on load and dropped on write, except
// top-level preferences and extensions and user exec/auth-provider blocks,
// which survive a round trip.
type Kubeconfig struct {
	Kind           string          `json:"kind,omitempty"`
	APIVersion     string          `json:"apiVersion,omitempty"`
	Preferences    json.RawMessage `json:"preferences,omitempty"`
	Clusters       []NamedCluster  `json:"clusters"`
	Users          []NamedUser     `json:"users"`
	Contexts       []NamedContext  `json:"contexts"`
	CurrentContext string          `json:"current-context"`
	Extensions     json.RawMessage `json:"extensions,omitempty"`

	// path is the file the config was loaded from or written to; errors name
	// it, and relative file references resolve against its directory.
	path string
}

// NamedCluster is an entry of Kubeconfig.Clusters.
type NamedCluster struct {
	Name    string  `json:"name"`
	Cluster Cluster `json:"cluster"`
}

// Cluster says where an API server is and how to trust it.
type Cluster struct {
	// Server is the API server URL, e.g. https://127.0.0.1:6443.
	Server string `json:"server"`
	// TLSServerName, if set, is the name checked in the server's certificate
	// instead of the host in Server.
	TLSServerName string `json:"tls-server-name,omitempty"`
	// InsecureSkipTLSVerify turns off server certificate checks.
	InsecureSkipTLSVerify bool `json:"insecure-skip-tls-verify,omitempty"`
	// CertificateAuthority is a path to a PEM CA file; relative paths are
	// relative to the kubeconfig file.
	CertificateAuthority string `json:"certificate-authority,omitempty"`
	// CertificateAuthorityData is PEM CA data (base64 in the file); it takes
	// precedence over CertificateAuthority.
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
}

// NamedUser is an entry of Kubeconfig.Users.
type NamedUser struct {
	Name string `json:"name"`
	User User   `json:"user"`
}

// User holds credentials (kubectl's AuthInfo). Data fields take precedence
// over the matching file fields; file paths are relative to the kubeconfig.
type User struct {
	ClientCertificate     string `json:"client-certificate,omitempty"`
	ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
	ClientKey             string `json:"client-key,omitempty"`
	ClientKeyData         []byte `json:"client-key-data,omitempty"`
	Token                 string `json:"token,omitempty"`
	TokenFile             string `json:"tokenFile,omitempty"`
	Username              string `json:"username,omitempty"`
	Password              string `json:"password,omitempty"`
	// Exec and AuthProvider are kept only so Resolve can refuse them by name
	// rather than connect without credentials.
	Exec         json.RawMessage `json:"exec,omitempty"`
	AuthProvider json.RawMessage `json:"auth-provider,omitempty"`
}

// NamedContext is an entry of Kubeconfig.Contexts.
type NamedContext struct {
	Name    string  `json:"name"`
	Context Context `json:"context"`
}

// Context pairs a cluster with a user and a default namespace.
type Context struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

// Credentials is what a client needs to talk to a cluster, resolved from a
// kubeconfig context with all file references read.
type Credentials struct {
	// Context is the name of the resolved context.
	Context string
	// Server is the API server URL.
	Server string
	// CAPEM is the PEM CA bundle to trust; empty means the system roots.
	CAPEM []byte
	// Insecure turns off server certificate checks.
	Insecure bool
	// TLSServerName overrides the name checked in the server certificate.
	TLSServerName string
	// Token is a bearer token; empty if the user has none.
	Token string
	// ClientCertPEM and ClientKeyPEM are a client certificate and its key;
	// both empty or both set.
	ClientCertPEM, ClientKeyPEM []byte
	// Namespace is the context's namespace, "default" when it sets none.
	Namespace string
}

// AdminKubeconfig returns a kubeconfig with one cluster, user and context,
// all named clusterName, which is also the current context: it trusts caPEM,
// connects to serverURL and presents token.
func AdminKubeconfig(clusterName, serverURL string, caPEM []byte, token string) *Kubeconfig {
	return &Kubeconfig{
		Kind:       "Config",
		APIVersion: "v1",
		Clusters: []NamedCluster{{Name: clusterName, Cluster: Cluster{
			Server:                   serverURL,
			CertificateAuthorityData: caPEM,
		}}},
		Users:          []NamedUser{{Name: clusterName, User: User{Token: token}}},
		Contexts:       []NamedContext{{Name: clusterName, Context: Context{Cluster: clusterName, User: clusterName}}},
		CurrentContext: clusterName,
	}
}

// WriteKubeconfig writes kc to path as YAML, mode 0600, atomically,
// creating the parent directory (mode 0700) if needed.
func WriteKubeconfig(path string, kc *Kubeconfig) error {
	data, err := yaml.Marshal(kc)
	if err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	kc.path = path
	return nil
}

// LoadKubeconfig reads a kubeconfig file. A missing file is an error that
// wraps fs.ErrNotExist; an empty file is an empty config. Unknown fields are
// ignored, as kubectl does.
func LoadKubeconfig(path string) (*Kubeconfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	kc := &Kubeconfig{}
	if err := yaml.Unmarshal(data, kc); err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	if kc.Kind != "" && kc.Kind != "Config" {
		return nil, fmt.Errorf("load kubeconfig %s: kind is %q, want \"Config\"", path, kc.Kind)
	}
	if kc.APIVersion != "" && kc.APIVersion != "v1" {
		return nil, fmt.Errorf("load kubeconfig %s: apiVersion is %q, want \"v1\"", path, kc.APIVersion)
	}
	kc.path = path
	return kc, nil
}

// Resolve returns the credentials of the named context; "" means the
// current context. Errors name the kubeconfig file and the missing or bad
// field, and wrap ErrNotFound, ErrIncomplete or ErrUnsupported where those
// apply, e.g. `kubeconfig /x/y: context "foo" not found`.
func (kc *Kubeconfig) Resolve(context string) (*Credentials, error) {
	name := context
	if name == "" {
		name = kc.CurrentContext
		if name == "" {
			return nil, kc.errorf("current-context %w", ErrIncomplete)
		}
	}
	ctx, ok := find(kc.Contexts, name, func(c NamedContext) string { return c.Name })
	if !ok {
		return nil, kc.errorf("context %q %w", name, ErrNotFound)
	}
	if ctx.Context.Cluster == "" {
		return nil, kc.errorf("context %q: cluster %w", name, ErrIncomplete)
	}
	cl, ok := find(kc.Clusters, ctx.Context.Cluster, func(c NamedCluster) string { return c.Name })
	if !ok {
		return nil, kc.errorf("context %q: cluster %q %w", name, ctx.Context.Cluster, ErrNotFound)
	}
	creds := &Credentials{
		Context:       name,
		Server:        cl.Cluster.Server,
		Insecure:      cl.Cluster.InsecureSkipTLSVerify,
		TLSServerName: cl.Cluster.TLSServerName,
		Namespace:     ctx.Context.Namespace,
	}
	if creds.Namespace == "" {
		creds.Namespace = "default"
	}
	if err := kc.resolveCluster(creds, cl); err != nil {
		return nil, err
	}
	if ctx.Context.User == "" {
		return creds, nil // anonymous
	}
	u, ok := find(kc.Users, ctx.Context.User, func(u NamedUser) string { return u.Name })
	if !ok {
		return nil, kc.errorf("context %q: user %q %w", name, ctx.Context.User, ErrNotFound)
	}
	if err := kc.resolveUser(creds, u); err != nil {
		return nil, err
	}
	return creds, nil
}

func (kc *Kubeconfig) resolveCluster(creds *Credentials, cl NamedCluster) error {
	if cl.Cluster.Server == "" {
		return kc.errorf("cluster %q: server %w", cl.Name, ErrIncomplete)
	}
	u, err := url.Parse(cl.Cluster.Server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return kc.errorf("cluster %q: server %q is not an http(s) URL", cl.Name, cl.Cluster.Server)
	}
	switch {
	case len(cl.Cluster.CertificateAuthorityData) > 0:
		creds.CAPEM = cl.Cluster.CertificateAuthorityData
	case cl.Cluster.CertificateAuthority != "":
		data, err := os.ReadFile(kc.abs(cl.Cluster.CertificateAuthority))
		if err != nil {
			return kc.errorf("cluster %q: certificate-authority: %w", cl.Name, err)
		}
		creds.CAPEM = data
	}
	if creds.Insecure && len(creds.CAPEM) > 0 {
		// kubectl refuses this combination too: it is almost always a mistake.
		return kc.errorf("cluster %q: insecure-skip-tls-verify and a certificate authority are both set", cl.Name)
	}
	return nil
}

func (kc *Kubeconfig) resolveUser(creds *Credentials, u NamedUser) error {
	switch {
	case len(u.User.Exec) > 0:
		return kc.errorf("user %q: exec plugin %w", u.Name, ErrUnsupported)
	case len(u.User.AuthProvider) > 0:
		return kc.errorf("user %q: auth-provider %w", u.Name, ErrUnsupported)
	case u.User.Username != "" || u.User.Password != "":
		return kc.errorf("user %q: basic auth (username/password) %w", u.Name, ErrUnsupported)
	}
	switch {
	case u.User.Token != "":
		creds.Token = u.User.Token
	case u.User.TokenFile != "":
		data, err := os.ReadFile(kc.abs(u.User.TokenFile))
		if err != nil {
			return kc.errorf("user %q: tokenFile: %w", u.Name, err)
		}
		creds.Token = strings.TrimSpace(string(data))
	}
	cert, err := kc.dataOrFile(u.User.ClientCertificateData, u.User.ClientCertificate)
	if err != nil {
		return kc.errorf("user %q: client-certificate: %w", u.Name, err)
	}
	key, err := kc.dataOrFile(u.User.ClientKeyData, u.User.ClientKey)
	if err != nil {
		return kc.errorf("user %q: client-key: %w", u.Name, err)
	}
	switch {
	case len(cert) > 0 && len(key) == 0:
		return kc.errorf("user %q: client-key %w (client-certificate is set)", u.Name, ErrIncomplete)
	case len(key) > 0 && len(cert) == 0:
		return kc.errorf("user %q: client-certificate %w (client-key is set)", u.Name, ErrIncomplete)
	}
	creds.ClientCertPEM, creds.ClientKeyPEM = cert, key
	return nil
}

func (kc *Kubeconfig) dataOrFile(data []byte, path string) ([]byte, error) {
	if len(data) > 0 || path == "" {
		return data, nil
	}
	return os.ReadFile(kc.abs(path))
}

// abs resolves a path in the kubeconfig relative to the file's directory,
// as kubectl does.
func (kc *Kubeconfig) abs(p string) string {
	if filepath.IsAbs(p) || kc.path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(kc.path), p)
}

func (kc *Kubeconfig) errorf(format string, args ...any) error {
	if kc.path == "" {
		return fmt.Errorf("kubeconfig: "+format, args...)
	}
	return fmt.Errorf("kubeconfig %s: "+format, append([]any{kc.path}, args...)...)
}

func find[T any](items []T, name string, nameOf func(T) string) (T, bool) {
	for _, it := range items {
		if nameOf(it) == name {
			return it, true
		}
	}
	var zero T
	return zero, false
}

// TLSConfig returns a client TLS configuration for the credentials: TLS 1.2
// or later, trusting CAPEM (or the system roots when it is empty), checking
// TLSServerName if set, and presenting the client certificate if any. It
// sets no NextProtos, so it suits both HTTP/1.1 and an http.Transport with
// ForceAttemptHTTP2.
func (c *Credentials) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.TLSServerName,
		InsecureSkipVerify: c.Insecure,
	}
	if len(c.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CAPEM) {
			return nil, fmt.Errorf("client TLS for context %q: certificate authority: %w", c.Context, ErrNoPEM)
		}
		cfg.RootCAs = pool
	}
	if len(c.ClientCertPEM) > 0 {
		pair, err := tls.X509KeyPair(c.ClientCertPEM, c.ClientKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("client TLS for context %q: client certificate: %w", c.Context, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// ResolvePath returns the kubeconfig file a client should read: flag if it
// is set; otherwise the first existing entry of the $KUBECONFIG path list
// (env may be nil); otherwise home/.wk/config, then home/.kube/config, if
// they exist. It returns "" when there is none. Unlike kubectl it does not
// merge several files.
func ResolvePath(flag string, env func(string) string, home string) string {
	if flag != "" {
		return flag
	}
	var candidates []string
	if env != nil {
		for _, p := range filepath.SplitList(env("KUBECONFIG")) {
			if p != "" {
				candidates = append(candidates, p)
			}
		}
	}
	if home != "" {
		candidates = append(candidates,
			filepath.Join(home, ".wk", "config"),
			filepath.Join(home, ".kube", "config"))
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}
