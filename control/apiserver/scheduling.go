package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/store"
	"github.com/wasmkube/wasmkube/policy"
)

// schedulingAdmission holds what the API server needs to admit scheduling objects: the CEL
// environment SchedulingPolicy expressions are compiled in, built on first use.
type schedulingAdmission struct {
	once sync.Once
	env  *policy.SchedulingEnv
	err  error
}

func (a *schedulingAdmission) environment() (*policy.SchedulingEnv, error) {
	a.once.Do(func() { a.env, a.err = policy.NewSchedulingEnv(policy.DefaultConfig()) })
	return a.env, a.err
}

// admit runs the checks that need more than the object itself, after api.Validate: a
// SchedulingPolicy's expressions must compile and type-check (422 with the compiler's message
// under spec.filter or spec.score), a new pod's priorityClassName is resolved into
// spec.priority (an unknown class is 403 Forbidden, as Kubernetes' Priority admission
// answers), and a node's NoExecute taints get their timeAdded (kept from old, else now), from
// which tolerationSeconds count. old is nil on create.
func (s *Server) admit(ctx context.Context, r *resource, obj, old api.Object) error {
	switch o := obj.(type) {
	case *api.SchedulingPolicy:
		return s.admitSchedulingPolicy(r, o)
	case *api.Pod:
		if old == nil {
			return s.resolvePriority(ctx, o)
		}
	case *api.Node:
		was, _ := old.(*api.Node)
		stampTaints(o, was)
	}
	return nil
}

// stampTaints sets timeAdded on the NoExecute taints of n that lack it: the time of the same
// taint (key and effect) on was, else now.
func stampTaints(n, was *api.Node) {
	for i := range n.Spec.Taints {
		t := &n.Spec.Taints[i]
		if t.Effect != api.TaintNoExecute || t.TimeAdded != nil {
			continue
		}
		if was != nil {
			for _, o := range was.Spec.Taints {
				if o.Key == t.Key && o.Effect == t.Effect && o.TimeAdded != nil {
					t.TimeAdded = o.TimeAdded
				}
			}
		}
		if t.TimeAdded == nil {
			t.TimeAdded = api.Ptr(api.Now())
		}
	}
}

func (s *Server) admitSchedulingPolicy(r *resource, sp *api.SchedulingPolicy) error {
	env, err := s.sched.environment()
	if err != nil {
		return api.InternalError(fmt.Errorf("build scheduling policy environment: %w", err))
	}
	if _, err := env.Compile(sp.Spec.Filter, sp.Spec.Score); err != nil {
		var ce *policy.CompileError
		if !errors.As(err, &ce) {
			return api.InternalError(fmt.Errorf("compile scheduling policy: %w", err))
		}
		val := sp.Spec.Filter
		if ce.Field == "score" {
			val = sp.Spec.Score
		}
		return api.Invalid(r.GroupKind(), sp.Name, api.FieldErrors{
			api.InvalidValue(api.Path("spec").Child(ce.Field), val, "compilation failed: "+ce.Message)})
	}
	return nil
}

// keepAdmittedPriority keeps what priority admission set on create: an update that leaves
// spec.priority or spec.preemptionPolicy out keeps the stored values, as Kubernetes'
// Priority plugin does (validation refuses any other change to them).
func keepAdmittedPriority(pod, was *api.Pod) {
	if pod.Spec.Priority == nil {
		pod.Spec.Priority = was.Spec.Priority
	}
	if pod.Spec.PreemptionPolicy == nil {
		pod.Spec.PreemptionPolicy = was.Spec.PreemptionPolicy
	}
}

// resolvePriority sets pod.spec.priority and spec.preemptionPolicy from its PriorityClass, or
// from the global default class when it names none (0 and PreemptLowerPriority when there
// is none), as Kubernetes' Priority admission does. A pod may state either value only if it
// is the one so computed; otherwise it is 403 Forbidden, worded as Kubernetes words it.
func (s *Server) resolvePriority(ctx context.Context, pod *api.Pod) error {
	pc, err := s.priorityClassOf(ctx, pod)
	if err != nil {
		return err
	}
	priority, policy := int32(0), api.PreemptLowerPriority
	if pc != nil {
		pod.Spec.PriorityClassName = pc.Name
		priority = pc.Value
		if pc.PreemptionPolicy != nil {
			policy = *pc.PreemptionPolicy
		}
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return api.NewStatusError(http.StatusForbidden, api.ReasonForbidden,
			fmt.Sprintf("pods %q is forbidden: the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name",
				pod.Name, *pod.Spec.Priority, priority))
	}
	if pp := pod.Spec.PreemptionPolicy; pp != nil && *pp != policy {
		return api.NewStatusError(http.StatusForbidden, api.ReasonForbidden,
			fmt.Sprintf("pods %q is forbidden: the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name",
				pod.Name, *pp, policy))
	}
	pod.Spec.Priority = api.Ptr(priority)
	pod.Spec.PreemptionPolicy = api.Ptr(policy)
	return nil
}

// priorityClassOf returns the PriorityClass a new pod names, or the global default class
// (the highest value among those marked globalDefault) when it names none; nil when neither
// exists. A named class that does not exist is 403
// Forbidden, as Kubernetes' Priority admission answers.
func (s *Server) priorityClassOf(ctx context.Context, pod *api.Pod) (*api.PriorityClass, error) {
	pcs := s.byName["priorityclasses"]
	name := pod.Spec.PriorityClassName
	if name == "" {
		var def *api.PriorityClass
		if objs, _, ok := pcs.cache.snapshot(store.Prefix(pcs.Resource, ""), 0); ok {
			for _, co := range objs {
				o, err := co.object()
				if pc, ok := o.(*api.PriorityClass); err == nil && ok && pc.GlobalDefault {
					if def == nil || pc.Value > def.Value {
						def = pc
					}
				}
			}
		}
		return def, nil
	}
	var pc *api.PriorityClass
	if co := pcs.cache.get(key(pcs, "", name)); co != nil {
		if o, err := co.object(); err == nil {
			pc, _ = o.(*api.PriorityClass)
		}
	}
	if pc == nil {
		kv, err := s.store.Get(ctx, key(pcs, "", name))
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.NewStatusError(http.StatusForbidden, api.ReasonForbidden,
				fmt.Sprintf("pods %q is forbidden: no PriorityClass with name %s was found", pod.Name, name))
		}
		if err != nil {
			return nil, storeError(pcs, name, err)
		}
		o, err := decodeStored(pcs, kv.Value, kv.Revision)
		if err != nil {
			return nil, api.InternalError(err)
		}
		pc = o.(*api.PriorityClass)
	}
	return pc, nil
}
