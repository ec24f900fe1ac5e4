package apiserver

import (
	"encoding/json"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestWithRV(t *testing.T) {
	cases := []struct{ name, stored, want string }{
		{"fields", `{"kind":"Pod","metadata":{"name":"a"},"spec":{}}`, `{"kind":"Pod","metadata":{"resourceVersion":"42","name":"a"},"spec":{}}`},
		{"empty metadata", `{"kind":"Pod","metadata":{}}`, `{"kind":"Pod","metadata":{"resourceVersion":"42"}}`},
		{"no metadata", `{"kind":"Pod"}`, `{"kind":"Pod"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(withRV([]byte(c.stored), 42)); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

// TestRecordManagedSplice holds the spliced managedFields against a full encoding.
func TestRecordManagedSplice(t *testing.T) {
	s := &Server{}
	p := &api.Pod{
		TypeMeta:   api.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{Name: "a", Namespace: "default", Labels: map[string]string{"x": "y"}, UID: "u"},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "i:1"}}},
	}
	b, err := encode(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.recordManaged(p, b, nil, "me", "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := encode(p)
	if string(got) != string(want) {
		t.Fatalf("spliced:\n%s\nencoded:\n%s", got, want)
	}
	var back api.Pod
	if err := json.Unmarshal(got, &back); err != nil || len(back.ManagedFields) != 1 || back.ManagedFields[0].Manager != "me" {
		t.Fatalf("managedFields %+v (%v)", back.ManagedFields, err)
	}
}
