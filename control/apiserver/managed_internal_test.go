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
