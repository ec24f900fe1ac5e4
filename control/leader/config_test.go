package leader

import (
	"errors"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func TestConfigValidate(t *testing.T) {
	c, err := client.New(&client.Config{Server: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"defaults", func(*Config) {}, true},
		{"short test timings", func(c *Config) {
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = time.Second, 500*time.Millisecond, 50*time.Millisecond
		}, true},
		{"no client", func(c *Config) { c.Client = nil }, false},
		{"no name", func(c *Config) { c.Name = "" }, false},
		{"no identity", func(c *Config) { c.Identity = "" }, false},
		{"renew deadline not below lease duration", func(c *Config) {
			c.LeaseDuration, c.RenewDeadline = 10*time.Second, 10*time.Second
		}, false},
		{"retry period not below renew deadline", func(c *Config) {
			c.RenewDeadline, c.RetryPeriod = 2*time.Second, 2*time.Second
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Client: c, Name: "sched", Identity: "a"}
			tc.mutate(&cfg)
			_, err := New(cfg)
			if tc.ok && err != nil {
				t.Fatalf("New: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestConfigDefault(t *testing.T) {
	var c Config
	c.Default()
	if c.Namespace != api.NamespaceSystem || c.LeaseDuration != 15*time.Second ||
		c.RenewDeadline != 10*time.Second || c.RetryPeriod != 2*time.Second {
		t.Fatalf("Default = %+v", c)
	}
}

func TestSpecTransitions(t *testing.T) {
	e := &Elector{cfg: Config{Identity: "me", LeaseDuration: 1500 * time.Millisecond}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	acquired := api.NewMicroTime(t0.Add(-time.Hour))
	tests := []struct {
		name            string
		prev            *api.Lease
		wantTransitions int32
		wantAcquire     time.Time
	}{
		{"new lease", nil, 0, t0},
		{"renewal keeps acquire time", &api.Lease{Spec: api.LeaseSpec{
			HolderIdentity: api.Ptr("me"), AcquireTime: &acquired, LeaseTransitions: api.Ptr(int32(3))}}, 3, acquired.Time},
		{"takeover counts a transition", &api.Lease{Spec: api.LeaseSpec{
			HolderIdentity: api.Ptr("other"), AcquireTime: &acquired, LeaseTransitions: api.Ptr(int32(3))}}, 4, t0},
		{"released lease counts a transition", &api.Lease{Spec: api.LeaseSpec{
			HolderIdentity: api.Ptr("")}}, 1, t0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := e.spec(tc.prev, t0)
			if got := api.Deref(s.LeaseTransitions, -1); got != tc.wantTransitions {
				t.Errorf("transitions = %d, want %d", got, tc.wantTransitions)
			}
			if !s.AcquireTime.Equal(tc.wantAcquire) {
				t.Errorf("acquireTime = %v, want %v", s.AcquireTime, tc.wantAcquire)
			}
			if got := api.Deref(s.LeaseDurationSeconds, 0); got != 2 {
				t.Errorf("leaseDurationSeconds = %d, want 2 (1.5s rounded up)", got)
			}
			if api.Deref(s.HolderIdentity, "") != "me" || !s.RenewTime.Equal(t0) {
				t.Errorf("holder %q renew %v", api.Deref(s.HolderIdentity, ""), s.RenewTime)
			}
		})
	}
}

func TestExpired(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := &Elector{cfg: Config{Identity: "me"}}
	l := &api.Lease{ObjectMeta: api.ObjectMeta{ResourceVersion: "5"},
		Spec: api.LeaseSpec{HolderIdentity: api.Ptr("other"), LeaseDurationSeconds: api.Ptr(int32(15))}}
	e.observe(l, t0)
	if e.expired(t0.Add(14 * time.Second)) {
		t.Fatal("expired before its duration")
	}
	// Seeing the same revision again does not restart the clock...
	e.observe(l, t0.Add(10*time.Second))
	if !e.expired(t0.Add(15 * time.Second)) {
		t.Fatal("not expired after its duration")
	}
	// ...a new revision does.
	l2 := *l
	l2.ResourceVersion = "6"
	e.observe(&l2, t0.Add(15*time.Second))
	if e.expired(t0.Add(29 * time.Second)) {
		t.Fatal("a renewed lease counted as expired")
	}
}
