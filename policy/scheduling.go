package policy

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/wasmkube/wasmkube/control/api"
)

// Requested is what the pods already placed on a node ask for, as the scheduler adds it up:
// cpu in millicores, memory in bytes, and a count of pods. It has the same fields as
// scheduler.Resources, so the scheduler converts with policy.Requested(r).
type Requested struct {
	MilliCPU int64 `json:"cpu"`
	Memory   int64 `json:"memory"`
	Pods     int64 `json:"pods"`
}

// schedulingNode is the shape of the `node` variable: the Node as the API serves it, plus
// requested.
type schedulingNode struct {
	api.Node  `json:",inline"`
	Requested Requested `json:"requested"`
}

// SchedulingEnv compiles scheduling policies and prepares the inputs they are evaluated
// against. Expressions see two variables, `pod` (the pod being placed) and `node` (a candidate
// node and node.requested); doc.go lists every field. It is safe for concurrent use.
type SchedulingEnv struct {
	c         *compiler
	pod, node *objectType
}

// NewSchedulingEnv builds the scheduling environment; zero fields of cfg take their defaults.
// Building it reflects over the API types and takes about half a millisecond: build it once.
func NewSchedulingEnv(cfg Config) (*SchedulingEnv, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sch := newSchema(cfg.MaxObjectBytes, map[reflect.Type]string{
		reflect.TypeFor[schedulingNode](): "scheduling.Node",
		reflect.TypeFor[Requested]():      "scheduling.Requested",
	})
	pod, err := sch.object(reflect.TypeFor[api.Pod]())
	if err != nil {
		return nil, fmt.Errorf("build scheduling environment: %w", err)
	}
	node, err := sch.object(reflect.TypeFor[schedulingNode]())
	if err != nil {
		return nil, fmt.Errorf("build scheduling environment: %w", err)
	}
	roots := map[string]*shape{
		"pod":  {typ: pod.celType, obj: pod},
		"node": {typ: node.celType, obj: node},
	}
	c, err := newCompiler(cfg, sch, roots,
		cel.VariableWithDoc("pod", pod.celType, "the pod being scheduled"),
		cel.VariableWithDoc("node", node.celType, "a candidate node; node.requested is what is already placed on it"))
	if err != nil {
		return nil, err
	}
	return &SchedulingEnv{c: c, pod: pod, node: node}, nil
}

// Config returns the configuration the environment was built with, defaults filled in.
func (e *SchedulingEnv) Config() Config { return e.c.cfg }

// Program is a compiled scheduling policy: a filter that keeps a pod off nodes and a score that
// ranks the nodes left. Either may be absent. It is safe for concurrent use.
type Program struct {
	c             *compiler
	filter, score *compiled
	reads         podReads // what filter and score read of `pod` (podkey.go)
	// readsRequested: filter or score reads node.requested, or may.
	readsRequested bool
}

// Compile compiles and type-checks a policy's expressions once; the Program evaluates them
// many times. filter must evaluate to bool; score to int, uint or double (Score converts it to
// float64). Either may be empty, not both. An expression that does not parse, does not
// type-check, has the wrong result type or whose estimated worst-case cost exceeds the cost
// limit is returned as a *CompileError (the first of the two that fails).
func (e *SchedulingEnv) Compile(filter, score string) (*Program, error) {
	if filter == "" && score == "" {
		return nil, &CompileError{Field: "filter", Message: "a scheduling policy needs a filter, a score or both"}
	}
	p := &Program{c: e.c}
	var err error
	if filter != "" {
		if p.filter, err = e.c.compile("filter", filter, types.BoolType); err != nil {
			return nil, err
		}
	}
	if score != "" {
		if p.score, err = e.c.compile("score", score, types.DoubleType, types.IntType, types.UintType); err != nil {
			return nil, err
		}
	}
	for _, c := range []*compiled{p.filter, p.score} {
		if c != nil {
			r := readsOf(c.expr, "pod")
			p.reads.opaque = p.reads.opaque || r.opaque
			p.reads.paths = append(p.reads.paths, r.paths...)
			n := readsOf(c.expr, "node")
			p.readsRequested = p.readsRequested || n.opaque
			for _, path := range n.paths {
				p.readsRequested = p.readsRequested || path[0].name == "requested"
			}
		}
	}
	return p, nil
}

