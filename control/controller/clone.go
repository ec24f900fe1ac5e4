package controller

import (
	"encoding/json"
	"fmt"
)

// Clone returns a deep copy of v made through its JSON form. API objects are defined by their
// JSON, so the copy is exact for them. Clone panics if v does not survive a JSON round trip,
// which cannot happen for an API object.
func Clone[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("clone %T: %v", v, err))
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("clone %T: %v", v, err))
	}
	return out
}
