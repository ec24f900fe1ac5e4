package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// Defaults of EtcdConfig. The tick and election values are the ones measured in DESIGN.md: a
// single member is ready in 14-100 ms with them, against up to 900 ms with etcd's 100/1000.
const (
	DefaultEtcdName   = "wasmkube"
	DefaultTickMs     = 10
	DefaultElectionMs = 100
)

// EtcdConfig configures an embedded etcd member. Call Default to fill unset fields, then
// Validate; StartEmbedded does both on its own copy.
type EtcdConfig struct {
	// DataDir holds the member's WAL, snapshots and database. Required. Starting again on the
	// same DataDir keeps all data.
	DataDir string
	// Name is the member name (default DefaultEtcdName).
	Name string
	// ClientURL and PeerURL are http URLs (http://127.0.0.1:PORT) the member listens on.
	// Empty means 127.0.0.1 with a free port chosen at start.
	ClientURL, PeerURL string
	// InitialCluster is etcd's initial-cluster string ("name=peerURL,..."). Empty means this
	// member alone. Only single-member clusters are built and tested today; the field is the
	// place where a three-member cluster will be described.
	InitialCluster string
	// ClusterState is "new" (default) or "existing" (joining a running cluster). It is
	// ignored when DataDir already holds a member.
	ClusterState string
	// TickMs and ElectionMs are the raft heartbeat and election timeouts in milliseconds
	// (defaults DefaultTickMs and DefaultElectionMs). ElectionMs must be at least 5*TickMs.
	TickMs, ElectionMs uint
	// QuotaBytes is the backend size at which etcd raises a NOSPACE alarm and goes read-only;
	// 0 means etcd's default of 2 GiB.
	QuotaBytes int64
	// WatchProgressNotifyInterval is how often idle watches get a progress notification
	// (a Bookmark event); 0 means etcd's default of 10 minutes, and etcd raises anything
	// under 100 ms to 100 ms. etcd keeps this value per process, not per member: the last
	// member started with a non-zero value sets it for all.
	WatchProgressNotifyInterval time.Duration
	// UnsafeNoFsync disables fsync. A write that returned may then be lost on a crash: only
	// for tests and benchmarks that do not care. Default false.
	UnsafeNoFsync bool
	// Logger receives etcd's warnings and errors; nil silences etcd entirely.
	Logger *slog.Logger
}

// Default fills the zero fields of c with their defaults. Ports stay unset: StartEmbedded
// picks free ones when it starts.
func (c *EtcdConfig) Default() {
	if c.Name == "" {
		c.Name = DefaultEtcdName
	}
	if c.ClusterState == "" {
		c.ClusterState = embed.ClusterStateFlagNew
	}
	if c.TickMs == 0 {
		c.TickMs = DefaultTickMs
	}
	if c.ElectionMs == 0 {
		c.ElectionMs = DefaultElectionMs
	}
}

// Validate reports the first field of c that etcd would not accept.
func (c *EtcdConfig) Validate() error {
	if c.DataDir == "" {
		return errors.New("etcd config: DataDir is required")
	}
	if c.Name == "" {
		return errors.New("etcd config: Name is required")
	}
	for _, f := range []struct{ name, value string }{{"ClientURL", c.ClientURL}, {"PeerURL", c.PeerURL}} {
		if f.value == "" {
			continue
		}
		if _, err := parseHTTPURL(f.value); err != nil {
			return fmt.Errorf("etcd config: %s: %w", f.name, err)
		}
	}
	if c.ClusterState != embed.ClusterStateFlagNew && c.ClusterState != embed.ClusterStateFlagExisting {
		return fmt.Errorf("etcd config: ClusterState %q: want %q or %q", c.ClusterState,
			embed.ClusterStateFlagNew, embed.ClusterStateFlagExisting)
	}
	if c.TickMs == 0 || c.ElectionMs < 5*c.TickMs {
		return fmt.Errorf("etcd config: ElectionMs %d must be at least 5 times TickMs %d", c.ElectionMs, c.TickMs)
	}
	if c.QuotaBytes < 0 {
		return fmt.Errorf("etcd config: QuotaBytes %d is negative", c.QuotaBytes)
	}
	if c.WatchProgressNotifyInterval < 0 {
		return fmt.Errorf("etcd config: WatchProgressNotifyInterval %v is negative", c.WatchProgressNotifyInterval)
	}
	return nil
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("%q: scheme must be http (TLS is not supported yet)", s)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" || port == "0" {
		return nil, fmt.Errorf("%q: want http://HOST:PORT with a fixed port", s)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("%q: must not have a path", s)
	}
	return u, nil
}

