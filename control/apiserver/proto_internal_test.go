package apiserver

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// pb builds protobuf messages for tests.
type pb []byte

func (m pb) str(num int, s string) pb { return m.bytes(num, []byte(s)) }

func (m pb) bytes(num int, b []byte) pb {
	m = binary.AppendUvarint(m, uint64(num<<3|2))
	m = binary.AppendUvarint(m, uint64(len(b)))
	return append(m, b...)
}

func (m pb) varint(num int, v uint64) pb {
	m = binary.AppendUvarint(m, uint64(num<<3))
	return binary.AppendUvarint(m, v)
}

func envelope(kind, apiVersion string, raw pb) []byte {
	return append([]byte("k8s\x00"), pb{}.bytes(1, pb{}.str(1, apiVersion).str(2, kind)).bytes(2, raw)...)
}

func TestProtoToJSON(t *testing.T) {
	zeroTime := pb{}.varint(1, uint64(0xFFFFFFF1886E0900)) // -62135596800 as a varint
	meta := pb{}.str(1, "web").str(2, "").bytes(8, zeroTime).bytes(11, pb{}.str(1, "app").str(2, "web"))
	container := pb{}.str(1, "app").str(2, "app:1").bytes(8, pb{}).str(13, "").varint(16, 0)
	spec := pb{}.varint(1, 2).bytes(3, pb{}.bytes(2, pb{}.bytes(2, container)))
	cases := []struct {
		name, want string
		raw        pb
		code       int
	}{
		{name: "deployment",
			raw:  pb{}.bytes(1, meta).bytes(2, spec).bytes(3, pb{}),
			want: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web"},"spec":{"replicas":2,"template":{"spec":{"containers":[{"image":"app:1","name":"app","resources":{}}]}}},"status":{}}`},
		{name: "unknown non-zero field",
			raw:  pb{}.bytes(1, meta).bytes(2, pb{}.varint(8, 1)),
			code: 422, want: "spec.<protobuf field 8 of DeploymentSpec>"},
		{name: "malformed", raw: pb{0x0a, 0x05, 1}, code: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := protoToJSON(envelope("Deployment", "apps/v1", c.raw), map[string]bool{"Deployment": true})
			if c.code != 0 {
				if api.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %s %v, want %d naming %q", got, err, c.code, c.want)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("got %s %v\nwant %s", got, err, c.want)
			}
		})
	}
	if _, err := protoToJSON(envelope("Pod", "v1", nil), map[string]bool{"Deployment": true}); api.CodeOf(err) != 415 {
		t.Fatalf("a kind other than the path's: %v, want 415", err)
	}
}

func TestProtoToJSONConfig(t *testing.T) {
	meta := pb{}.str(1, "cfg")
	entry := func(k string, v []byte) pb { return pb{}.str(1, k).bytes(2, v) }
	cases := []struct {
		kind, want string
		raw        pb
	}{
		{"ConfigMap", `{"apiVersion":"v1","binaryData":{"b":"AAE="},"data":{"a":"x"},"immutable":true,"kind":"ConfigMap","metadata":{"name":"cfg"}}`,
			pb{}.bytes(1, meta).bytes(2, entry("a", []byte("x"))).bytes(3, entry("b", []byte{0, 1})).varint(4, 1)},
		{"Secret", `{"apiVersion":"v1","data":{"k":"c2VjcmV0"},"kind":"Secret","metadata":{"name":"cfg"},"stringData":{"s":"plain"},"type":"Opaque"}`,
			pb{}.bytes(1, meta).bytes(2, entry("k", []byte("secret"))).str(3, "Opaque").bytes(4, entry("s", []byte("plain"))).varint(5, 0)},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			got, err := protoToJSON(envelope(c.kind, "v1", c.raw), map[string]bool{c.kind: true})
			if err != nil || string(got) != c.want {
				t.Fatalf("got %s %v\nwant %s", got, err, c.want)
			}
		})
	}
}

// TestProtoToJSONPodConfig decodes the pod fields that consume ConfigMaps and Secrets,
// keeping a file mode of 0, which protobuf sends because Kubernetes holds it by pointer.
func TestProtoToJSONPodConfig(t *testing.T) {
	ref := func(name string) pb { return pb{}.str(1, name) }
	env := pb{}.str(1, "A").bytes(3, pb{}.bytes(3, pb{}.bytes(1, ref("cm")).str(2, "k").varint(3, 1)))
	env2 := pb{}.str(1, "B").bytes(3, pb{}.bytes(4, pb{}.bytes(1, ref("sec")).str(2, "k")))
	from := pb{}.str(1, "P_").bytes(3, pb{}.bytes(1, ref("sec")))
	container := pb{}.str(1, "app").str(2, "app:1").bytes(7, env).bytes(7, env2).bytes(19, from)
	item := pb{}.str(1, "k").str(2, "dir/k").varint(3, 0)
	cmVol := pb{}.str(1, "c").bytes(2, pb{}.bytes(19, pb{}.bytes(1, ref("cm")).bytes(2, item).varint(3, 0o600)))
	secVol := pb{}.str(1, "s").bytes(2, pb{}.bytes(6, pb{}.str(1, "sec").varint(3, 0).varint(4, 1)))
	raw := pb{}.bytes(1, pb{}.str(1, "p")).bytes(2, pb{}.bytes(1, cmVol).bytes(1, secVol).bytes(2, container))
	got, err := protoToJSON(envelope("Pod", "v1", raw), map[string]bool{"Pod": true})
	want := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"env":[` +
		`{"name":"A","valueFrom":{"configMapKeyRef":{"key":"k","name":"cm","optional":true}}},` +
		`{"name":"B","valueFrom":{"secretKeyRef":{"key":"k","name":"sec"}}}],` +
		`"envFrom":[{"prefix":"P_","secretRef":{"name":"sec"}}],"image":"app:1","name":"app"}],` +
		`"volumes":[{"configMap":{"defaultMode":384,"items":[{"key":"k","mode":0,"path":"dir/k"}],"name":"cm"},"name":"c"},` +
		`{"name":"s","secret":{"defaultMode":0,"optional":true,"secretName":"sec"}}]}}`
	if err != nil || string(got) != want {
		t.Fatalf("got %s %v\nwant %s", got, err, want)
	}
}
