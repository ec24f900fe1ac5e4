package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Lease reuse, as Kubernetes' storage does it (its leaseManager): a lease is granted for the
// TTL plus a reuse window, and every write with the same TTL inside that window attaches to
// it, so thousands of expiring keys share a few leases instead of costing one each. A key
// thus lives between its TTL and its TTL plus the window.
const (
	// leaseReuseMax caps the reuse window.
	leaseReuseMax = 60 * time.Second
	// leaseReuseFraction of the TTL is the window for TTLs under 20 minutes.
	leaseReuseFraction = 0.05
	// leaseMaxKeys bounds the keys one lease is handed out to, so that its expiry deletes
	// a bounded batch in one etcd transaction.
	leaseMaxKeys = 1000
)

// WriteOption modifies a write of Create, Update or GuaranteedUpdate.
type WriteOption func(*writeOptions)

type writeOptions struct {
	ttl time.Duration
}

// WithTTL makes the written key expire ttl (rounded up to whole seconds) after the write,
// or up to one reuse window later (at most a minute): etcd then deletes it and watchers see
// a Deleted event. Every write of the key must carry it: a write without a TTL makes the
// key permanent again. ttl <= 0 means no expiry.
func WithTTL(ttl time.Duration) WriteOption {
	return func(o *writeOptions) { o.ttl = ttl }
}

func buildWriteOptions(opts []WriteOption) writeOptions {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// ttlSeconds is ttl rounded up to whole seconds, 0 for no expiry.
func ttlSeconds(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return int64((ttl + time.Second - 1) / time.Second)
}

// reuseWindow is how long a lease for ttl seconds is reused, in seconds.
func reuseWindow(ttl int64) int64 {
	w := int64(leaseReuseFraction * float64(ttl))
	return min(w, int64(leaseReuseMax/time.Second))
}

// grantedLease is the lease last granted for one TTL.
type grantedLease struct {
	id      clientv3.LeaseID
	expires time.Time // when etcd expires it, as seen from here
	keys    int       // writes it was handed out to
}

// leases hands out etcd leases for TTLs, reusing them within their window. Safe for
// concurrent use.
type leases struct {
	client *clientv3.Client
	now    func() time.Time

	mu    sync.Mutex
	byTTL map[int64]*grantedLease
}

func newLeases(client *clientv3.Client) *leases {
	return &leases{client: client, now: time.Now, byTTL: make(map[int64]*grantedLease)}
}

// get returns a lease under which a key written now lives at least ttl seconds and at most
// ttl plus the reuse window.
func (l *leases) get(ctx context.Context, ttl int64) (clientv3.LeaseID, error) {
	now := l.now()
	window := reuseWindow(ttl)
	l.mu.Lock()
	defer l.mu.Unlock()
	if g := l.byTTL[ttl]; g != nil && g.keys < leaseMaxKeys &&
		now.Add(time.Duration(ttl)*time.Second).Before(g.expires) &&
		now.Add(time.Duration(ttl+window)*time.Second).After(g.expires) {
		g.keys++
		return g.id, nil
	}
	resp, err := l.client.Grant(ctx, ttl+window)
	if err != nil {
		return 0, fmt.Errorf("grant a lease of %ds: %w", ttl+window, err)
	}
	l.byTTL[ttl] = &grantedLease{id: resp.ID, expires: now.Add(time.Duration(resp.TTL) * time.Second), keys: 1}
	return resp.ID, nil
}

// forget drops id from reuse, after etcd reported it gone (revoked, or lost with etcd's
// data).
func (l *leases) forget(id clientv3.LeaseID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ttl, g := range l.byTTL {
		if g.id == id {
			delete(l.byTTL, ttl)
		}
	}
}

// putOptions returns the OpPut options of a write with o: a lease when o has a TTL.
func (s *Store) putOptions(ctx context.Context, o writeOptions) ([]clientv3.OpOption, clientv3.LeaseID, error) {
	ttl := ttlSeconds(o.ttl)
	if ttl == 0 {
		return nil, 0, nil
	}
	id, err := s.leases.get(ctx, ttl)
	if err != nil {
		return nil, 0, err
	}
	return []clientv3.OpOption{clientv3.WithLease(id)}, id, nil
}

// txnWithLease runs the transaction txn builds around a put with o's lease. Should etcd no
// longer know a reused lease, it forgets it and tries once more with a new one.
func (s *Store) txnWithLease(ctx context.Context, o writeOptions, txn func(put ...clientv3.OpOption) (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error) {
	for attempt := 0; ; attempt++ {
		putOpts, id, err := s.putOptions(ctx, o)
		if err != nil {
			return nil, err
		}
		resp, err := txn(putOpts...)
		if id != 0 && attempt == 0 && errors.Is(err, rpctypes.ErrLeaseNotFound) {
			s.leases.forget(id)
			continue
		}
		return resp, err
	}
}
