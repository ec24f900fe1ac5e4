package policy_test

import (
	"errors"
	"fmt"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/policy"
)

func ExampleSchedulingEnv_Compile() {
	env, err := policy.NewSchedulingEnv(policy.DefaultConfig())
	if err != nil {
		panic(err)
	}
	_, err = env.Compile(`pod.metadata.lables.zone == "a"`, "")
	var ce *policy.CompileError
	fmt.Println(errors.As(err, &ce), ce.Field)
	fmt.Println(ce.Message)

	p, err := env.Compile(
		`has(pod.metadata.labels.zone) ? node.metadata.labels.zone == pod.metadata.labels.zone : true`,
		`double(node.status.allocatable.memory - node.requested.memory) / 1e9`)
	if err != nil {
		panic(err)
	}
	pod := env.NewPodInput(&api.Pod{ObjectMeta: api.ObjectMeta{Name: "web", Labels: map[string]string{"zone": "a"}}})
	node := env.NewNodeInput(&api.Node{
		ObjectMeta: api.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}},
		Status:     api.NodeStatus{Allocatable: api.ResourceList{"memory": api.MustParseQuantity("8G")}},
	}, policy.Requested{Memory: 2e9})
	ok, err := p.Filter(pod, node)
	fmt.Println(ok, err)
	score, err := p.Score(pod, node)
	fmt.Println(score, err)
	// Output:
	// true filter
	// ERROR: <input>:1:13: undefined field 'lables'
	//  | pod.metadata.lables.zone == "a"
	//  | ............^
	// true <nil>
	// 6 <nil>
}
