package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestListAtOldRevision(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	prefix := Prefix("pods", "default")
	a, b := Key("pods", "default", "a"), Key("pods", "default", "b")
	mustCreate(t, s, a, "a1")
	old := mustCreate(t, s, b, "b1")
	if _, err := s.Update(ctx, a, []byte("a2"), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Delete(ctx, b, 0); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, Key("pods", "default", "c"), "c1")
	mustCreate(t, s, Key("pods", "other", "x"), "x1") // outside the prefix

	tests := []struct {
		name    string
		rev     int64
		want    []string
		wantRev int64
	}{
		{"old revision", old, []string{"a=a1", "b=b1"}, old},
		{"latest", 0, []string{"a=a2", "c=c1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.List(ctx, prefix, ListOptions{Revision: tt.rev})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(prefix, res.Items); !slices.Equal(got, tt.want) {
				t.Errorf("items = %v, want %v", got, tt.want)
			}
			wantRev := tt.wantRev
			if wantRev == 0 {
				wantRev, _ = s.CurrentRevision(ctx)
			}
			if res.Revision != wantRev || res.Continue != "" || res.RemainingItemCount != 0 {
				t.Errorf("result = rev %d continue %q remaining %d, want rev %d and no more",
					res.Revision, res.Continue, res.RemainingItemCount, wantRev)
			}
		})
	}
}

func names(prefix string, kvs []KV) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Key[len(prefix):] + "=" + string(kv.Value)
	}
	return out
}

func TestListPagingConsistentUnderWrites(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	prefix := Prefix("pods", "default")
	const n = 50
	for i := range n {
		mustCreate(t, s, Key("pods", "default", fmt.Sprintf("p%03d", i)), "v0")
	}

	first, err := s.List(ctx, prefix, ListOptions{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 7 || first.Continue == "" || first.RemainingItemCount != n-7 {
		t.Fatalf("first page: %d items, continue %q, remaining %d", len(first.Items), first.Continue, first.RemainingItemCount)
	}

	// Keep writing under the prefix while the remaining pages are read: creates before,
	// inside and after the pages, updates and deletes.
	writeCtx, stopWrites := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; writeCtx.Err() == nil; i++ {
			k := Key("pods", "default", fmt.Sprintf("p%03d", i%n))
			switch i % 3 {
			case 0:
				_, _ = s.Update(writeCtx, k, []byte(fmt.Sprint("v", i)), 0)
			case 1:
				_, _, _ = s.Delete(writeCtx, k, 0)
			case 2:
				_, _ = s.Create(writeCtx, Key("pods", "default", fmt.Sprintf("p%03d-new%d", i%n, i)), []byte("new"))
			}
		}
	})

	all := slices.Clone(first.Items)
	page := first
	for page.Continue != "" {
		// Make sure some writes land between pages.
		mustCreate(t, s, Key("pods", "default", fmt.Sprintf("p%03d-between-%d", len(all), len(all))), "between")
		page, err = s.List(ctx, prefix, ListOptions{Limit: 7, Continue: page.Continue})
		if err != nil {
			t.Fatal(err)
		}
		if page.Revision != first.Revision {
			t.Fatalf("page at revision %d, first at %d", page.Revision, first.Revision)
		}
		if want := int64(n - len(all) - len(page.Items)); page.RemainingItemCount != want && page.Continue != "" {
			t.Errorf("remaining %d, want %d", page.RemainingItemCount, want)
		}
		all = append(all, page.Items...)
	}
	stopWrites()
	wg.Wait()

	snapshot, err := s.List(ctx, prefix, ListOptions{Revision: first.Revision})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(prefix, all), names(prefix, snapshot.Items); !slices.Equal(got, want) {
		t.Fatalf("pages = %v\nwant snapshot %v", got, want)
	}
	if len(all) != n {
		t.Fatalf("paged %d items, want %d", len(all), n)
	}
}

func TestListErrors(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	prefix := Prefix("pods", "default")
	for i := range 4 {
		mustCreate(t, s, Key("pods", "default", fmt.Sprint(i)), "v")
	}
	page, err := s.List(ctx, prefix, ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := s.CurrentRevision(ctx)

	tests := []struct {
		name   string
		prefix string
		opts   ListOptions
		want   error
	}{
		{"garbage token", prefix, ListOptions{Continue: "!!!"}, ErrInvalidContinue},
		{"token of another shape", prefix, ListOptions{Continue: "e30"}, ErrInvalidContinue}, // "{}"
		{"token with another revision", prefix, ListOptions{Continue: page.Continue, Revision: page.Revision - 1}, ErrInvalidContinue},
		{"future revision", prefix, ListOptions{Revision: cur + 100}, ErrFutureRevision},
		{"prefix without slash", "/registry/pods/default", ListOptions{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.List(ctx, tt.prefix, tt.opts)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("token after compaction", func(t *testing.T) {
		mustCreate(t, s, Key("pods", "default", "later"), "v")
		latest, _ := s.CurrentRevision(ctx)
		if err := s.Compact(ctx, latest); err != nil {
			t.Fatal(err)
		}
		if _, err := s.List(ctx, prefix, ListOptions{Continue: page.Continue}); !errors.Is(err, ErrCompacted) {
			t.Fatalf("err = %v, want ErrCompacted", err)
		}
		if _, err := s.List(ctx, prefix, ListOptions{Revision: page.Revision}); !errors.Is(err, ErrCompacted) {
			t.Fatalf("list at compacted revision: err = %v, want ErrCompacted", err)
		}
	})
}
