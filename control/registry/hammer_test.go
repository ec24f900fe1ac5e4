package registry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wasmkube/wasmkube/control/registry"
)

// TestPushHammer pushes many tags of one module at once: every tag must land (conflicting
// Module updates are retried) and every blob be stored once.
func TestPushHammer(t *testing.T) {
	cl := startCluster(t, 0)
	ctx := context.Background()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// Two goroutines share each blob, so uploads of the same digest race too.
			if _, err := registry.Push(ctx, cl.c, fmt.Sprintf("hammer:v%d", i), module(8192, byte(i/2))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m, err := registry.Modules(cl.c).Get(ctx, "hammer")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Spec.Tags) != n {
		t.Fatalf("%d tags, want %d", len(m.Spec.Tags), n)
	}
	for _, tag := range m.Spec.Tags {
		var i int
		fmt.Sscanf(tag.Name, "v%d", &i)
		if tag.Digest != registry.Digest(module(8192, byte(i/2))) {
			t.Errorf("tag %s -> %s", tag.Name, tag.Digest)
		}
	}
}
