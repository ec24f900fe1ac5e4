package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Defaults of RunCompactor, close to Kubernetes' (which compacts every 5 minutes).
const (
	DefaultCompactInterval = 5 * time.Minute
	DefaultCompactKeep     = 1000
)

// Compact discards the history before revision rev: lists and watches at older revisions
// then fail with ErrCompacted. Compacting to a revision already compacted is not an error;
// a future revision fails with ErrFutureRevision.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if _, err := s.client.Compact(ctx, rev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return wrap("compact", fmt.Sprintf("to revision %d", rev), err)
	}
	return nil
}

// compactTarget returns the revision to compact to, keeping keep revisions before current,
// or 0 when there is nothing new to compact since last.
func compactTarget(current, last, keep int64) int64 {
	target := current - keep
	if target <= last || target <= 0 {
		return 0
	}
	return target
}

// RunCompactor compacts the store every interval to keep revisions before the current one
// (0 for either means DefaultCompactInterval, DefaultCompactKeep), logging failures at warn,
// until ctx ends. It blocks: run it in a goroutine the caller owns. Several control-plane
// processes may each run one; etcd settles concurrent compactions.
func (s *Store) RunCompactor(ctx context.Context, interval time.Duration, keep int64) {
	if interval <= 0 {
		interval = DefaultCompactInterval
	}
	if keep <= 0 {
		keep = DefaultCompactKeep
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, err := s.CurrentRevision(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("compactor: read current revision", "err", err)
			}
			continue
		}
		target := compactTarget(cur, last, keep)
		if target == 0 {
			continue
		}
		if err := s.Compact(ctx, target); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("compactor: compact", "revision", target, "err", err)
			}
			continue
		}
		last = target
	}
}
