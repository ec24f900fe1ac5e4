package apiserver

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestSpliceManagedMatchesEncode: splicing new managedFields into an encoded object gives
// the bytes encode gives for the object with them, with and without entries before.
func TestSpliceManagedMatchesEncode(t *testing.T) {
	at := api.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	entries := func(n int) []api.ManagedFieldsEntry {
		var out []api.ManagedFieldsEntry
		for i := range n {
			out = append(out, api.ManagedFieldsEntry{Manager: "m<" + string(rune('a'+i)) + ">", Operation: "Update",
				APIVersion: "v1", Time: &at, FieldsType: "FieldsV1", FieldsV1: json.RawMessage(`{"f:spec":{"f:x":{}}}`)})
		}
		return out
	}
	objs := map[string]func() api.Object{
		"pod": func() api.Object {
			return &api.Pod{TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1"},
				ObjectMeta: api.ObjectMeta{Name: "p", Namespace: "default", UID: "u", Labels: map[string]string{"managedFields": `"managedFields":[1]`}},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "a"}}}}
		},
		"lease": func() api.Object {
			return &api.Lease{TypeMeta: api.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"},
				ObjectMeta: api.ObjectMeta{Name: "n", Namespace: "kube-node-lease", Finalizers: []string{"f"}},
				Spec:       api.LeaseSpec{HolderIdentity: api.Ptr("n")}}
		},
		"name only": func() api.Object {
			return &api.Namespace{TypeMeta: api.TypeMeta{Kind: "Namespace", APIVersion: "v1"}, ObjectMeta: api.ObjectMeta{Name: "ns"}}
		},
		"empty meta": func() api.Object { return &api.Namespace{TypeMeta: api.TypeMeta{Kind: "Namespace", APIVersion: "v1"}} },
	}
	for name, mk := range objs {
		for before := range 3 {
			for after := 1; after < 3; after++ {
				obj := mk()
				obj.GetObjectMeta().ManagedFields = entries(before)
				obj.GetObjectMeta().ResourceVersion = "12"
				b, err := encode(obj)
				if err != nil {
					t.Fatal(err)
				}
				enc, _ := json.Marshal(entries(after))
				got, ok := spliceManaged(b, enc)
				if !ok {
					t.Fatalf("%s %d->%d: spliceManaged refused %s", name, before, after, b)
				}
				obj.GetObjectMeta().ManagedFields = entries(after)
				want, _ := encode(obj)
				if !bytes.Equal(got, want) {
					t.Errorf("%s %d->%d:\n got %s\nwant %s", name, before, after, got, want)
				}
			}
		}
	}
}

// BenchmarkRecordManagedSplice sets the managedFields of an encoded pod: the splice against
// the two ObjectMeta encodes it replaced.
func BenchmarkRecordManagedSplice(b *testing.B) {
	at := api.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	mf := []api.ManagedFieldsEntry{{Manager: "bench", Operation: "Update", APIVersion: "v1", Time: &at, FieldsType: "FieldsV1",
		FieldsV1: json.RawMessage(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}`)}}
	pod := &api.Pod{TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{Name: "p", Namespace: "default", UID: "u", Labels: map[string]string{"app": "bench"},
			OwnerReferences: []api.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "x"}}, ManagedFields: mf},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "a"}}}}
	obj, _ := encode(pod)
	after := append(mf, mf[0])
	enc, _ := json.Marshal(after)
	b.Run("splice", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc, _ := json.Marshal(after)
			if _, ok := spliceManaged(obj, enc); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encodeMeta", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := pod.ObjectMeta
			encodeMeta(&m)
			m.ManagedFields = after
			encodeMeta(&m)
		}
	})
	_ = enc
}
