package patch

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// recordObjects are objects RecordUpdate sees, and some it should not see often.
var recordObjects = []string{
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","uid":"u1","labels":{"app":"web"},"finalizers":["a","b"],"ownerReferences":[{"uid":"o1","kind":"ReplicaSet","name":"rs"}]},"spec":{"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080,"protocol":"TCP"}],"env":[{"name":"A","value":"1"}]},{"name":"side","image":"side:1"}],"nodeName":""},"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"True"}]}}`,
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","uid":"u1","labels":{"app":"web","rev":"2"}},"spec":{"containers":[{"name":"app","image":"app:2","ports":[{"containerPort":8080,"protocol":"TCP"},{"containerPort":9090}]}],"nodeName":"node-1"},"status":{"phase":"Running","podIP":"10.0.0.7","podIPs":[{"ip":"10.0.0.7"}],"conditions":[{"type":"PodScheduled","status":"True"},{"type":"Ready","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z"}],"containerStatuses":[{"name":"app","ready":true,"restartCount":0,"image":"app:2","imageID":"","state":{"running":{"startedAt":"2024-01-01T00:00:00Z"}}}]}}`,
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","annotations":{"x":null}},"spec":{"containers":[{"name":"app","image":"app:2"},{"image":"nokey"},{"name":"app","image":"dup"}]},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"Ready","status":"True"},{"status":"nokey"}]}}`,
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{},"finalizers":[]},"spec":{"containers":[]},"status":{}}`,
	`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node-1","namespace":"kube-node-lease","ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"node-1","uid":"n1"}]},"spec":{"holderIdentity":"node-1","leaseDurationSeconds":40,"renewTime":"2024-01-01T00:00:00.000000Z"}}`,
	`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node-1","namespace":"kube-node-lease","ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"node-1","uid":"n1"}]},"spec":{"holderIdentity":"node-1","leaseDurationSeconds":40.0,"renewTime":"2024-01-01T00:00:10.000000Z"}}`,
	`{"apiVersion":"v1","kind":"Node","metadata":{"name":"n","labels":{"a\u003cb":"é","k\"q":"v"}},"spec":{"podCIDRs":["10.0.0.0/24","10.0.0.0/24"],"taints":[{"key":"k","effect":"NoSchedule"}]},"status":{"addresses":[{"type":"InternalIP","address":"1.2.3.4"}],"conditions":[{"type":"Ready","status":"True"}]}}`,
	`{"apiVersion":"v1","kind":"Node","metadata":{"name":"n","labels":{"a<b":"e"}},"spec":{"podCIDRs":["10.0.1.0/24"]},"status":{"addresses":[{"type":"InternalIP","address":"1.2.3.5"},{"type":"Hostname","address":"n"}],"conditions":[{"type":"Ready","status":"False"},{"type":"MemoryPressure","status":"False"}]}}`,
	`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"list":[1,2,3],"deep":{"a":{"b":[{"c":1}]}}},"status":{"n":1e3}}`,
	`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","managedFields":[{"manager":"x"}]},"spec":{"list":[1,2],"deep":{"a":{"b":[{"c":1.0}]}}},"status":{"n":1000}}`,
	`{"kind":"Pod","metadata":"not an object","spec":null,"status":[1]}`,
	`{"kind":"Pod","status":{"phase":"A"},"status":{"phase":"B"},"metadata":{"name":"a"},"metadata":{"name":"b","labels":{"x":"y"}}}`,
	` { "kind" : "Pod" , "spec" : { "containers" : [ { "name" : "app" , "image" : "a" } ] } } `,
	``,
}

// recordManaged are managedFields an object may come with, canonical and not.
var recordManaged = [][]ManagedFieldsEntry{
	nil,
	{{Manager: "kubelet", Operation: OperationUpdate, Subresource: "status", FieldsType: FieldsTypeV1,
		FieldsV1: json.RawMessage(`{"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{}}},"f:phase":{}}}`)}},
	{{Manager: "kubectl", Operation: OperationApply, FieldsType: FieldsTypeV1,
		FieldsV1: json.RawMessage(`{"f:metadata":{"f:labels":{"f:app":{}},"f:finalizers":{"v:\"a\"":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}`)},
		{Manager: "bench", Operation: OperationUpdate, FieldsType: FieldsTypeV1,
			FieldsV1: json.RawMessage(`{"f:spec":{"f:holderIdentity":{},"f:renewTime":{},"f:containers":{"k:{ \"name\": \"app\" }":{"f:image":{}}}},"f:metadata":{"f:ownerReferences":{"k:{\"uid\":\"n1\"}":{}}}}`)}},
	{{Manager: "odd", Operation: OperationUpdate, FieldsType: FieldsTypeV1,
		FieldsV1: json.RawMessage(`{"f:spec":{"f:a":{}},"f:spec":{"f:list":{}},"f:metadata":{"f:labels":{"f:a\u003cb":{}}},"f:status":{"f:n":{},"i:0":{}},".":null}`)}},
}

