package informer_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/control/queue"
)

// A controller watches pods through an informer, puts the keys of changed pods on a queue and
// reads the cache, never the API, when it syncs a key.
func Example() {
	var c *client.Client // from client.New
	ctx := context.Background()

	pods := informer.New(client.Pods(c), client.ListOptions{}, map[string]informer.IndexFunc[*api.Pod]{
		informer.NodeNameIndex: informer.PodsByNodeName,
	})
	q := queue.New(queue.RealClock{})
	enqueue := func(p *api.Pod) { q.Add(informer.KeyOf(p)) }
	pods.AddHandler(informer.Handler[*api.Pod]{
		OnAdd:    enqueue,
		OnUpdate: func(_, p *api.Pod) { enqueue(p) },
		OnDelete: enqueue,
	})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { pods.Run(ctx) })
	defer wg.Wait() // Run returns once ctx is cancelled
	defer cancel()
	defer q.ShutDown()
	if !pods.WaitForSync(ctx) {
		log.Fatal("pods did not sync")
	}
	for {
		key, shutdown := q.Get()
		if shutdown {
			return
		}
		ns, name := informer.SplitKey(key)
		if p, ok := pods.Get(ns, name); ok {
			p = informer.DeepCopy(p) // cached objects are shared: copy before changing
			fmt.Println("sync", key, p.Status.Phase)
		}
		q.Done(key)
	}
}

func ExampleKey() {
	fmt.Println(informer.Key("default", "web"), informer.Key("", "node-1"))
	fmt.Println(informer.SplitKey("default/web"))
	// Output:
	// default/web node-1
	// default web
}
