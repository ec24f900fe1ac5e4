package apiserver_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/store"
)

func event(name string, count int) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata":       map[string]any{"name": name},
		"involvedObject": map[string]any{"kind": "Pod", "namespace": "default", "name": "p"},
		"reason":         "Tested", "message": "expires", "type": "Normal", "count": count,
	}
}

func TestEventsExpire(t *testing.T) {
	// etcd's smallest lease TTL is a second, and the embedded test member honours it.
	e := start(t, clustertest.WithConfig(func(c *apiserver.Config) { c.EventTTL = time.Second }))
	const events = "/api/v1/namespaces/default/events"
	e.must(http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", pod("p", nil))
	w := e.watch(events + "?watch=1")

	e.must(http.StatusCreated, "POST", events, event("created", 1))
	// The recorder's ways of counting an event again: PUT, then PATCH.
	var ev api.Event
	e.must(http.StatusCreated, "POST", events, event("updated", 1)).decode(t, &ev)
	ev.Count = 2
	e.must(http.StatusOK, "PUT", events+"/updated", ev)
	e.must(http.StatusOK, "PATCH", events+"/updated", `{"count":3}`, contentType("application/merge-patch+json"))
	// A PUT may also create an event.
	e.must(http.StatusCreated, "PUT", events+"/put", event("put", 1))

	gone := map[string]watchEvent{}
	for len(gone) < 3 {
		if got := w.next(false); got.Type == api.Deleted {
			gone[got.meta().Name] = got
		}
	}
	for _, name := range []string{"created", "updated", "put"} {
		if _, ok := gone[name]; !ok {
			t.Errorf("no DELETED for event %s", name)
		}
		e.must(http.StatusNotFound, "GET", events+"/"+name, nil)
	}
	var last api.Event
	if err := json.Unmarshal(gone["updated"].Object, &last); err != nil || last.Count != 3 {
		t.Errorf("DELETED event of the updated event has count %d (%v), want its last value 3", last.Count, err)
	}
	e.must(http.StatusOK, "GET", "/api/v1/namespaces/default/pods/p", nil)
	resp, err := e.api.Etcd.Client().Get(t.Context(), store.Key("pods", "default", "p"))
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease != 0 {
		t.Errorf("the pod in etcd: %v, %v; want one key without a lease", resp, err)
	}
}
