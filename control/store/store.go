// Package store owns all access to etcd: it starts an embedded member (or connects to an
// external cluster) and offers byte-level reads, writes, lists, watches and compaction over
// keys of the form /registry/<resource>/[<namespace>/]<name>.
//
// A value is opaque bytes, stored exactly as given; decoding, validation and defaulting
// belong to the API server. A resourceVersion is an etcd revision: an object's is the
// revision of its last write (ModRevision), a list's or watch's is a store-wide revision.
// Nothing else in wasmkube talks to etcd.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Errors the store's methods wrap, together with the key or prefix concerned; test for them
// with errors.Is.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("already exists")
	// ErrConflict: the key's revision is not the expected one (the API's 409 Conflict).
	ErrConflict = errors.New("resource version conflict")
	// ErrCompacted: the requested revision has been compacted away (the API's 410 Gone).
	ErrCompacted = errors.New("revision compacted")
	// ErrFutureRevision: the requested revision is newer than the store's.
	ErrFutureRevision = errors.New("revision is in the future")
	// ErrTooLarge: the value is over Config.MaxValueBytes or etcd's request limit.
	ErrTooLarge = errors.New("value too large")
	// ErrInvalidContinue: a continue token is malformed, for another prefix, or combined
	// with a different revision.
	ErrInvalidContinue = errors.New("invalid continue token")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("store closed")
)

const registryRoot = "/registry/"

// Key returns the key of an object: /registry/<resource>/<namespace>/<name>, or
// /registry/<resource>/<name> when namespace is "" (cluster-scoped resources).
func Key(resource, namespace, name string) string {
	if namespace == "" {
		return registryRoot + resource + "/" + name
	}
	return registryRoot + resource + "/" + namespace + "/" + name
}

// Prefix returns the prefix under which the objects of resource in namespace live, ending in
// "/". Namespace "" means all namespaces (or a cluster-scoped resource).
func Prefix(resource, namespace string) string {
	if namespace == "" {
		return registryRoot + resource + "/"
	}
	return registryRoot + resource + "/" + namespace + "/"
}

// KV is a key and its value at a revision. Value is shared with other readers (watchers of
// the same write see the same bytes): treat it as read-only.
type KV struct {
	Key   string
	Value []byte
	// Revision is the revision of the key's last write (its resourceVersion).
	Revision int64
}

// DefaultMaxValueBytes is etcd's default request limit, 1.5 MiB. The API server enforces
// its own, smaller, object limit.
const DefaultMaxValueBytes = 3 << 19

// Config configures a Store. Call Default to fill unset fields; New does so on its copy.
type Config struct {
	// MaxValueBytes bounds the values Create, Update and GuaranteedUpdate write
	// (default DefaultMaxValueBytes). Larger values fail with ErrTooLarge before reaching etcd.
	MaxValueBytes int
	// Logger receives the compactor's warnings; nil discards them.
	Logger *slog.Logger
}

// Default fills the zero fields of c with their defaults.
func (c *Config) Default() {
	if c.MaxValueBytes == 0 {
		c.MaxValueBytes = DefaultMaxValueBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a field of c that cannot be used.
func (c *Config) Validate() error {
	if c.MaxValueBytes <= 0 {
		return fmt.Errorf("store config: MaxValueBytes %d must be positive", c.MaxValueBytes)
	}
	return nil
}

// Store reads and writes opaque values in etcd. All its methods are safe for concurrent use.
// Close it (which stops its watchers) before closing the client.
type Store struct {
	client   *clientv3.Client
	maxValue int
	log      *slog.Logger
	leases   *leases

	mu       sync.Mutex
	closed   bool
	watchers map[*Watcher]struct{}
}

// New returns a Store over client. The caller keeps owning client.
func New(client *clientv3.Client, cfg Config) (*Store, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, errors.New("new store: nil etcd client")
	}
	return &Store{
		client:   client,
		maxValue: cfg.MaxValueBytes,
		log:      cfg.Logger,
		leases:   newLeases(client),
		watchers: make(map[*Watcher]struct{}),
	}, nil
}

// Close stops every watcher of s and waits for them; later Watch calls fail with ErrClosed.
// The client stays open. Close is idempotent.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	ws := make([]*Watcher, 0, len(s.watchers))
	for w := range s.watchers {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
}

// wrap turns an etcd error into a store error naming the operation and the key.
func wrap(op, key string, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		err = ErrCompacted
	case errors.Is(err, rpctypes.ErrFutureRev):
		err = ErrFutureRevision
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		err = ErrTooLarge
	}
	if key == "" {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// checkPrefix rejects a prefix that does not end in "/": "/registry/pods/default" would
// also match the namespace "default-2".
func checkPrefix(op, prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("%s %q: prefix must end with \"/\"", op, prefix)
	}
	return nil
}

func (s *Store) checkSize(op, key string, value []byte) error {
	if len(value) > s.maxValue {
		return fmt.Errorf("%s %s: %d bytes over the limit of %d: %w", op, key, len(value), s.maxValue, ErrTooLarge)
	}
	return nil
}

func toKV(kv *mvccpb.KeyValue) KV {
	return KV{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision}
}

// Get returns the current value of key, or ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (KV, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return KV{}, wrap("get", key, err)
	}
	if len(resp.Kvs) == 0 {
		return KV{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return toKV(resp.Kvs[0]), nil
}

// Create writes value at key if key does not exist, and returns the new revision. It fails
// with ErrExists if the key exists, ErrTooLarge if value is too large. WithTTL makes the
// key expire.
func (s *Store) Create(ctx context.Context, key string, value []byte, opts ...WriteOption) (int64, error) {
	if err := s.checkSize("create", key, value); err != nil {
		return 0, err
	}
	resp, err := s.txnWithLease(ctx, buildWriteOptions(opts), func(put ...clientv3.OpOption) (*clientv3.TxnResponse, error) {
		return s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, string(value), put...)).
			Commit()
	})
	if err != nil {
		return 0, wrap("create", key, err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("create %s: %w", key, ErrExists)
	}
	return resp.Header.Revision, nil
}

