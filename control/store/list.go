package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ListOptions selects what List returns.
type ListOptions struct {
	// Revision lists the state at that revision; 0 lists the latest state. A compacted
	// revision fails with ErrCompacted, a future one with ErrFutureRevision.
	Revision int64
	// Limit bounds the number of items returned; 0 means no bound.
	Limit int64
	// Continue is the token of a previous ListResult: the list goes on after the last item
	// returned, at the same revision, so the pages of one list form one consistent snapshot.
	// With Continue set, Revision must be 0 or the token's revision.
	Continue string
}

// ListResult is one page of a list.
type ListResult struct {
	Items []KV
	// Revision is the revision the list is consistent at (the list's resourceVersion).
	Revision int64
	// Continue is the token for the next page; empty when there is none.
	Continue string
	// RemainingItemCount is the number of items after this page at Revision.
	RemainingItemCount int64
}

// continueToken is what an opaque continue token holds. Start is relative to the listed
// prefix, so a token cannot lead a list outside it.
type continueToken struct {
	Revision int64  `json:"rv"`
	Start    string `json:"start"`
}

func encodeContinue(rev int64, start string) string {
	b, _ := json.Marshal(continueToken{Revision: rev, Start: start}) // cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(token string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return t, ErrInvalidContinue
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Revision <= 0 || t.Start == "" {
		return t, ErrInvalidContinue
	}
	return t, nil
}

// List returns the keys under prefix (which must end with "/") in key order, as opts
// selects. It fails with ErrCompacted when the revision asked for, or the revision of a
// continue token, has been compacted: the caller must then list again from the start.
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error) {
	if err := checkPrefix("list", prefix); err != nil {
		return ListResult{}, err
	}
	if opts.Revision < 0 || opts.Limit < 0 {
		return ListResult{}, fmt.Errorf("list %s: negative revision %d or limit %d", prefix, opts.Revision, opts.Limit)
	}
	start, rev := prefix, opts.Revision
	if opts.Continue != "" {
		t, err := decodeContinue(opts.Continue)
		if err != nil {
			return ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		if rev != 0 && rev != t.Revision {
			return ListResult{}, fmt.Errorf("list %s: revision %d differs from the token's %d: %w",
				prefix, rev, t.Revision, ErrInvalidContinue)
		}
		start, rev = prefix+t.Start, t.Revision
	}

	ops := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if rev > 0 {
		ops = append(ops, clientv3.WithRev(rev))
	}
	if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, start, ops...)
	if err != nil {
		if rev > 0 {
			return ListResult{}, wrap("list", fmt.Sprintf("%s at revision %d", prefix, rev), err)
		}
		return ListResult{}, wrap("list", prefix, err)
	}

	res := ListResult{Revision: rev, Items: make([]KV, len(resp.Kvs))}
	if res.Revision == 0 {
		res.Revision = resp.Header.Revision
	}
	for i, kv := range resp.Kvs {
		res.Items[i] = toKV(kv)
	}
	if resp.More && len(resp.Kvs) > 0 {
		last := string(resp.Kvs[len(resp.Kvs)-1].Key)
		res.Continue = encodeContinue(res.Revision, last[len(prefix):]+"\x00")
		res.RemainingItemCount = resp.Count - int64(len(resp.Kvs))
	}
	return res, nil
}
