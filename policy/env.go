package policy

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// This file holds what every environment shares: configuration, compile errors, the cost
// estimator and evaluation. An environment (scheduling.go; admission later) adds its variables
// and its own Program type on top.

// Defaults for Config. The two cost limits are Kubernetes' (PerCallLimit and
// StaticEstimatedCostLimit, used for CRD validation rules and ValidatingAdmissionPolicy). A
// typical scheduling policy costs 5 to 50.
const (
	// DefaultCostLimit is the cost budget of one evaluation, about 80 ms of the most expensive
	// operations (measured: scanning a map).
	DefaultCostLimit = 1_000_000
	// DefaultEstimatedCostLimit is the largest estimated worst case Compile accepts. It is
	// above DefaultCostLimit because the worst case assumes objects of the largest size the
	// store accepts: one scan over a pod's containers or labels is accepted, a scan nested in
	// another is not.
	DefaultEstimatedCostLimit = 10_000_000
	// DefaultMaxObjectBytes is etcd's request limit, so no stored object is larger.
	DefaultMaxObjectBytes = 3 << 19 // 1.5 MiB
)

// minObjectBytes is the smallest MaxObjectBytes Validate accepts: a store that cannot hold a
// small pod is a misconfiguration.
const minObjectBytes = 512

// MaxExpressionBytes is the longest expression Compile accepts.
const MaxExpressionBytes = 10 << 10

// Config configures an environment. The API server, which validates policies, and the
// scheduler, which runs them, must use the same Config, so that a policy the API accepted
// compiles in the scheduler.
type Config struct {
	// CostLimit bounds one evaluation of one expression, in CEL cost units: about one per
	// operation, with string and collection operations charged by size. An evaluation that
	// goes over fails with ErrCostLimit. Zero means DefaultCostLimit.
	CostLimit uint64
	// EstimatedCostLimit is the largest estimated worst-case cost of one evaluation Compile
	// accepts; an expression over it is a CompileError. Zero means DefaultEstimatedCostLimit.
	EstimatedCostLimit uint64
	// MaxObjectBytes is the largest object the API stores. The cost estimator assumes no
	// string, list or map in an input is larger (tighter where the API validates sizes, e.g.
	// 63 bytes for a label value), which makes estimates finite and sound for stored objects.
	// Zero means DefaultMaxObjectBytes.
	MaxObjectBytes uint64
}

// DefaultConfig returns the configuration wasmkube runs with.
func DefaultConfig() Config {
	return Config{CostLimit: DefaultCostLimit, EstimatedCostLimit: DefaultEstimatedCostLimit,
		MaxObjectBytes: DefaultMaxObjectBytes}
}

// Default fills unset fields with their defaults.
func (c *Config) Default() {
	if c.CostLimit == 0 {
		c.CostLimit = DefaultCostLimit
	}
	if c.EstimatedCostLimit == 0 {
		c.EstimatedCostLimit = DefaultEstimatedCostLimit
	}
	if c.MaxObjectBytes == 0 {
		c.MaxObjectBytes = DefaultMaxObjectBytes
	}
}

// Validate reports a field that cannot be used.
func (c Config) Validate() error {
	if c.MaxObjectBytes != 0 && c.MaxObjectBytes < minObjectBytes {
		return fmt.Errorf("policy config: max-object-bytes %d: must be 0 (the default) or at least %d", c.MaxObjectBytes, minObjectBytes)
	}
	return nil
}

// ErrCostLimit is wrapped by an evaluation error when an expression ran over its cost limit.
var ErrCostLimit = errors.New("cost limit exceeded")

// CompileError is an expression that cannot be used: it does not parse, names a field or
// function that does not exist, has the wrong result type, or may cost more than the limit.
// The API server answers 422 with it, pointing at Field.
type CompileError struct {
	// Field is which expression failed, as named in the policy: "filter" or "score".
	Field string
	// Expression is the expression as given.
	Expression string
	// Message is the compiler's explanation; for syntax and type errors it is cel's own
	// message, with the position and a caret under the offending text.
	Message string
}

// Error implements error.
func (e *CompileError) Error() string { return e.Field + ": " + e.Message }

// compiler compiles expressions in one environment.
type compiler struct {
	env *cel.Env
	cfg Config
	est estimator
}