// revisionIs is the transaction guard for an expected revision: the key's last write is at
// expectRev, or, for expectRev 0, the key exists.
func revisionIs(key string, expectRev int64) clientv3.Cmp {
	if expectRev == 0 {
		return clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", expectRev)
}

// Update writes value at key if the key's revision is expectRev, and returns the new
// revision. expectRev 0 writes whatever the revision. It fails with ErrNotFound if the key
// does not exist, ErrConflict if its revision is not expectRev, ErrTooLarge if value is too
// large. WithTTL makes the key expire, counting from this write; without it the key stays.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectRev int64, opts ...WriteOption) (int64, error) {
	if err := s.checkSize("update", key, value); err != nil {
		return 0, err
	}
	resp, err := s.txnWithLease(ctx, buildWriteOptions(opts), func(put ...clientv3.OpOption) (*clientv3.TxnResponse, error) {
		return s.client.Txn(ctx).
			If(revisionIs(key, expectRev)).
			Then(clientv3.OpPut(key, string(value), put...)).
			Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
			Commit()
	})
	if err != nil {
		return 0, wrap("update", key, err)
	}
	if !resp.Succeeded {
		return 0, failure("update", key, expectRev, resp)
	}
	return resp.Header.Revision, nil
}

// failure explains a failed guarded transaction whose Else branch read the key.
func failure(op, key string, expectRev int64, resp *clientv3.TxnResponse) error {
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s: revision is %d, not %d: %w", op, key, kvs[0].ModRevision, expectRev, ErrConflict)
}

// Delete removes key if its revision is expectRev (0: whatever the revision). It returns the
// deleted KV (with the revision of its last write) and the revision of the delete. It fails
// with ErrNotFound if the key does not exist, ErrConflict if its revision is not expectRev.
func (s *Store) Delete(ctx context.Context, key string, expectRev int64) (KV, int64, error) {
	resp, err := s.client.Txn(ctx).
		If(revisionIs(key, expectRev)).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return KV{}, 0, wrap("delete", key, err)
	}
	if !resp.Succeeded {
		return KV{}, 0, failure("delete", key, expectRev, resp)
	}
	prev := resp.Responses[0].GetResponseDeleteRange().GetPrevKvs()
	if len(prev) == 0 { // cannot happen: the guard saw the key in the same transaction
		return KV{}, 0, fmt.Errorf("delete %s: %w", key, ErrNotFound)
	}
	return toKV(prev[0]), resp.Header.Revision, nil
}

// GuaranteedUpdate reads key, calls tryUpdate with its current KV and writes the result if
// the key has not changed meanwhile; on a concurrent change it calls tryUpdate again with the
// newer KV, until it succeeds, tryUpdate fails, or ctx is done. tryUpdate may thus run several
// times and must not have side effects. When it returns bytes equal to the current value,
// nothing is written and the current KV is returned. It fails with ErrNotFound if the key
// does not exist (or is deleted meanwhile), with tryUpdate's error as is, or ErrTooLarge.
// WithTTL makes the key expire, counting from the write (a write that changes nothing does
// not extend its life); without it the key stays.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, tryUpdate func(cur KV) ([]byte, error), opts ...WriteOption) (KV, error) {
	o := buildWriteOptions(opts)
	cur, err := s.Get(ctx, key)
	if err != nil {
		return KV{}, fmt.Errorf("guaranteed update: %w", err)
	}
	for {
		value, err := tryUpdate(cur)
		if err != nil {
			return KV{}, err
		}
		if bytes.Equal(value, cur.Value) {
			return cur, nil
		}
		if err := s.checkSize("guaranteed update", key, value); err != nil {
			return KV{}, err
		}
		resp, err := s.txnWithLease(ctx, o, func(put ...clientv3.OpOption) (*clientv3.TxnResponse, error) {
			return s.client.Txn(ctx).
				If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.Revision)).
				Then(clientv3.OpPut(key, string(value), put...)).
				Else(clientv3.OpGet(key)).
				Commit()
		})
		if err != nil {
			return KV{}, wrap("guaranteed update", key, err)
		}
		if resp.Succeeded {
			return KV{Key: key, Value: value, Revision: resp.Header.Revision}, nil
		}
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return KV{}, fmt.Errorf("guaranteed update %s: %w", key, ErrNotFound)
		}
		cur = toKV(kvs[0])
	}
}

// Count returns the number of keys under prefix, which must end with "/".
func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	if err := checkPrefix("count", prefix); err != nil {
		return 0, err
	}
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, wrap("count", prefix, err)
	}
	return resp.Count, nil
}

// CurrentRevision returns the store's latest revision.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, registryRoot, clientv3.WithCountOnly())
	if err != nil {
		return 0, wrap("get current revision", "", err)
	}
	return resp.Header.Revision, nil
}
