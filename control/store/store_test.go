package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
)

func TestKeyPrefix(t *testing.T) {
	tests := []struct {
		name                     string
		resource, namespace, obj string
		wantKey, wantPrefix      string
	}{
		{"namespaced", "pods", "default", "web-1", "/registry/pods/default/web-1", "/registry/pods/default/"},
		{"cluster-scoped", "nodes", "", "n1", "/registry/nodes/n1", "/registry/nodes/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.resource, tt.namespace, tt.obj); got != tt.wantKey {
				t.Errorf("Key = %q, want %q", got, tt.wantKey)
			}
			if got := Prefix(tt.resource, tt.namespace); got != tt.wantPrefix {
				t.Errorf("Prefix = %q, want %q", got, tt.wantPrefix)
			}
		})
	}
}

func TestCRUD(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	key := Key("pods", "default", "web")

	rev1 := mustCreate(t, s, key, "v1")
	if _, err := s.Create(ctx, key, []byte("again")); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: err = %v, want ErrExists", err)
	}
	got, err := s.Get(ctx, key)
	if err != nil || string(got.Value) != "v1" || got.Revision != rev1 || got.Key != key {
		t.Fatalf("Get = %+v, %v; want v1 at %d", got, err, rev1)
	}
	rev2, err := s.Update(ctx, key, []byte("v2"), rev1)
	if err != nil || rev2 <= rev1 {
		t.Fatalf("Update at current revision = %d, %v", rev2, err)
	}

	missing := Key("pods", "default", "missing")
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"update stale revision", func() error { _, err := s.Update(ctx, key, []byte("x"), rev1); return err }, ErrConflict},
		{"update missing", func() error { _, err := s.Update(ctx, missing, []byte("x"), 0); return err }, ErrNotFound},
		{"update missing with revision", func() error { _, err := s.Update(ctx, missing, []byte("x"), rev1); return err }, ErrNotFound},
		{"delete stale revision", func() error { _, _, err := s.Delete(ctx, key, rev1); return err }, ErrConflict},
		{"delete missing", func() error { _, _, err := s.Delete(ctx, missing, 0); return err }, ErrNotFound},
		{"get missing", func() error { _, err := s.Get(ctx, missing); return err }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != ErrNotFound && !bytes.Contains([]byte(err.Error()), []byte(key)) {
				t.Errorf("error %q does not name the key %s", err, key)
			}
		})
	}

	rev3, err := s.Update(ctx, key, []byte("v3"), 0)
	if err != nil || rev3 <= rev2 {
		t.Fatalf("unconditional Update = %d, %v", rev3, err)
	}
	old, delRev, err := s.Delete(ctx, key, rev3)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if string(old.Value) != "v3" || old.Revision != rev3 || delRev <= rev3 {
		t.Fatalf("Delete = %+v at %d, want v3 at %d deleted later", old, delRev, rev3)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	rev4 := mustCreate(t, s, key, "again")
	if _, _, err := s.Delete(ctx, key, 0); err != nil {
		t.Fatalf("unconditional Delete of the object created at %d: %v", rev4, err)
	}
}

func TestTooLarge(t *testing.T) {
	e := startEtcd(t, EtcdConfig{UnsafeNoFsync: true})
	small := newStore(t, e, Config{MaxValueBytes: 10})
	full := newStore(t, e, Config{})
	ctx := t.Context()
	key := Key("configmaps", "default", "big")

	tests := []struct {
		name  string
		s     *Store
		value []byte
	}{
		{"over MaxValueBytes", small, make([]byte, 11)},
		// Within MaxValueBytes but, with the key, over etcd's own request limit.
		{"over etcd request limit", full, make([]byte, DefaultMaxValueBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Create(ctx, key, tt.value); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Create: err = %v, want ErrTooLarge", err)
			}
		})
	}
	if _, err := small.Create(ctx, key, make([]byte, 10)); err != nil {
		t.Fatalf("Create at the limit: %v", err)
	}
	if _, err := small.Update(ctx, key, make([]byte, 11), 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Update: err = %v, want ErrTooLarge", err)
	}
	_, err := small.GuaranteedUpdate(ctx, key, func(KV) ([]byte, error) { return make([]byte, 11), nil })
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("GuaranteedUpdate: err = %v, want ErrTooLarge", err)
	}
}

