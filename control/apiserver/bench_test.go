package apiserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// benchPod is a small pod manifest with a name placeholder.
const benchPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","labels":{"app":"bench"}},"spec":{"containers":[{"name":"app","image":"bench:1","ports":[{"containerPort":8080}],"resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}}`

// BenchmarkCreatePods creates pods from 32 concurrent clients over HTTPS, each with its
// own connection, speaking HTTP/2 (as client-go does) or HTTP/1.1, and reports creates/s and
// the 99th percentile latency. "h2-shared" has the 32 share one HTTP/2 connection, as the
// goroutines of one client process do.
func BenchmarkCreatePods(b *testing.B) {
	for _, proto := range []string{"h2", "http1", "h2-shared"} {
		b.Run(proto, func(b *testing.B) {
			e := start(b)
			newClient := func() *http.Client {
				client := e.api.HTTPClient()
				if proto == "http1" {
					tr := client.Transport.(*http.Transport)
					tr.ForceAttemptHTTP2 = false
					tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
					tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
				}
				b.Cleanup(client.CloseIdleConnections)
				return client
			}
			shared := newClient()
			url := e.api.URL + podsPath
			auth := "Bearer " + e.api.Token
			var n atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 16 per core: 32 clients on this 2-core machine
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				client := shared
				if proto != "h2-shared" {
					mu.Lock()
					client = newClient()
					mu.Unlock()
				}
				var mine []time.Duration
				for pb.Next() {
					body := fmt.Sprintf(benchPod, "p-"+strconv.FormatInt(n.Add(1), 10))
					req, _ := http.NewRequestWithContext(context.Background(), "POST", url, bytes.NewReader([]byte(body)))
					req.Header.Set("Authorization", auth)
					req.Header.Set("Content-Type", "application/json")
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("create: %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
			if len(lat) > 0 {
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// BenchmarkPodFloor is the least work `wk bench scheduler` asks of this machine for one pod:
// a user's create over HTTPS, a scheduler's binding served in process, and a runner's status
// update over HTTPS (unconditional, so it needs no read first), from 32 concurrent pods, with no
// scheduling decision, no watcher, no node leases and etcd without fsync. Its pods/s bounds what
// the end-to-end bench can reach here, and cpu-us/pod (the whole process: clients, API server
// and etcd) is the share of the machine those three writes take.
func BenchmarkPodFloor(b *testing.B) {
	// The sub-benchmarks add the writes one at a time, to show what each costs.
	for steps, name := range []string{"create", "create+binding", "create+binding+status"} {
		b.Run(name, func(b *testing.B) { benchPodFloor(b, steps+1) })
	}
}

func benchPodFloor(b *testing.B, steps int) {
	e := start(b)
	var n atomic.Int64
	var mu sync.Mutex
	auth := "Bearer " + e.api.Token
	do := func(c *http.Client, method, path string, body []byte, want int) []byte {
		req, _ := http.NewRequestWithContext(context.Background(), method, e.api.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			b.Error(err)
			return nil
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			b.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
			return nil
		}
		return out
	}
	cpu0 := cpuTime(b)
	b.SetParallelism(16) // 16 per core: 32 pods in flight on this 2-core machine
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		user, runner := e.api.HTTPClient(), e.api.HTTPClient()
		mu.Unlock()
		defer user.CloseIdleConnections()
		defer runner.CloseIdleConnections()
		for pb.Next() {
			name := "f-" + strconv.FormatInt(n.Add(1), 10)
			out := do(user, "POST", podsPath, fmt.Appendf(nil, benchPod, name), http.StatusCreated)
			var p api.Pod
			if out == nil || json.Unmarshal(out, &p) != nil {
				b.Error("create: no pod back")
				return
			}
			if steps < 2 {
				continue
			}
			if code, out := e.serve("POST", podsPath+"/"+name+"/binding", fmt.Appendf(nil, benchBinding, name)); code != http.StatusCreated {
				b.Errorf("binding %s: %d %s", name, code, out)
				return
			}
			if steps < 3 {
				continue
			}
			p.Status = runningStatus(&p, time.Now())
			p.ResourceVersion = ""
			body, _ := json.Marshal(&p)
			if do(runner, "PUT", podsPath+"/"+name+"/status", body, http.StatusOK) == nil {
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/pod")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWatchFanout writes one pod per iteration while n HTTP watchers follow the pods;
// an iteration ends when every watcher has received its event.
func BenchmarkWatchFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprint("watchers=", n), func(b *testing.B) {
			e := start(b)
			p := e.createPod("start", nil)
			ws := make([]*watch, n)
			for i := range ws {
				ws[i] = e.watch(podsPath + "?watch=1&resourceVersion=" + p.ResourceVersion)
			}
			auth := "Bearer " + e.api.Token
			b.ResetTimer()
			for i := range b.N {
				body := fmt.Sprintf(benchPod, "w-"+strconv.Itoa(i))
				req, _ := http.NewRequest("POST", e.api.URL+podsPath, bytes.NewReader([]byte(body)))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				resp, err := e.client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				for _, w := range ws {
					if ev := w.next(false); ev.Type != "ADDED" {
						b.Fatalf("event %s", ev.Type)
					}
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// serve calls the server's handler in-process, without TLS or sockets, so a benchmark
// measures the server's own work (and etcd's) rather than the client's.
func (e *env) serve(method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.api.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bench/v1.0")
	rec := httptest.NewRecorder()
	e.api.Server.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func (e *env) mustServe(b *testing.B, code int, method, path string, body []byte) []byte {
	got, out := e.serve(method, path, body)
	if got != code {
		b.Fatalf("%s %s: %d %s, want %d", method, path, got, out, code)
	}
	return out
}

// benchBinding is a scheduler's binding of pod %s to node-1.
const benchBinding = `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"%s"},"target":{"apiVersion":"v1","kind":"Node","name":"node-1"}}`

// runningStatus is the status a runner reports once the pod's container started.
func runningStatus(p *api.Pod, now time.Time) api.PodStatus {
	t := api.NewTime(now)
	st := api.PodStatus{Phase: api.PodRunning, HostIP: "10.0.0.1",
		PodIP: "10.244.0.7", PodIPs: []api.PodIP{{IP: "10.244.0.7"}}, StartTime: &t, QOSClass: "Burstable",
		Conditions: p.Status.Conditions}
	for _, typ := range []string{"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"} {
		st.Conditions = append(st.Conditions, api.PodCondition{Type: typ, Status: api.ConditionTrue, LastTransitionTime: t})
	}
	for _, c := range p.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, api.ContainerStatus{Name: c.Name, Image: c.Image,
			ImageID: c.Image, Ready: true, Started: api.Ptr(true),
			State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: t}}})
	}
	return st
}

// BenchmarkWrite measures, through the handler and a real embedded etcd, the writes that
// dominate `wk bench scheduler`: a scheduler's binding of a new pod, a runner's first status
// update of a bound pod, a runner's lease renewal, and a PUT that changes a label; the first
// two also beside a watcher with a field selector, as runners watch.
// Run with -benchtime=Nx: each run starts its own etcd.
func BenchmarkWrite(b *testing.B) {
	for _, watched := range []bool{false, true} {
		suffix := ""
		if watched {
			suffix = "-watched"
		}
		// watch is, with watched, a runner's watch of its node's pods, whose field selector
		// has the server decode every pod event, as in wk bench scheduler.
		watch := func(e *env) {
			if watched {
				w := e.watch(podsPath + "?watch=1&fieldSelector=spec.nodeName%3Dnode-1")
				go func() {
					for range w.events {
					}
				}()
			}
		}
		b.Run("binding"+suffix, func(b *testing.B) {
			e := start(b)
			watch(e)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				name := "b-" + strconv.Itoa(i)
				e.mustServe(b, http.StatusCreated, "POST", podsPath, fmt.Appendf(nil, benchPod, name))
				b.StartTimer()
				e.mustServe(b, http.StatusCreated, "POST", podsPath+"/"+name+"/binding", fmt.Appendf(nil, benchBinding, name))
			}
		})
		b.Run("pod-status"+suffix, func(b *testing.B) {
			e := start(b)
			watch(e)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				name := "s-" + strconv.Itoa(i)
				e.mustServe(b, http.StatusCreated, "POST", podsPath, fmt.Appendf(nil, benchPod, name))
				e.mustServe(b, http.StatusCreated, "POST", podsPath+"/"+name+"/binding", fmt.Appendf(nil, benchBinding, name))
				var p api.Pod
				if err := json.Unmarshal(e.mustServe(b, http.StatusOK, "GET", podsPath+"/"+name, nil), &p); err != nil {
					b.Fatal(err)
				}
				p.Status = runningStatus(&p, time.Now())
				body, _ := json.Marshal(&p)
				b.StartTimer()
				e.mustServe(b, http.StatusOK, "PUT", podsPath+"/"+name+"/status", body)
			}
		})
	}
	b.Run("lease", func(b *testing.B) {
		e := start(b)
		const path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
		l := api.Lease{TypeMeta: api.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"},
			ObjectMeta: api.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease",
				OwnerReferences: []api.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "6f1c2e0a-1d5b-4c39-9d0e-3a1f0b8d2c11"}}},
			Spec: api.LeaseSpec{HolderIdentity: api.Ptr("node-1"), LeaseDurationSeconds: api.Ptr(int32(40)),
				RenewTime: api.Ptr(api.NewMicroTime(time.Now()))}}
		body, _ := json.Marshal(&l)
		if err := json.Unmarshal(e.mustServe(b, http.StatusCreated, "POST", path, body), &l); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			l.Spec.RenewTime = api.Ptr(api.NewMicroTime(time.Now().Add(time.Duration(i+1) * time.Second)))
			body, _ := json.Marshal(&l)
			b.StartTimer()
			out := e.mustServe(b, http.StatusOK, "PUT", path+"/node-1", body)
			b.StopTimer()
			if err := json.Unmarshal(out, &l); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("pod-label", func(b *testing.B) {
		e := start(b)
		var p api.Pod
		if err := json.Unmarshal(e.mustServe(b, http.StatusCreated, "POST", podsPath, fmt.Appendf(nil, benchPod, "l")), &p); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			p.Labels["rev"] = strconv.Itoa(i)
			body, _ := json.Marshal(&p)
			b.StartTimer()
			out := e.mustServe(b, http.StatusOK, "PUT", podsPath+"/l", body)
			b.StopTimer()
			if err := json.Unmarshal(out, &p); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
