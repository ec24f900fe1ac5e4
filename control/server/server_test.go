package server

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/pki"
)

func start(t *testing.T, dir string, controllers bool) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.APIAddr = "127.0.0.1:0"
	cfg.Controllers = controllers
	cfg.UnsafeNoFsync = true
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, s) })
	return s
}

func stop(t *testing.T, s *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func TestStartWritesKubeconfigAndServes(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, false)
	kc, err := pki.LoadKubeconfig(s.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := kc.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	if creds.Server != s.URL() || creds.Token != s.Bundle().AdminToken {
		t.Fatalf("kubeconfig points at %s with token %q; server %s", creds.Server, creds.Token, s.URL())
	}
	if _, err := os.Stat(dir + "/join-token"); err != nil {
		t.Fatalf("join token: %v", err)
	}
	cfg, err := client.FromKubeconfig(s.KubeconfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := client.Namespaces(c).List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, ns := range list.Items {
		names[ns.Name] = true
	}
	for _, want := range []string{"default", "kube-system", "kube-node-lease", "kube-public"} {
		if !names[want] {
			t.Errorf("namespace %s missing: %v", want, names)
		}
	}
	// The join token authenticates too; a wrong token does not.
	bad, _ := client.New(&client.Config{Server: s.URL(), CAPEM: s.Bundle().CA.CertPEM, Token: "wk-admin.wrong"})
	defer bad.Close()
	if _, err := client.Namespaces(bad).List(context.Background(), client.ListOptions{}); api.CodeOf(err) != 401 {
		t.Fatalf("wrong token: err = %v, want 401", err)
	}
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, false)
	ctx := context.Background()
	if _, err := client.Namespaces(s.Client()).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "keep"}}); err != nil {
		t.Fatal(err)
	}
	caBefore := string(s.Bundle().CA.CertPEM)
	stop(t, s)

	s2 := start(t, dir, false)
	if string(s2.Bundle().CA.CertPEM) != caBefore {
		t.Fatal("CA changed across restarts")
	}
	if _, err := client.Namespaces(s2.Client()).Get(ctx, "keep"); err != nil {
		t.Fatalf("namespace created before restart: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{DataDir: "/tmp/x", APIAddr: "127.0.0.1:0"}, true},
		{"no data dir", Config{APIAddr: "127.0.0.1:0"}, false},
		{"bad addr", Config{DataDir: "/tmp/x", APIAddr: "localhost"}, false},
		{"negative grace", Config{DataDir: "/tmp/x", APIAddr: "127.0.0.1:0", NodeMonitorGracePeriod: -1}, false},
		{"negative event TTL", Config{DataDir: "/tmp/x", APIAddr: "127.0.0.1:0", EventTTL: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.Default()
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

// TestTwoServersShareOneCluster runs a second control plane against the first one's etcd: both
// serve the same objects, and exactly one of them leads the control loops at a time; when the
// leader stops, the other takes over.
func TestTwoServersShareOneCluster(t *testing.T) {
	dir := t.TempDir()
	cfgA := DefaultConfig()
	cfgA.DataDir, cfgA.APIAddr, cfgA.UnsafeNoFsync, cfgA.Identity = dir, "127.0.0.1:0", true, "server-a"
	a, err := Start(context.Background(), cfgA)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, a)
	cfgB := DefaultConfig()
	// Same data dir: the second server shares the cluster's CA and tokens; its data is in A's etcd.
	cfgB.DataDir, cfgB.APIAddr, cfgB.Identity = dir, "127.0.0.1:0", "server-b"
	cfgB.EtcdEndpoints = a.EtcdEndpoints()
	b, err := Start(context.Background(), cfgB)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.Namespaces(a.Client()).Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "shared"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Namespaces(b.Client()).Get(ctx, "shared"); err != nil {
		t.Fatalf("second server does not see the first one's write: %v", err)
	}
	holder := func() string {
		l, err := client.Leases(a.Client()).Namespace(api.NamespaceSystem).Get(ctx, LeaderLeaseName)
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	deadline := time.Now().Add(30 * time.Second)
	for holder() == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	first := holder()
	if first != "server-a" && first != "server-b" {
		t.Fatalf("leader lease held by %q", first)
	}
	if first == "server-b" {
		stop(t, b)
	} else {
		// Stop A's control loops only: its etcd member must keep serving B.
		a.cancel()
		a.wg.Wait()
		a.cancel = nil
		defer stop(t, b)
	}
	want := map[string]string{"server-a": "server-b", "server-b": "server-a"}[first]
	deadline = time.Now().Add(60 * time.Second)
	for holder() != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := holder(); got != want {
		t.Fatalf("after %s stopped, the lease is held by %q, want %q", first, got, want)
	}
}

// TestClientIsInProcess checks that Client is served in memory (net/http's server stamps
// every answer with a Date header; the in-process transport does not), that its clones are
// too, and that Stop ends its open watches as it ends those on connections.
func TestClientIsInProcess(t *testing.T) {
	s := start(t, t.TempDir(), false)
	ctx := context.Background()
	clone, err := s.Client().Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer clone.Close()
	for name, c := range map[string]*client.Client{"client": s.Client(), "clone": clone} {
		resp, err := c.Do(ctx, client.Request{Path: "/api/v1/namespaces/default"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := resp.Header.Get("Date"); d != "" {
			t.Fatalf("%s: the answer has Date %q: it came over the network", name, d)
		}
	}
	w, err := client.Namespaces(s.Client()).Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop(t, s) // fails the test if the watch's handler kept Stop waiting
	for range w.Events() {
	}
	w.Stop()
}

// TestEventTTLReachesTheAPIServer: an Event written through a server with a short EventTTL
// is gone after it.
func TestEventTTLReachesTheAPIServer(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.APIAddr = "127.0.0.1:0"
	cfg.UnsafeNoFsync = true
	cfg.Controllers = false
	cfg.EventTTL = time.Second
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, s) })
	ctx := context.Background()
	events := client.Events(s.Client()).Namespace("default")
	if _, err := events.Create(ctx, &api.Event{
		ObjectMeta:     api.ObjectMeta{Name: "short"},
		InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"},
		Reason:         "Tested", Type: api.EventNormal,
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := events.Get(ctx, "short")
		if api.CodeOf(err) == 404 {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the event outlived its TTL by 30s")
		}
	}
}
