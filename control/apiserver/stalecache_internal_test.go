package apiserver

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestUpdateFromStaleCache checks that an update reading its current object from a watch
// cache that is behind etcd answers exactly as one reading etcd would.
func TestUpdateFromStaleCache(t *testing.T) {
	s := newTestServer(t, Config{})
	r := s.byName["leases"]
	ctx := context.Background()
	lease := func(name, holder, rv string) *api.Lease {
		return &api.Lease{TypeMeta: api.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"},
			ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: rv},
			Spec:       api.LeaseSpec{HolderIdentity: &holder}}
	}
	// setup stores holder "a" then "b" and leaves the cache holding "a": as if its watch
	// had not yet delivered the second write. It returns both revisions.
	setup := func(t *testing.T, name string) (int64, int64) {
		k := key(r, "default", name)
		b, err := json.Marshal(lease(name, "a", ""))
		if err != nil {
			t.Fatal(err)
		}
		rev1, err := s.store.Create(ctx, k, b)
		if err != nil {
			t.Fatal(err)
		}
		old := b
		b, _ = json.Marshal(lease(name, "b", ""))
		rev2, err := s.store.Update(ctx, k, b, rev1)
		if err != nil {
			t.Fatal(err)
		}
		makeStale(t, r.cache, k, rev2, old, rev1)
		return rev1, rev2
	}
	holder := func(t *testing.T, name string) string {
		kv, err := s.store.Get(ctx, key(r, "default", name))
		if err != nil {
			t.Fatal(err)
		}
		var l api.Lease
		if err := json.Unmarshal(kv.Value, &l); err != nil {
			t.Fatal(err)
		}
		return *l.Spec.HolderIdentity
	}
	for i, tc := range []struct {
		name     string
		holder   string
		rv       func(rev1, rev2 int64) string
		conflict bool
	}{
		{"precondition at the current revision", "c", func(_, rev2 int64) string { return strconv.FormatInt(rev2, 10) }, false},
		{"precondition at the cached revision", "c", func(rev1, _ int64) string { return strconv.FormatInt(rev1, 10) }, true},
		{"no precondition, the cached content", "a", func(int64, int64) string { return "" }, false},
		{"no precondition, new content", "c", func(int64, int64) string { return "" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "l" + strconv.Itoa(i)
			rev1, rev2 := setup(t, name)
			_, err := s.updateObject(ctx, r, "default", name, "", func(api.Object, []byte) (api.Object, error) {
				return lease(name, tc.holder, tc.rv(rev1, rev2)), nil
			}, writeOptions{manager: "test"}, nil)
			switch {
			case tc.conflict && !api.IsConflict(err):
				t.Fatalf("update: %v, want a conflict", err)
			case tc.conflict:
				if got := holder(t, name); got != "b" {
					t.Fatalf("holder %q after a conflict, want b", got)
				}
			case err != nil:
				t.Fatalf("update: %v", err)
			default:
				if got := holder(t, name); got != tc.holder {
					t.Fatalf("holder %q, want %q", got, tc.holder)
				}
			}
		})
	}
}

// makeStale waits until c holds revision rev of key k, then puts the older value back, as
// if the cache had not yet seen the newer write.
func makeStale(t *testing.T, c *watchCache, k string, rev int64, old []byte, oldRev int64) {
	t.Helper()
	timeout := time.After(patience)
	for {
		c.mu.RLock()
		o, notify := c.state[k], c.notify
		c.mu.RUnlock()
		if o != nil && o.rev == rev {
			break
		}
		select {
		case <-notify:
		case <-timeout:
			t.Fatal("watch cache did not see the update")
		}
	}
	c.mu.Lock()
	c.state[k] = &cachedObject{r: c.r, key: k, value: old, rev: oldRev}
	c.mu.Unlock()
}

// TestCreateInNamespaceBeingDeleted checks that a namespace this server was asked to delete
// is read from etcd, not from a watch cache that may still show it active.
func TestCreateInNamespaceBeingDeleted(t *testing.T) {
	s := newTestServer(t, Config{})
	nsr, pods := s.byName["namespaces"], s.byName["pods"]
	ctx := context.Background()
	for i, tc := range []struct {
		name      string
		deleting  bool
		forbidden bool
	}{
		{"cache trusted", false, false},
		{"asked to be deleted", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "team" + strconv.Itoa(i)
			k := key(nsr, "", ns)
			active := []byte(`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"` + ns + `"},"status":{"phase":"Active"}}`)
			rev1, err := s.store.Create(ctx, k, active)
			if err != nil {
				t.Fatal(err)
			}
			rev2, err := s.store.Update(ctx, k, []byte(`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"`+ns+`"},"status":{"phase":"Terminating"}}`), rev1)
			if err != nil {
				t.Fatal(err)
			}
			makeStale(t, nsr.cache, k, rev2, active, rev1)
			if tc.deleting {
				s.namespaceDeleting(ns)
			}
			err = s.checkNamespace(ctx, pods, ns, "p")
			if got := api.ReasonOf(err) == api.ReasonForbidden; got != tc.forbidden {
				t.Fatalf("checkNamespace: %v, want forbidden %v", err, tc.forbidden)
			}
		})
	}
}
