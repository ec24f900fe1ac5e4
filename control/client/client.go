// Package client is the Go client of the wasmkube API: every component that is not the API server
// (controllers, the scheduler, runners, the wk CLI) talks to the cluster through it.
//
// It owns the transport (one HTTP/2-over-TLS http.Client shared by all requests), the raw request
// layer (Client.Do and Client.Stream, which turn non-2xx answers into *api.StatusError), typed
// generic access to every resource (Resource[T]), an untyped path for the CLI (DynamicResource),
// watches (Watcher), discovery, and the event recorder (Recorder). It does not cache: local caches
// kept in sync by watches are the informer package's job, and leader election is the leader
// package's.
//
// Every type here is safe for concurrent use unless its documentation says otherwise.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/pki"
)

// Content types the API accepts and answers with.
const (
	ContentTypeJSON = "application/json"
	// AcceptTable asks for a list or an object as a meta.k8s.io/v1 Table, falling back to JSON.
	AcceptTable = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// Sentinel errors callers branch on.
var (
	// ErrNamespaceRequired is returned when a namespaced resource is addressed by name but no
	// namespace was given on the Resource or the object.
	ErrNamespaceRequired = errors.New("a namespace is required")
	// ErrNoSubresource is returned by a subresource helper on a resource that does not serve it.
	ErrNoSubresource = errors.New("resource has no such subresource")
	// ErrInvalidConfig is wrapped by New for a Config it cannot use.
	ErrInvalidConfig = errors.New("invalid client config")
)

// Config says how to reach and authenticate to an API server.
type Config struct {
	// Server is the API server's URL, https://host:port (http:// is allowed for tests and
	// local proxies).
	Server string
	// CAPEM is the PEM CA bundle to trust; empty means the system roots.
	CAPEM []byte
	// Token is a bearer token sent on every request; empty sends none.
	Token string
	// ClientCertPEM and ClientKeyPEM are an optional client certificate and its key.
	ClientCertPEM, ClientKeyPEM []byte
	// Insecure turns off server certificate checks. Never use it outside tests.
	Insecure bool
	// TLSServerName, if set, is the name checked in the server's certificate instead of the
	// host in Server.
	TLSServerName string
	// UserAgent is sent on every request; empty means "wasmkube/<go version>".
	UserAgent string
	// Timeout bounds each non-streaming request (everything but watches, followed logs and
	// other streams); zero means no bound beyond the caller's context.
	Timeout time.Duration
	// Namespace is the default namespace of the kubeconfig context the config came from. The
	// client never uses it on its own; callers such as the CLI pass it to Namespace.
	Namespace string
	// Handler, when set, serves every request in memory instead of over the network: the API
	// server's own process passes its handler so its controllers skip TLS, syscalls and
	// HTTP/2 framing (see inprocess.go). Server then only names the server (it may be empty)
	// and the TLS fields are unused; Token is sent as over the network.
	Handler http.Handler
}

// FromKubeconfig loads the kubeconfig file at path and returns the config of the named context
// ("" means the current context). Errors wrap those of pki.LoadKubeconfig and Resolve.
func FromKubeconfig(path, context string) (*Config, error) {
	kc, err := pki.LoadKubeconfig(path)
	if err != nil {
		return nil, fmt.Errorf("client config: %w", err)
	}
	creds, err := kc.Resolve(context)
	if err != nil {
		return nil, fmt.Errorf("client config: %w", err)
	}
	return &Config{
		Server:        creds.Server,
		CAPEM:         creds.CAPEM,
		Token:         creds.Token,
		ClientCertPEM: creds.ClientCertPEM,
		ClientKeyPEM:  creds.ClientKeyPEM,
		Insecure:      creds.Insecure,
		TLSServerName: creds.TLSServerName,
		Namespace:     creds.Namespace,
	}, nil
}

// Client talks to one API server. It holds one *http.Client whose connections are shared by
// all requests; it is safe for concurrent use and cheap to share.
type Client struct {
	cfg       Config
	base      *url.URL
	http      *http.Client
	token     string
	userAgent string
	timeout   time.Duration
}

// New builds a client for cfg. The transport speaks HTTP/2 over TLS (HTTP/1.1 if the server does
// not offer h2), keeps many idle connections per host, checks idle HTTP/2 connections with pings
// so that a dead watch is noticed, and puts no timeout on streams. With Config.Handler set, the
// client calls that handler in memory instead (see inprocess.go).
func New(cfg *Config) (*Client, error) {
	if cfg != nil && cfg.Handler != nil {
		return newInProcess(cfg)
	}
	if cfg == nil || cfg.Server == "" {
		return nil, fmt.Errorf("new client: %w: server is not set", ErrInvalidConfig)
	}
	base, err := parseServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	creds := &pki.Credentials{
		Context:       "client",
		Server:        cfg.Server,
		CAPEM:         cfg.CAPEM,
		Insecure:      cfg.Insecure,
		TLSServerName: cfg.TLSServerName,
		Token:         cfg.Token,
		ClientCertPEM: cfg.ClientCertPEM,
		ClientKeyPEM:  cfg.ClientKeyPEM,
	}
	tlsCfg, err := creds.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	tr := &http.Transport{
		Proxy:                 nil, // the API server is reached directly, never through $HTTPS_PROXY
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		HTTP2: &http.HTTP2Config{
			// A watch may be silent for minutes; pings tell a quiet stream from a dead one.
			SendPingTimeout: 30 * time.Second,
			PingTimeout:     15 * time.Second,
		},
	}
	return newClient(cfg, base, tr), nil
}

// parseServer parses a Config's Server URL, which must be http(s) with a host.
func parseServer(server string) (*url.URL, error) {
	base, err := url.Parse(server)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("new client: %w: server %q is not an http(s) URL", ErrInvalidConfig, server)
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	return base, nil
}

// newClient is the Client of cfg at base over the transport rt.
func newClient(cfg *Config, base *url.URL, rt http.RoundTripper) *Client {
	ua := cfg.UserAgent
	if ua == "" {
		ua = "wasmkube/" + runtime.Version()
	}
	return &Client{
		cfg:       *cfg,
		base:      base,
		http:      &http.Client{Transport: rt}, // no Client.Timeout: it would cut watches
		token:     cfg.Token,
		userAgent: ua,
		timeout:   cfg.Timeout,
	}
}

// Clone returns a new client for the same server and credentials with its own connections,
// as a separate process would have (an in-process client's clone is in-process too). Close it
// when done.
func (c *Client) Clone() (*Client, error) {
	cfg := c.cfg
	return New(&cfg)
}

// Close releases idle connections. Requests in flight are not affected.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Server returns the API server's base URL.
func (c *Client) Server() string { return c.base.String() }

// Request is one raw API request.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// Path is the absolute API path, such as /api/v1/namespaces/default/pods.
	Path string
	// Query holds the query parameters, if any.
	Query url.Values
	// Body is the request body, if any.
	Body []byte
	// ContentType is the body's media type; empty means application/json when there is a body.
	ContentType string
	// Accept is the media type asked for; empty means application/json.
	Accept string
}

