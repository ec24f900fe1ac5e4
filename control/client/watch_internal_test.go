package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// runWatch decodes stream with decode as a watch does and returns the events it sent.
func runWatch[T any](stream io.Reader, decode objectDecoder[T]) []Event[T] {
	ctx, cancel := context.WithCancel(context.Background())
	body := io.NopCloser(stream)
	w := &Watcher[T]{events: make(chan Event[T], watchBuffer), cancel: cancel, body: body, done: make(chan struct{})}
	go w.run(ctx, body, "pods", decode)
	var evs []Event[T]
	for ev := range w.Events() {
		evs = append(evs, ev)
	}
	return evs
}

func TestWatchDecodeStream(t *testing.T) {
	r := &Resource[*api.Pod]{endpoint: endpoint{info: podsInfo(t)}}
	pod := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"7"},"spec":{"containers":[{"name":"c","image":"i"}]}}`
	var want api.Pod
	if err := json.Unmarshal([]byte(pod), &want); err != nil {
		t.Fatal(err)
	}
	gone := `{"type":"ERROR","object":{"kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"too old"}}`
	for _, tc := range []struct {
		name, stream string
		types        []string // event types; "!" is an error event for a broken stream
	}{
		{"lines", `{"type":"ADDED","object":` + pod + "}\n" + `{"type":"MODIFIED","object":` + pod + "}\n", []string{"ADDED", "MODIFIED"}},
		{"no separator", `{"type":"ADDED","object":` + pod + `}{"type":"DELETED","object":` + pod + "}", []string{"ADDED", "DELETED"}},
		{"whitespace", " \r\n\t{ \"type\" : \"ADDED\" ,\n \"object\" : " + pod + " }\r\n\r\n", []string{"ADDED"}},
		{"object first", `{"object":` + pod + `,"type":"MODIFIED"}`, []string{"MODIFIED"}},
		{"other members and case", `{"extra":[1,{"a":2}],"Type":"ADDED","OBJECT":` + pod + `}`, []string{"ADDED"}},
		{"escaped names", `{"\u0074ype":"ADDED","\u006fbject":` + pod + `}`, []string{"ADDED"}},
		{"error event ends nothing", gone + "\n" + `{"type":"ADDED","object":` + pod + "}", []string{"ERROR", "ADDED"}},
		{"error event object first", `{"object":{"reason":"Expired","code":410},"type":"ERROR"}`, []string{"ERROR"}},
		{"empty", "", nil},
		{"only whitespace", " \n ", nil},
		{"truncated", `{"type":"ADDED","object":` + pod + "}\n" + `{"type":"ADDED","object":{"metadata":{"na`, []string{"ADDED", "!"}},
		{"truncated between members", `{"type":"ADDED",`, []string{"!"}},
		{"garbage", `{"type":"ADDED","object":` + pod + "}\nnot json", []string{"ADDED", "!"}},
		{"not an object", `[1]`, []string{"!"}},
		{"no object", `{"type":"ADDED"}`, []string{"!"}},
		{"object of the wrong shape", `{"type":"ADDED","object":{"metadata":"x"}}`, []string{"!"}},
		{"type not a string", `{"type":1,"object":` + pod + `}`, []string{"!"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := runWatch(strings.NewReader(tc.stream), r.decodeFrom)
			var types []string
			for _, ev := range evs {
				switch {
				case ev.Type == api.Error && ev.Err != nil && api.IsGone(ev.Err):
					types = append(types, "ERROR")
				case ev.Type == api.Error:
					if ev.Err == nil {
						t.Fatal("error event without Err")
					}
					t.Log(ev.Err)
					types = append(types, "!")
				default:
					if ev.Err != nil || !reflect.DeepEqual(ev.Object, &want) {
						t.Fatalf("%s event: %+v (%v), want %+v", ev.Type, ev.Object, ev.Err, &want)
					}
					types = append(types, ev.Type)
				}
			}
			if !reflect.DeepEqual(types, tc.types) {
				t.Fatalf("events %q, want %q (%+v)", types, tc.types, evs)
			}
		})
	}
}

// TestWatchDecodeRaw holds the raw decoding of dynamic watches to the bytes the server sent.
func TestWatchDecodeRaw(t *testing.T) {
	obj := `{"kind": "Pod",  "metadata":{"name":"a"}}`
	stream := `{"type":"ADDED","object":` + obj + "}\n" + `{"object":` + obj + `,"type":"DELETED"}`
	evs := runWatch(strings.NewReader(stream), rawObjects(func(raw json.RawMessage) (json.RawMessage, error) { return raw, nil }))
	if len(evs) != 2 || string(evs[0].Object) != obj || string(evs[1].Object) != obj || evs[1].Type != api.Deleted {
		t.Fatalf("events %+v", evs)
	}
}

// TestWatchDeliversWithoutLookahead checks that an event is delivered as soon as its last
// byte arrives, before anything follows it: a watch may be quiet for minutes.
func TestWatchDeliversWithoutLookahead(t *testing.T) {
	r := &Resource[*api.Pod]{endpoint: endpoint{info: podsInfo(t)}}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher[*api.Pod]{events: make(chan Event[*api.Pod], watchBuffer), cancel: cancel, body: pr, done: make(chan struct{})}
	go w.run(ctx, pr, "pods", r.decodeFrom)
	for i, ev := range []string{`{"type":"ADDED","object":{"metadata":{"name":"a"}}}`, "\n", `{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}`} {
		if _, err := pw.Write([]byte(ev)); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			continue
		}
		got := <-w.Events()
		if got.Err != nil || got.Object == nil {
			t.Fatalf("event %d: %+v", i, got)
		}
	}
	w.Stop()
	if _, ok := <-w.Events(); ok {
		t.Fatal("events still open after Stop")
	}
}