// Cost returns the estimated worst-case cost of one evaluation of the filter and of the score
// (0 for an absent one); both are within the cost limit.
func (p *Program) Cost() (filter, score uint64) {
	if p.filter != nil {
		filter = p.filter.cost
	}
	if p.score != nil {
		score = p.score.cost
	}
	return filter, score
}

// HasFilter reports whether the policy has a filter.
func (p *Program) HasFilter() bool { return p.filter != nil }

// HasScore reports whether the policy has a score.
func (p *Program) HasScore() bool { return p.score != nil }

// errNilInput is returned for a nil PodInput or NodeInput.
var errNilInput = errors.New("nil pod or node input")

// Filter reports whether the policy lets pod go on node; without a filter it always does. An
// evaluation error, such as a missing map key or a cost overrun (wrapping ErrCostLimit), is
// returned as an error: the scheduler excludes the node and records why.
func (p *Program) Filter(pod *PodInput, node *NodeInput) (bool, error) {
	if p.filter == nil {
		return true, nil
	}
	if pod == nil || node == nil {
		return false, errNilInput
	}
	out, _, err := p.filter.prg.Eval(&activation{pod: pod.v, node: node.v})
	if err != nil {
		return false, p.c.evalError("filter", err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("evaluate filter: got %s, want bool", out.Type().TypeName())
	}
	return bool(b), nil
}

// Score ranks node for pod; without a score it is 0. An evaluation error, or a result that is
// NaN or infinite, is an error.
func (p *Program) Score(pod *PodInput, node *NodeInput) (float64, error) {
	if p.score == nil {
		return 0, nil
	}
	if pod == nil || node == nil {
		return 0, errNilInput
	}
	out, _, err := p.score.prg.Eval(&activation{pod: pod.v, node: node.v})
	if err != nil {
		return 0, p.c.evalError("score", err)
	}
	var f float64
	switch v := out.(type) {
	case types.Double:
		f = float64(v)
	case types.Int:
		f = float64(v)
	case types.Uint:
		f = float64(v)
	default:
		return 0, fmt.Errorf("evaluate score: got %s, want a number", out.Type().TypeName())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("evaluate score: %v is not a finite number", f)
	}
	return f, nil
}

// activation binds the two variables without a map.
type activation struct{ pod, node *object }

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "pod":
		return a.pod, true
	case "node":
		return a.node, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// PodInput is a pod prepared for evaluation: each field is converted the first time an
// expression reads it and kept, so make one input per scheduling decision and evaluate it
// against every node. It is safe for concurrent use. It reads the pod when a field is first
// used, so the pod must not be modified while the input is in use (informer caches never are;
// modify a copy).
type PodInput struct{ v *object }

// NewPodInput prepares pod for programs of this environment; it converts nothing yet.
func (e *SchedulingEnv) NewPodInput(pod *api.Pod) *PodInput {
	return &PodInput{v: e.pod.convert(reflect.ValueOf(pod).Elem())}
}

// NodeInput is a node and what is placed on it, prepared for evaluation: each field is
// converted the first time an expression reads it and kept. Make one when the node changes and
// keep it in the scheduler's snapshot; when only what is placed on the node changes,
// WithRequested keeps what was converted. It is safe for concurrent use. It shares the node's
// maps and slices, so they must not be modified while the input is in use.
type NodeInput struct{ v *object }

// NewNodeInput prepares node, with req already placed on it, for programs of this environment.
// It copies the Node struct and converts nothing yet.
func (e *SchedulingEnv) NewNodeInput(node *api.Node, req Requested) *NodeInput {
	sn := schedulingNode{Node: *node, Requested: req}
	return &NodeInput{v: e.node.convert(reflect.ValueOf(&sn).Elem())}
}

// WithRequested returns the same node with req placed on it instead, sharing what has been
// converted of the node.
func (n *NodeInput) WithRequested(req Requested) *NodeInput {
	t := n.v.t
	o := &object{t: t, src: n.v.src, f: make([]atomic.Pointer[fieldVal], len(n.v.f))}
	for i := range o.f {
		o.f[i].Store(n.v.f[i].Load())
	}
	// The requested field is stored up front, so the stale one in src is never read.
	f := t.byName["requested"]
	val, set := f.shape.conv(reflect.ValueOf(&req).Elem())
	if !set {
		val = f.shape.zeroValue()
	}
	o.f[f.pos].Store(&fieldVal{v: val, set: set})
	return &NodeInput{v: o}
}