func TestGuaranteedUpdateHammer(t *testing.T) {
	s := newTestStore(t)
	key := Key("counters", "", "hits")
	mustCreate(t, s, key, "0")

	const goroutines, increments = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			for range increments {
				_, err := s.GuaranteedUpdate(context.Background(), key, func(cur KV) ([]byte, error) {
					n, err := strconv.Atoi(string(cur.Value))
					if err != nil {
						return nil, err
					}
					return []byte(strconv.Itoa(n + 1)), nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("GuaranteedUpdate: %v", err)
	}
	got, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(goroutines * increments); string(got.Value) != want {
		t.Fatalf("counter = %s, want %s", got.Value, want)
	}
}

func TestGuaranteedUpdate(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	key := Key("pods", "default", "web")
	rev := mustCreate(t, s, key, "v1")
	errBoom := errors.New("boom")

	tests := []struct {
		name      string
		key       string
		try       func(KV) ([]byte, error)
		wantErr   error
		wantValue string
		wantWrite bool
	}{
		{"same bytes writes nothing", key, func(cur KV) ([]byte, error) { return []byte("v1"), nil }, nil, "v1", false},
		{"tryUpdate error passes through", key, func(KV) ([]byte, error) { return nil, errBoom }, errBoom, "", false},
		{"missing key", Key("pods", "default", "missing"), func(KV) ([]byte, error) { return []byte("x"), nil }, ErrNotFound, "", false},
		{"writes new bytes", key, func(cur KV) ([]byte, error) { return append(bytes.Clone(cur.Value), '+'), nil }, nil, "v1+", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.CurrentRevision(ctx)
			got, err := s.GuaranteedUpdate(ctx, tt.key, tt.try)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			after, _ := s.CurrentRevision(ctx)
			if wrote := after != before; wrote != tt.wantWrite {
				t.Errorf("wrote = %v (revision %d -> %d), want %v", wrote, before, after, tt.wantWrite)
			}
			if err != nil {
				return
			}
			if string(got.Value) != tt.wantValue {
				t.Errorf("value = %q, want %q", got.Value, tt.wantValue)
			}
			if cur, _ := s.Get(ctx, key); cur.Revision != got.Revision || !bytes.Equal(cur.Value, got.Value) {
				t.Errorf("returned %+v, stored %+v", got, cur)
			}
			if !tt.wantWrite && got.Revision != rev {
				t.Errorf("revision = %d, want unchanged %d", got.Revision, rev)
			}
		})
	}
}

func TestCountAndCurrentRevision(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	var last int64
	for i := range 3 {
		last = mustCreate(t, s, Key("pods", "a", fmt.Sprint(i)), "x")
	}
	mustCreate(t, s, Key("pods", "ab", "0"), "x") // a namespace sharing "a" as a prefix
	last = mustCreate(t, s, Key("nodes", "", "n1"), "x")

	tests := []struct {
		prefix string
		want   int64
	}{
		{Prefix("pods", "a"), 3},
		{Prefix("pods", ""), 4},
		{Prefix("nodes", ""), 1},
		{Prefix("services", ""), 0},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			if got, err := s.Count(ctx, tt.prefix); err != nil || got != tt.want {
				t.Fatalf("Count = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := s.Count(ctx, "/registry/pods/a"); err == nil {
		t.Errorf("Count of a prefix without a trailing slash: no error")
	}
	if rev, err := s.CurrentRevision(ctx); err != nil || rev != last {
		t.Fatalf("CurrentRevision = %d, %v; want %d", rev, err, last)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"defaults", Config{}, false},
		{"negative limit", Config{MaxValueBytes: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Default()
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
