package apiserver

import "testing"

// TestProtoDaemonSet decodes a DaemonSet as client-go's typed clients send it in protobuf.
func TestProtoDaemonSet(t *testing.T) {
	zeroTime := pb{}.varint(1, uint64(0xFFFFFFF1886E0900))
	meta := pb{}.str(1, "agent").bytes(8, zeroTime).bytes(11, pb{}.str(1, "app").str(2, "agent"))
	container := pb{}.str(1, "agent").str(2, "agent:v1").bytes(8, pb{}).str(13, "").varint(16, 0)
	selector := pb{}.bytes(1, pb{}.str(1, "app").str(2, "agent"))
	template := pb{}.bytes(1, pb{}.bytes(11, pb{}.str(1, "app").str(2, "agent"))).bytes(2, pb{}.bytes(2, container))
	strategy := pb{}.str(1, "RollingUpdate").bytes(2, pb{}.
		bytes(1, pb{}.varint(1, 1).str(3, "20%")).
		bytes(2, pb{}.varint(1, 0).varint(2, 0)))
	spec := pb{}.bytes(1, selector).bytes(2, template).bytes(3, strategy).varint(4, 5).varint(6, 3)
	got, err := protoToJSON(envelope("DaemonSet", "apps/v1", pb{}.bytes(1, meta).bytes(2, spec).bytes(3, pb{})), map[string]bool{"DaemonSet": true})
	want := `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"labels":{"app":"agent"},"name":"agent"},"spec":{"minReadySeconds":5,"revisionHistoryLimit":3,"selector":{"matchLabels":{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"}},"spec":{"containers":[{"image":"agent:v1","name":"agent","resources":{}}]}},"updateStrategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":"20%"},"type":"RollingUpdate"}},"status":{}}`
	if err != nil || string(got) != want {
		t.Fatalf("got %s %v\nwant %s", got, err, want)
	}
}