func sameRecord(t *testing.T, what string, old, nw []byte, manager string, managed []ManagedFieldsEntry, sub string) []ManagedFieldsEntry {
	t.Helper()
	got, gotErr := (*FieldSetCache)(nil).recordUpdate(old, nw, manager, managed, t0, sub, false)
	want, wantErr := (*FieldSetCache)(nil).recordUpdate(old, nw, manager, managed, t0, sub, true)
	cached, cachedErr := testCache.recordUpdate(old, nw, manager, managed, t0, sub, false)
	if (cachedErr == nil) != (wantErr == nil) || !reflect.DeepEqual(cached, want) {
		t.Fatalf("%s: through the cache:\n got %s %v\nwant %s %v", what, mustJSON(cached), cachedErr, mustJSON(want), wantErr)
	}
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%s: error %v, want %v", what, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, mustJSON(got), mustJSON(want))
	}
	return got
}

// testCache is shared by every check, small so that it also drops sets.
var testCache = NewFieldSetCache(2000)

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestRecordUpdateFastMatchesStd holds RecordUpdate with its fast decoders to
// the same function decoding everything through encoding/json, on every pair
// of objects, every subresource and several prior managedFields, and along
// random chains of updates by several managers.
func TestRecordUpdateFastMatchesStd(t *testing.T) {
	subs := []string{"", "status", "scale"}
	for i, o := range recordObjects {
		for j, n := range recordObjects {
			for _, sub := range subs {
				for k, m := range recordManaged {
					what := fmt.Sprintf("old %d new %d sub %q managed %d", i, j, sub, k)
					sameRecord(t, what, []byte(o), []byte(n), "bench", m, sub)
					sameRecord(t, what+" create", nil, []byte(n), "bench", m, sub)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	managers := []string{"kubectl", "kubelet", "scheduler"}
	for chain := range 200 {
		var managed []ManagedFieldsEntry
		cur := []byte(recordObjects[rng.IntN(len(recordObjects))])
		for step := range 12 {
			next := []byte(recordObjects[rng.IntN(len(recordObjects))])
			sub := subs[rng.IntN(len(subs))]
			what := fmt.Sprintf("chain %d step %d", chain, step)
			managed = sameRecord(t, what, cur, next, managers[rng.IntN(len(managers))], managed, sub)
			cur = next
		}
	}
}

func FuzzDecodeOwned(f *testing.F) {
	for _, o := range recordObjects {
		f.Add([]byte(o))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, sc := range []scope{scopeMain, scopeStatus} {
			got, ok := decodeOwned(in, sc)
			if !ok {
				continue
			}
			v, err := decodeValueStd(in)
			want, isMap := v.(map[string]any)
			if err != nil || !isMap {
				t.Fatalf("decodeOwned(%q) accepted what encoding/json refuses: %v", in, err)
			}
			if !reflect.DeepEqual(ownedView(got, sc), ownedView(want, sc)) {
				t.Fatalf("decodeOwned(%q, %d) = %#v, want %#v", in, sc, ownedView(got, sc), ownedView(want, sc))
			}
		}
	})
}

func FuzzFastFieldsV1(f *testing.F) {
	for _, ms := range recordManaged {
		for _, m := range ms {
			f.Add([]byte(m.FieldsV1))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := fastFieldsV1(in)
		if !ok {
			return
		}
		want, err := parseFieldsV1Std(in)
		if err != nil {
			t.Fatalf("fastFieldsV1(%q) accepted what parseFieldsV1Std refuses: %v", in, err)
		}
		if !got.equal(want) || string(got.encode()) != string(want.encode()) {
			t.Fatalf("fastFieldsV1(%q) = %s, want %s", in, got.encode(), want.encode())
		}
	})
}

// TestFieldSetCacheHammer: many writers share one cache's sets; -race sees any that
// changes a shared set, and every answer matches RecordUpdate's.
func TestFieldSetCacheHammer(t *testing.T) {
	c := NewFieldSetCache(1000)
	type step struct {
		old, nw []byte
		sub     string
		managed []ManagedFieldsEntry
		want    []ManagedFieldsEntry
	}
	var steps []step
	for i, o := range recordObjects {
		for _, m := range recordManaged {
			nw := []byte(recordObjects[(i+1)%len(recordObjects)])
			for _, sub := range []string{"", "status"} {
				want, err := RecordUpdate([]byte(o), nw, "kubelet", m, t0, sub)
				if err == nil {
					steps = append(steps, step{[]byte(o), nw, sub, m, want})
				}
			}
		}
	}
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				s := steps[(g*7+i)%len(steps)]
				got, err := c.RecordUpdate(s.old, s.nw, "kubelet", s.managed, t0, s.sub)
				if err != nil || !reflect.DeepEqual(got, s.want) {
					t.Errorf("goroutine %d step %d: %s %v, want %s", g, i, mustJSON(got), err, mustJSON(s.want))
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

// FuzzRecordUpdate holds RecordUpdate to its encoding/json reference on any pair of
// documents, through both scopes.
func FuzzRecordUpdate(f *testing.F) {
	for i, o := range recordObjects {
		f.Add([]byte(o), []byte(recordObjects[(i+1)%len(recordObjects)]))
		f.Add([]byte(o), []byte(o))
	}
	f.Fuzz(func(t *testing.T, old, nw []byte) {
		for _, sub := range []string{"", "status"} {
			for _, m := range recordManaged[:3] {
				got, gotErr := (*FieldSetCache)(nil).recordUpdate(old, nw, "bench", m, t0, sub, false)
				want, wantErr := (*FieldSetCache)(nil).recordUpdate(old, nw, "bench", m, t0, sub, true)
				if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
					t.Fatalf("sub %q:\n got %s %v\nwant %s %v", sub, mustJSON(got), gotErr, mustJSON(want), wantErr)
				}
			}
		}
	})
}
