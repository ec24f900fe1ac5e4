package controller

import (
	"encoding/json"
	"fmt"

	"github.com/wasmkube/wasmkube/control/api"
)

// Clone returns a deep copy of v made through its JSON form. API objects are defined by their
// JSON, so the copy is exact for them. Clone panics if v does not survive a JSON round trip,
// which cannot happen for an API object. The decoding half is api.Unmarshal: encoding/json's
// semantics in half the time.
func Clone[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("clone %T: %v", v, err))
	}
	out := new(T)
	if err := api.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("clone %T: %v", v, err))
	}
	return out
}