// Embedded is a running embedded etcd member and an in-process client to it.
type Embedded struct {
	etcd      *embed.Etcd
	client    *clientv3.Client
	endpoints []string

	closeOnce sync.Once
	closeErr  error
}

// StartEmbedded starts an etcd member as cfg describes and waits until it serves requests,
// ctx is done, or etcd fails. On error nothing is left running. The caller owns the result
// and must Close it.
func StartEmbedded(ctx context.Context, cfg EtcdConfig) (*Embedded, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.DataDir, err)
	}
	// Free ports are found by binding and releasing them, so another process may take one
	// before etcd binds it; such a race is retried with new ports.
	pickPorts := cfg.ClientURL == "" || cfg.PeerURL == ""
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e, err := startEmbedded(ctx, cfg)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if !pickPorts || !isAddrInUse(err) || ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.DataDir, lastErr)
}

func startEmbedded(ctx context.Context, c EtcdConfig) (*Embedded, error) {
	var err error
	if c.ClientURL == "" {
		if c.ClientURL, err = freeLoopbackURL(); err != nil {
			return nil, err
		}
	}
	if c.PeerURL == "" {
		if c.PeerURL, err = freeLoopbackURL(); err != nil {
			return nil, err
		}
	}
	clientURL, _ := parseHTTPURL(c.ClientURL) // checked by Validate or built above
	peerURL, _ := parseHTTPURL(c.PeerURL)

	ec := embed.NewConfig()
	ec.Name = c.Name
	ec.Dir = c.DataDir
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = c.InitialCluster
	if ec.InitialCluster == "" {
		ec.InitialCluster = ec.InitialClusterFromName(c.Name)
	}
	ec.ClusterState = c.ClusterState
	ec.TickMs = c.TickMs
	ec.ElectionMs = c.ElectionMs
	ec.QuotaBackendBytes = c.QuotaBytes
	if c.WatchProgressNotifyInterval > 0 {
		ec.WatchProgressNotifyInterval = c.WatchProgressNotifyInterval
	}
	ec.UnsafeNoFsync = c.UnsafeNoFsync
	ec.EnableGRPCGateway = false
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(etcdLogger(c.Logger))

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("wait for etcd to be ready: %w", err)
	case <-e.Server.StopNotify():
		e.Close()
		return nil, errors.New("wait for etcd to be ready: server stopped")
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("wait for etcd to be ready: %w", ctx.Err())
	}
	return &Embedded{
		etcd:      e,
		client:    v3client.New(e.Server),
		endpoints: []string{clientURL.String()},
	}, nil
}

func freeLoopbackURL() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return "http://" + addr, nil
}

func isAddrInUse(err error) bool {
	// etcd does not always wrap the listener's error with %w.
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// Client returns the in-process client of the member: calls go straight to the server
// without a network hop. It is shared and owned by e: do not Close it.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Endpoints returns the client URLs other processes can reach the member on.
func (e *Embedded) Endpoints() []string { return append([]string(nil), e.endpoints...) }

// Err reports an error that stopped the running member, such as a full disk.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }

// Close closes the in-process client and its watches, then stops the member and waits for
// it. Stores built on Client should be closed first. Close is idempotent.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		// Watches and clients first: with a live watch, the server's Close waits seconds.
		if err := e.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
			e.closeErr = fmt.Errorf("close etcd client: %w", err)
		}
		e.etcd.Close()
	})
	return e.closeErr
}

// Connect returns a client of an external etcd cluster at endpoints, using tlsCfg when it is
// not nil, after checking within ctx that the cluster answers a read. The caller owns the
// client and must Close it.
func Connect(ctx context.Context, endpoints []string, tlsCfg *tls.Config) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("connect to etcd: no endpoints")
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		TLS:                  tlsCfg,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		MaxCallSendMsgSize:   2 << 20,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	if _, err := c.Get(ctx, registryRoot, clientv3.WithCountOnly()); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	return c, nil
}
