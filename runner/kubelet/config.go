package kubelet

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/client"
)

// RuntimeVersion is the container runtime a runner reports in its node's nodeInfo.
const RuntimeVersion = "wazero v1.12.0"

// KubeletVersion is the kubelet version a runner reports.
const KubeletVersion = "v1.31.0-wk"

// Config configures a Runner. Zero fields take the defaults in their comments.
type Config struct {
	// Client reaches the API server. Required.
	Client *client.Client
	// NodeName is the node's name. Required.
	NodeName string
	// NodeIP is the node's address, reported as its InternalIP and as every pod's hostIP and
	// podIP (pods share the node's address; Services reach them through the proxy). Required.
	NodeIP string
	// Hostname is reported as the node's Hostname address (NodeName).
	Hostname string
	// DataDir holds the compilation cache, the pods' disk volumes and the logs. Required.
	DataDir string
	// CacheDir is wazero's compilation cache (DataDir/cache).
	CacheDir string
	// Labels are put on the node, besides kubernetes.io/hostname, os and arch.
	Labels map[string]string
	// Annotations are put on the node (the proxy publishes its peer port this way).
	Annotations map[string]string
	// MemoryBytes is the node's memory capacity: the budget its pods may use (half the physical
	// memory, or 8 GiB when that cannot be read).
	MemoryBytes int64
	// MaxPods is the node's pods capacity (5000).
	MaxPods int
	// RenewInterval is how often the node's lease is renewed (1s); LeaseDuration is written into
	// it (40s).
	RenewInterval, LeaseDuration time.Duration
	// BackoffBase is the first restart back-off of a crashing container (10s); it doubles on each
	// restart up to BackoffMax (5m), as the kubelet's.
	BackoffBase, BackoffMax time.Duration
	// Modules fetches images named by the module registry (name:tag, name@sha256:...); nil makes
	// such images fail with ImagePullBackOff.
	Modules ModuleSource
	// LogMaxBytes is the size at which a container's log file is rotated (10 MiB); one rotated
	// file is kept.
	LogMaxBytes int64
	// Outbound returns the transport that routes the requests of a guest in namespace for
	// anything but its pod's own ports (the proxy's, which resolves Service names relative to
	// namespace); nil refuses them.
	Outbound func(namespace string) http.RoundTripper
	// LogListen is the address (host:port) of the HTTPS server through which the API server
	// reads the logs of this runner's pods; empty runs none (a runner inside wk server hands its
	// logs to the API server directly).
	LogListen string
	// ClusterCA is the PEM certificate of the cluster CA; the log server accepts only the API
	// server's client certificate signed by it. Required with LogListen.
	ClusterCA []byte
	// DrainDelay is how long a terminating pod keeps serving after it leaves its Services'
	// endpoints, so that every proxy has stopped sending it requests before it stops (1s; never
	// more than the pod's termination grace period). Negative: none.
	DrainDelay time.Duration
	// Workers is how many pods are reconciled at once (8).
	Workers int
	// TrustedGuests compiles guests without termination checks (see sandbox.RuntimeConfig).
	TrustedGuests bool
	// Logger receives what goes wrong in the background (discarded when nil).
	Logger *slog.Logger
}

// Default fills the zero fields of c with their defaults.
func (c *Config) Default() {
	if c.Hostname == "" {
		c.Hostname = c.NodeName
	}
	if c.CacheDir == "" && c.DataDir != "" {
		c.CacheDir = filepath.Join(c.DataDir, "cache")
	}
	if c.MemoryBytes == 0 {
		c.MemoryBytes = physicalMemory() / 2
	}
	if c.MaxPods == 0 {
		c.MaxPods = 5000
	}
	if c.RenewInterval == 0 {
		c.RenewInterval = time.Second
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 40 * time.Second
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = 10 * time.Second
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.LogMaxBytes == 0 {
		c.LogMaxBytes = 10 << 20
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.DrainDelay == 0 {
		c.DrainDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first field of c that cannot be used.
func (c *Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("runner config: Client is required")
	case c.NodeName == "":
		return errors.New("runner config: NodeName is required")
	case net.ParseIP(c.NodeIP) == nil:
		return fmt.Errorf("runner config: NodeIP %q is not an IP address", c.NodeIP)
	case c.DataDir == "":
		return errors.New("runner config: DataDir is required")
	case c.MemoryBytes < 0, c.MaxPods < 0, c.LogMaxBytes < 0, c.Workers < 0:
		return errors.New("runner config: MemoryBytes, MaxPods, LogMaxBytes and Workers must not be negative")
	case c.BackoffBase < 0 || c.BackoffMax < c.BackoffBase:
		return fmt.Errorf("runner config: back-off %v..%v is not a range", c.BackoffBase, c.BackoffMax)
	case c.LogListen != "" && len(c.ClusterCA) == 0:
		return errors.New("runner config: LogListen needs ClusterCA")
	case c.RenewInterval < 0:
		return fmt.Errorf("runner config: RenewInterval %v must not be negative", c.RenewInterval)
	}
	return nil
}

// physicalMemory reads MemTotal from /proc/meminfo; 16 GiB when it cannot.
func physicalMemory() int64 {
	const fallback = 16 << 30
	if runtime.GOOS != "linux" {
		return fallback
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return fallback
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return fallback
}