// newCompiler makes an environment with the schema's object types and vars. Every environment
// gets the standard library, optional types (`node.metadata.labels.?zone.orValue("")`), and
// comparisons between int, uint and double.
func newCompiler(cfg Config, sch *schema, roots map[string]*shape, vars ...cel.EnvOption) (*compiler, error) {
	opts := []cel.EnvOption{
		cel.Types(sch.types()...),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxExpressionBytes),
	}
	env, err := cel.NewEnv(append(opts, vars...)...)
	if err != nil {
		return nil, fmt.Errorf("build cel environment: %w", err)
	}
	return &compiler{env: env, cfg: cfg, est: estimator{roots: roots}}, nil
}

// compiled is one compiled expression.
type compiled struct {
	prg  cel.Program
	cost uint64 // estimated worst-case cost of one evaluation
	// tracked is whether evaluation runs cel's cost tracker (see compile).
	tracked bool
	// expr is the checked expression, for environments that analyse what it reads.
	expr celast.Expr
}

// compile parses, type-checks and plans expr; its result type must be one of want.
//
// Every expression's estimated worst-case cost must be within EstimatedCostLimit. Expressions
// with a comprehension (all, exists, map, filter, ...) or an estimate over CostLimit are
// evaluated under cel.CostLimit, which stops them at CostLimit. The others are not: their cost
// is a sum over a bounded number of operations that the estimate already holds under CostLimit
// for any stored object, and the tracker (which charges an operation after running it) could
// stop at most the last few of them. Leaving it out halves the time of a typical evaluation
// (measured: ~650 ns and 5 allocations with it, ~300 ns and 1 without).
func (c *compiler) compile(field, expr string, want ...*types.Type) (*compiled, error) {
	fail := func(format string, args ...any) (*compiled, error) {
		return nil, &CompileError{Field: field, Expression: expr, Message: fmt.Sprintf(format, args...)}
	}
	ast, iss := c.env.Compile(expr)
	if iss.Err() != nil {
		return fail("%s", strings.TrimSpace(iss.Err().Error()))
	}
	out := ast.OutputType()
	ok := false
	for _, w := range want {
		ok = ok || out.IsExactType(w)
	}
	if !ok {
		names := make([]string, len(want))
		for i, w := range want {
			names[i] = w.String()
		}
		return fail("must evaluate to %s, but evaluates to %s", strings.Join(names, " or "), out)
	}
	est, err := c.env.EstimateCost(ast, c.est)
	if err != nil {
		return fail("estimate cost: %v", err)
	}
	if est.Max == math.MaxUint64 {
		return fail("cost has no upper bound; the limit is %d", c.cfg.EstimatedCostLimit)
	}
	if est.Max > c.cfg.EstimatedCostLimit {
		return fail("estimated worst-case cost %d exceeds the limit %d (a scan over a map or list is "+
			"charged for the largest one a stored object can hold, and a nested scan multiplies; "+
			"test keys with `in` or has() instead of scanning)", est.Max, c.cfg.EstimatedCostLimit)
	}
	loops := celast.MatchDescendants(celast.NavigateAST(ast.NativeRep()), celast.KindMatcher(celast.ComprehensionKind))
	tracked := len(loops) > 0 || est.Max > c.cfg.CostLimit
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if tracked {
		opts = append(opts, cel.CostLimit(c.cfg.CostLimit))
	}
	prg, err := c.env.Program(ast, opts...)
	if err != nil {
		return fail("%v", err)
	}
	return &compiled{prg: prg, cost: est.Max, tracked: tracked, expr: ast.NativeRep().Expr()}, nil
}

// evalError names what failed and marks a cost overrun with ErrCostLimit.
func (c *compiler) evalError(field string, err error) error {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return fmt.Errorf("evaluate %s: %w (limit %d)", field, ErrCostLimit, c.cfg.CostLimit)
	}
	return fmt.Errorf("evaluate %s: %w", field, err)
}

// estimator gives cel's cost estimator the size bounds of the schema: a path from a variable
// through field names, "@items", "@keys" and "@values" is walked through the shapes.
type estimator struct {
	roots map[string]*shape
}

// EstimateSize implements cost.Estimator.
func (e estimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	s := e.roots[path[0]]
	for _, p := range path[1:] {
		s = s.child(p)
	}
	if s == nil || s.max == 0 {
		return nil
	}
	return &cost.SizeEstimate{Min: 0, Max: s.max}
}

// EstimateCallCost implements cost.Estimator; every function is a standard one.
func (estimator) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}
