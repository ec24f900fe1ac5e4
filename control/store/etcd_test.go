package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestEtcdConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     EtcdConfig
		wantErr string
	}{
		{"defaults", EtcdConfig{DataDir: "d"}, ""},
		{"fixed urls", EtcdConfig{DataDir: "d", ClientURL: "http://127.0.0.1:2379", PeerURL: "http://127.0.0.1:2380"}, ""},
		{"no data dir", EtcdConfig{}, "DataDir"},
		{"https", EtcdConfig{DataDir: "d", ClientURL: "https://127.0.0.1:2379"}, "ClientURL"},
		{"no port", EtcdConfig{DataDir: "d", PeerURL: "http://127.0.0.1"}, "PeerURL"},
		{"bad state", EtcdConfig{DataDir: "d", ClusterState: "old"}, "ClusterState"},
		{"election too short", EtcdConfig{DataDir: "d", TickMs: 100, ElectionMs: 200}, "ElectionMs"},
		{"negative quota", EtcdConfig{DataDir: "d", QuotaBytes: -1}, "QuotaBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Default()
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestRestartKeepsData writes with fsync on, closes the member, starts it again on the same
// data directory and reads everything back.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	key := Key("pods", "default", "web")

	e1, err := StartEmbedded(ctx, EtcdConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := New(e1.Client(), Config{})
	rev, err1 := s1.Create(ctx, key, []byte("v1"))
	_, err2 := s1.Create(ctx, Key("nodes", "", "n1"), []byte("node"))
	s1.Close()
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}

	e2 := startEtcd(t, EtcdConfig{DataDir: dir})
	s2 := newStore(t, e2, Config{})
	got, err := s2.Get(ctx, key)
	if err != nil || string(got.Value) != "v1" || got.Revision != rev {
		t.Fatalf("Get after restart = %+v, %v; want v1 at %d", got, err, rev)
	}
	if n, err := s2.Count(ctx, "/registry/"); err != nil || n != 2 {
		t.Fatalf("Count after restart = %d, %v; want 2", n, err)
	}
	if cur, _ := s2.CurrentRevision(ctx); cur != rev+1 {
		t.Fatalf("revision after restart = %d, want %d", cur, rev+1)
	}
	// Writes go on from where they were.
	if _, err := s2.Update(ctx, key, []byte("v2"), rev); err != nil {
		t.Fatalf("Update after restart: %v", err)
	}
}

func TestStartEmbeddedCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	e, err := StartEmbedded(ctx, EtcdConfig{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err == nil {
		e.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestStartEmbeddedInvalid(t *testing.T) {
	if _, err := StartEmbedded(t.Context(), EtcdConfig{}); err == nil || !strings.Contains(err.Error(), "DataDir") {
		t.Fatalf("err = %v, want one naming DataDir", err)
	}
}

// TestConnect reaches an embedded member over its client URL, as `--etcd-endpoints` would.
func TestConnect(t *testing.T) {
	e := startEtcd(t, EtcdConfig{UnsafeNoFsync: true})
	inProcess := newStore(t, e, Config{})
	key := Key("pods", "default", "web")
	rev := mustCreate(t, inProcess, key, "v1")

	c, err := Connect(t.Context(), e.Endpoints(), nil)
	if err != nil {
		t.Fatalf("Connect %v: %v", e.Endpoints(), err)
	}
	defer c.Close()
	s, err := New(c, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(t.Context(), key)
	if err != nil || got.Revision != rev {
		t.Fatalf("Get over the network = %+v, %v", got, err)
	}
	w := s.Watch(t.Context(), Prefix("pods", ""), rev-1)
	defer w.Stop()
	if ev := nextChange(t, w); ev.Type != Added || ev.KV.Revision != rev {
		t.Fatalf("watch over the network: %+v", ev)
	}
	if _, err := s.List(t.Context(), Prefix("pods", ""), ListOptions{Revision: rev + 100}); !errors.Is(err, ErrFutureRevision) {
		t.Fatalf("errors over the network are mapped too: %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	url, err := freeLoopbackURL() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if c, err := Connect(ctx, []string{url}, nil); err == nil {
		c.Close()
		t.Fatalf("Connect to %s succeeded", url)
	}
	if _, err := Connect(t.Context(), nil, nil); err == nil {
		t.Fatalf("Connect without endpoints succeeded")
	}
}

func TestEmbeddedLogger(t *testing.T) {
	var buf bytes.Buffer
	lg := etcdLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	lg.Info("chatty")
	lg.With(zap.Int("member", 1)).Warn("disk slow", zap.Duration("took", 2*time.Second))
	out := buf.String()
	if strings.Contains(out, "chatty") {
		t.Errorf("info reached slog: %s", out)
	}
	for _, want := range []string{"level=WARN", "msg=\"disk slow\"", "took=2s", "member=1", "component=etcd"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q: %s", want, out)
		}
	}

	// A member with a logger starts and stops without trouble.
	startEtcd(t, EtcdConfig{UnsafeNoFsync: true, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
}