// Response is a successful (2xx) answer.
type Response struct {
	StatusCode int
	// Proto is the protocol the answer came over ("HTTP/2.0" normally).
	Proto  string
	Header http.Header
	Body   []byte
}

// Do sends req and reads the whole answer. A non-2xx answer is returned as an *api.StatusError
// decoded from the Status body (or synthesized from the code when the body is not a Status), so
// api.IsNotFound and friends work on it. Transport errors are wrapped with the method and path.
// Config.Timeout, if set, bounds the whole exchange.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method(req), req.Path, err)
	}
	return &Response{StatusCode: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: body}, nil
}

// Stream sends req and returns the answer's body unread, for watches and followed logs. No
// timeout applies: the stream lasts until the server ends it, ctx is cancelled, or the caller
// closes the body, which the caller must do. Errors are as for Do.
func (c *Client) Stream(ctx context.Context, req Request) (io.ReadCloser, http.Header, error) {
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	return resp.Body, resp.Header, nil
}

// send performs the exchange; on success the caller owns resp.Body.
func (c *Client) send(ctx context.Context, req Request) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + req.Path
	if len(req.Query) > 0 {
		u.RawQuery = req.Query.Encode()
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method(req), u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method(req), req.Path, err)
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = ContentTypeJSON
		}
		hreq.Header.Set("Content-Type", ct)
	}
	accept := req.Accept
	if accept == "" {
		accept = ContentTypeJSON
	}
	hreq.Header.Set("Accept", accept)
	hreq.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method(req), req.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, statusErrorFrom(resp.StatusCode, data)
	}
	return resp, nil
}

func method(req Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// statusErrorFrom turns a non-2xx answer into a StatusError: the body's Status when it is one,
// otherwise a Status synthesized from the code with the body's text as the message.
func statusErrorFrom(code int, body []byte) *api.StatusError {
	var st api.Status
	if err := json.Unmarshal(body, &st); err == nil && (st.Kind == "Status" || st.Reason != "" || st.Code != 0) {
		if st.Code == 0 {
			st.Code = int32(code)
		}
		if st.Status == "" {
			st.Status = api.StatusFailure
		}
		if st.Reason == "" {
			st.Reason = reasonForCode(code)
		}
		if st.Message == "" {
			st.Message = fmt.Sprintf("the server answered %d %s", code, http.StatusText(code))
		}
		return &api.StatusError{Status: st}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" || !isText(msg) {
		msg = fmt.Sprintf("the server answered %d %s", code, http.StatusText(code))
	}
	return api.NewStatusError(code, reasonForCode(code), msg)
}

func isText(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || (r < 0x20 && r != '\n' && r != '\r' && r != '\t') {
			return false
		}
	}
	return true
}

// reasonForCode is the Status reason Kubernetes' client infers from a bare HTTP code.
func reasonForCode(code int) string {
	switch code {
	case http.StatusBadRequest:
		return api.ReasonBadRequest
	case http.StatusUnauthorized:
		return api.ReasonUnauthorized
	case http.StatusForbidden:
		return api.ReasonForbidden
	case http.StatusNotFound:
		return api.ReasonNotFound
	case http.StatusMethodNotAllowed:
		return api.ReasonMethodNotAllowed
	case http.StatusNotAcceptable:
		return api.ReasonNotAcceptable
	case http.StatusConflict:
		return api.ReasonConflict
	case http.StatusGone:
		return api.ReasonExpired
	case http.StatusRequestEntityTooLarge:
		return api.ReasonRequestEntityLarge
	case http.StatusUnsupportedMediaType:
		return api.ReasonUnsupportedMedia
	case http.StatusUnprocessableEntity:
		return api.ReasonInvalid
	case http.StatusTooManyRequests:
		return api.ReasonTooManyRequests
	case http.StatusServiceUnavailable:
		return api.ReasonServiceUnavailable
	case http.StatusGatewayTimeout:
		return api.ReasonTimeout
	}
	if code >= 500 {
		return api.ReasonInternalError
	}
	return ""
}