// FuzzWatchStream holds the one-pass decoding of a watch stream to the decoding it replaced
// (a json.Decoder of api.WatchEvents, then each object decoded again): the same events in the
// same order, and a broken stream ending in an error event at the same place.
func FuzzWatchStream(f *testing.F) {
	pod := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","labels":{"x":"y"}},"spec":{"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"10m"}}}]}}`
	for _, s := range []string{
		`{"type":"ADDED","object":` + pod + "}\n" + `{"type":"DELETED","object":` + pod + "}\n",
		`{"object":` + pod + `,"type":"MODIFIED"}{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}}`,
		`{"type":"ERROR","object":{"kind":"Status","reason":"Expired","code":410,"message":"too old"}}` + "\n",
		`{"type":"ADDED","object":{"metadata":{"name":"a"}}` + "\n",
		`{"Type":"ADDED","OBJECT":{"Metadata":{"Name":"a"}},"x":[1]}`,
	} {
		f.Add([]byte(s))
	}
	r := &Resource[*api.Pod]{endpoint: endpoint{info: podsInfo(f)}}
	describe := func(ev Event[*api.Pod]) string {
		if ev.Err != nil {
			var se *api.StatusError
			if errors.As(ev.Err, &se) {
				return fmt.Sprintf("%s %+v", ev.Type, se.Status)
			}
			return "broken"
		}
		b, _ := json.Marshal(ev.Object)
		return ev.Type + " " + string(b)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		var want []string
		dec := json.NewDecoder(bytes.NewReader(stream))
		for {
			var ev api.WatchEvent
			if err := dec.Decode(&ev); err != nil {
				if !errors.Is(err, io.EOF) {
					want = append(want, "broken")
				}
				break
			}
			if ev.Type == api.Error {
				want = append(want, describe(Event[*api.Pod]{Type: ev.Type, Err: watchStatusError(ev.Object)}))
				continue
			}
			obj, err := r.decode("watch", ev.Object)
			if err != nil {
				want = append(want, "broken")
				break
			}
			want = append(want, describe(Event[*api.Pod]{Type: ev.Type, Object: obj}))
		}
		var got []string
		for _, ev := range runWatch(bytes.NewReader(stream), r.decodeFrom) {
			got = append(got, describe(ev))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("stream %q\ngot  %q\nwant %q", stream, got, want)
		}
	})
}
