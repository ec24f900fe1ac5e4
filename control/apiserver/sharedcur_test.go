package apiserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestUpdatesBesideSelectorWatchers hammers the writes that read their current object from
// the watch cache's shared decoded copy (bindings, status updates, lease renewals) while
// watchers with field selectors and selector lists decode and read the same copies: -race
// reports any write to a shared object, and every write must land as if read from etcd.
func TestUpdatesBesideSelectorWatchers(t *testing.T) {
	e := start(t)
	const pods = 12
	for i := range pods {
		e.must(http.StatusCreated, "POST", podsPath, pod("h-"+strconv.Itoa(i), map[string]string{"app": "h"}))
	}
	const leases = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
	e.must(http.StatusCreated, "POST", leases, `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l"},"spec":{"holderIdentity":"n1"}}`)
	w := e.watch("/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1")
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for i := g; i < pods; i += 3 {
				name := "h-" + strconv.Itoa(i)
				e.must(http.StatusCreated, "POST", podsPath+"/"+name+"/binding",
					fmt.Sprintf(`{"apiVersion":"v1","kind":"Binding","metadata":{"name":%q},"target":{"kind":"Node","name":"n1"}}`, name))
				var p api.Pod
				e.must(http.StatusOK, "GET", podsPath+"/"+name, nil).decode(t, &p)
				p.Status.Phase = api.PodRunning
				p.Status.PodIP = "10.0.0." + strconv.Itoa(i)
				p.Status.Conditions = append(p.Status.Conditions, api.PodCondition{Type: "Ready", Status: api.ConditionTrue})
				p.ResourceVersion = ""
				e.must(http.StatusOK, "PUT", podsPath+"/"+name+"/status", p)
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			e.must(http.StatusOK, "PUT", leases+"/l", fmt.Sprintf(
				`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l"},"spec":{"holderIdentity":"n1","renewTime":%q}}`,
				time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC).Format("2006-01-02T15:04:05.000000Z")))
		}
	})
	wg.Go(func() {
		for range 20 {
			e.must(http.StatusOK, "GET", "/api/v1/pods?resourceVersion=0&fieldSelector=spec.nodeName%3Dn1&labelSelector=app%3Dh", nil)
		}
	})
	wg.Wait()
	seen := map[string]bool{}
	for len(seen) < pods {
		ev := w.next(false)
		var p api.Pod
		json.Unmarshal(ev.Object, &p)
		if p.Status.Phase == api.PodRunning {
			seen[p.Name] = true
		}
	}
	for i := range pods {
		var p api.Pod
		e.must(http.StatusOK, "GET", podsPath+"/h-"+strconv.Itoa(i), nil).decode(t, &p)
		if p.Spec.NodeName != "n1" || p.Status.PodIP != "10.0.0."+strconv.Itoa(i) || len(p.Status.Conditions) != 2 || len(p.ManagedFields) != 3 {
			t.Errorf("pod %s: node %q, ip %q, %d conditions, %d managedFields entries", p.Name, p.Spec.NodeName, p.Status.PodIP,
				len(p.Status.Conditions), len(p.ManagedFields))
		}
	}
}
