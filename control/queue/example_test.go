package queue_test

import (
	"fmt"
	"time"

	"github.com/wasmkube/wasmkube/control/queue"
)

// A controller's worker loop: take a key, sync it, forget it on success or requeue it with
// back-off on failure, and always mark it done.
func Example() {
	clock := queue.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := queue.New(clock)
	defer q.ShutDown()

	failures := map[string]int{"default/web": 2} // web fails twice before it syncs
	sync := func(key string) error {
		if failures[key] > 0 {
			failures[key]--
			return fmt.Errorf("not yet")
		}
		return nil
	}

	q.Add("default/web")
	q.Add("default/web") // de-duplicated
	for range 3 {
		key, _ := q.Get()
		if err := sync(key); err != nil {
			q.AddRateLimited(key)
			fmt.Printf("%s failed, retry #%d\n", key, q.NumRequeues(key))
		} else {
			q.Forget(key)
			fmt.Printf("%s synced\n", key)
		}
		q.Done(key)
		clock.Step(time.Second) // let the back-off pass
	}
	fmt.Println("queued:", q.Len())
	// Output:
	// default/web failed, retry #1
	// default/web failed, retry #2
	// default/web synced
	// queued: 0
}
