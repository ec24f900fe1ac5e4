package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/store"
)

// The pods/eviction subresource, as Kubernetes' pkg/registry/core/pod/storage/eviction.go:
// a pod that is not running (pending, terminal, or already being deleted) is deleted at
// once; a running pod is deleted only if the one PodDisruptionBudget that selects it (if
// any) allows a disruption, which the eviction spends with a compare-and-swap on the
// budget's status, recording the pod in status.disruptedPods.

// maxDisruptedPods bounds status.disruptedPods: beyond it, evictions the controller has not
// confirmed are too many and further ones are refused (Kubernetes' MaxDisruptedPodSize).
const maxDisruptedPods = 2000

// evictionRetries bounds the attempts of an eviction that races with writes of its pod.
const evictionRetries = 20

const msgViolatesBudget = "Cannot evict pod as it would violate the pod's disruption budget."

// tooManyRequests is the 429 that tells a client (kubectl drain) to retry the eviction later.
func tooManyRequests(cause string) error {
	e := api.NewStatusError(http.StatusTooManyRequests, api.ReasonTooManyRequests, msgViolatesBudget)
	e.Status.Details = &api.StatusDetails{Causes: []api.StatusCause{{Type: api.DisruptionBudgetCause, Message: cause}}}
	return e
}

func budgetForbidden(name, why string) error {
	e := api.NewStatusError(http.StatusForbidden, api.ReasonForbidden,
		fmt.Sprintf("poddisruptionbudget.policy %q is forbidden: %s", name, why))
	e.Status.Details = &api.StatusDetails{Name: name, Group: "policy", Kind: "poddisruptionbudget"}
	return e
}

// decodeEviction reads the Eviction body (JSON, YAML or protobuf; policy/v1 or v1beta1).
func (s *Server) decodeEviction(rq *request) (*api.Eviction, error) {
	body, err := s.typedBody(rq.req, "Eviction")
	if err != nil {
		return nil, err
	}
	var ev api.Eviction
	if err := s.dec.Decode(body, &ev); err != nil {
		if errors.Is(err, api.ErrMalformed) {
			return nil, api.BadRequest(fmt.Sprintf("the body of the request could not be decoded: %v", err))
		}
		var fe api.FieldErrors
		if errors.As(err, &fe) {
			return nil, api.Invalid(api.GroupKind{Group: "policy", Kind: "Eviction"}, rq.name, fe)
		}
		return nil, api.BadRequest(err.Error())
	}
	if (ev.Kind != "" && ev.Kind != "Eviction") ||
		(ev.APIVersion != "" && ev.APIVersion != "policy/v1" && ev.APIVersion != "policy/v1beta1") {
		return nil, api.BadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (policy/v1), or the kind (%s) does not match Eviction", ev.APIVersion, ev.Kind))
	}
	if ev.Name != "" && ev.Name != rq.name {
		return nil, api.BadRequest("name in URL does not match name in Eviction object")
	}
	if ev.Namespace != "" && ev.Namespace != rq.namespace {
		return nil, api.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return &ev, nil
}

// serveEviction evicts a pod (POST pods/NAME/eviction).
func (s *Server) serveEviction(rq *request) error {
	ev, err := s.decodeEviction(rq)
	if err != nil {
		return err
	}
	var orig deleteOptions
	if ev.DeleteOptions != nil {
		orig.DeleteOptions = *ev.DeleteOptions
	}
	if err := completeDeleteOptions(&orig, rq.q); err != nil {
		return err
	}
	rvGiven := orig.Preconditions != nil && orig.Preconditions.ResourceVersion != nil && *orig.Preconditions.ResourceVersion != ""

	// A pod that is not running is deleted without looking at budgets: it disrupts nothing
	// more than it already does.
	var pod *api.Pod
	for attempt := 0; ; attempt++ {
		if pod, err = s.getPod(rq); err != nil {
			return err
		}
		if !canIgnoreBudget(pod) {
			break
		}
		o := orig
		if shouldEnforceResourceVersion(pod) && !rvGiven {
			o = withRVPrecondition(orig, pod.ResourceVersion)
		}
		err = s.evictPod(rq, o)
		if err == nil {
			return writeEvicted(rq)
		}
		if !api.IsConflict(err) || rvGiven || attempt >= evictionRetries {
			return err
		}
	}

	pdbs, err := s.budgetsOf(rq, pod)
	if err != nil {
		return err
	}
	if len(pdbs) > 1 {
		writeJSON(rq.w, http.StatusInternalServerError, &api.Status{
			TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: api.StatusFailure,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
			Code:    http.StatusInternalServerError,
		})
		return nil
	}
	pdbName := ""
	unhealthyOK := false // a not-ready pod whose budget lets it go without spending a disruption
	if len(pdbs) == 1 {
		pdb := pdbs[0]
		pdbName = pdb.Name
		if !podReady(pod) {
			if api.Deref(pdb.Spec.UnhealthyPodEvictionPolicy, api.IfHealthyBudget) == api.AlwaysAllow ||
				pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0 {
				unhealthyOK = true
			}
		}
		if !unhealthyOK {
			if err := s.spendDisruption(rq, pdb.Name, pod.Name, orig.dryRun); err != nil {
				return err
			}
		}
	}
	o := orig
	if unhealthyOK {
		// The pod must not have become ready since the budget was judged.
		o = withRVPrecondition(orig, pod.ResourceVersion)
	}
	if err := s.evictPod(rq, o); err != nil {
		if api.IsConflict(err) && unhealthyOK && !rvGiven {
			return tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdbName))
		}
		return err
	}
	return writeEvicted(rq)
}

func writeEvicted(rq *request) error {
	writeJSON(rq.w, http.StatusCreated, &api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: api.StatusSuccess, Code: http.StatusCreated,
	})
	return nil
}

func (s *Server) getPod(rq *request) (*api.Pod, error) {
	kv, err := s.store.Get(rq.ctx, key(rq.res, rq.namespace, rq.name))
	if err != nil {
		return nil, storeError(rq.res, rq.name, err)
	}
	obj, err := decodeStored(rq.res, kv.Value, kv.Revision)
	if err != nil {
		return nil, api.InternalError(err)
	}
	return obj.(*api.Pod), nil
}

// canIgnoreBudget: pending, terminal and terminating pods are evicted without a budget.
func canIgnoreBudget(pod *api.Pod) bool {
	switch pod.Status.Phase {
	case api.PodSucceeded, api.PodFailed, api.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

// shouldEnforceResourceVersion: a running pod is deleted only as it was judged, so that it
// cannot have become ready (and guarded by a budget) in between.
func shouldEnforceResourceVersion(pod *api.Pod) bool {
	return pod.Status.Phase != api.PodSucceeded && pod.Status.Phase != api.PodFailed && pod.DeletionTimestamp == nil
}

func withRVPrecondition(o deleteOptions, rv string) deleteOptions {
	p := api.Preconditions{}
	if o.Preconditions != nil {
		p = *o.Preconditions
	}
	p.ResourceVersion = &rv
	o.Preconditions = &p
	return o
}

func podReady(p *api.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// budgetsOf lists, from etcd, the PodDisruptionBudgets of pod's namespace whose selector
// matches it; a null or empty selector matches nothing here, as in Kubernetes.
func (s *Server) budgetsOf(rq *request, pod *api.Pod) ([]*api.PodDisruptionBudget, error) {
	r := s.byName["poddisruptionbudgets"]
	if r == nil {
		return nil, nil
	}
	res, err := s.store.List(rq.ctx, listPrefix(r, pod.Namespace), store.ListOptions{})
	if err != nil {
		return nil, storeError(r, "", err)
	}
	var out []*api.PodDisruptionBudget
	for _, kv := range res.Items {
		obj, err := decodeStored(r, kv.Value, kv.Revision)
		if err != nil {
			return nil, api.InternalError(err)
		}
		pdb := obj.(*api.PodDisruptionBudget)
		sel, err := api.SelectorOf(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out, nil
}

// spendDisruption checks that the budget allows a disruption and takes one, recording the
// pod in disruptedPods, in one compare-and-swap of the budget's status: concurrent
// evictions are retried against the new status, so together they never spend more than
// it allowed.
func (s *Server) spendDisruption(rq *request, pdbName, podName string, dryRun bool) error {
	r := s.byName["poddisruptionbudgets"]
	mutate := func(cur api.Object, curJSON []byte) (api.Object, error) {
		c := cur.(*api.PodDisruptionBudget)
		st := &c.Status
		switch {
		case st.ObservedGeneration < c.Generation:
			return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", c.Name))
		case st.DisruptionsAllowed < 0:
			return nil, budgetForbidden(c.Name, "pdb disruptions allowed is negative")
		case len(st.DisruptedPods) > maxDisruptedPods:
			return nil, budgetForbidden(c.Name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
		case st.DisruptionsAllowed == 0:
			return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently",
				c.Name, st.DesiredHealthy, st.CurrentHealthy))
		}
		obj, err := copyOf(r, curJSON)
		if err != nil {
			return nil, err
		}
		pdb := obj.(*api.PodDisruptionBudget)
		pdb.Status.DisruptionsAllowed--
		now := api.Now()
		if pdb.Status.DisruptionsAllowed == 0 {
			api.SetCondition(&pdb.Status.Conditions, api.Condition{Type: api.DisruptionAllowedCondition,
				Status: api.ConditionFalse, Reason: api.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration}, now)
		}
		if pdb.Status.DisruptedPods == nil {
			pdb.Status.DisruptedPods = map[string]api.Time{}
		}
		pdb.Status.DisruptedPods[podName] = now
		return pdb, nil
	}
	_, err := s.updateObject(rq.ctx, r, rq.namespace, pdbName, "status", mutate, writeOptions{dryRun: dryRun}, nil)
	if api.IsNotFound(err) {
		// Deleted since it was listed: it guards nothing any more.
		return nil
	}
	return err
}

// evictPod marks the pod with the DisruptionTarget condition, as Kubernetes does, and
// deletes it with o.
func (s *Server) evictPod(rq *request, o deleteOptions) error {
	if !o.dryRun {
		mutate := func(cur api.Object, curJSON []byte) (api.Object, error) {
			c := cur.(*api.Pod)
			if p := o.Preconditions; p != nil {
				if p.UID != nil && *p.UID != "" && *p.UID != c.UID {
					return nil, api.Conflict(rq.res.GroupResource(), rq.name,
						fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, c.UID))
				}
				if p.ResourceVersion != nil && *p.ResourceVersion != "" && *p.ResourceVersion != c.ResourceVersion {
					return nil, api.Conflict(rq.res.GroupResource(), rq.name,
						fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, c.ResourceVersion))
				}
			}
			obj, err := copyOf(rq.res, curJSON)
			if err != nil {
				return nil, err
			}
			pod := obj.(*api.Pod)
			setPodCondition(&pod.Status, api.PodCondition{Type: api.DisruptionTarget, Status: api.ConditionTrue,
				Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: api.Now()})
			if p := o.Preconditions; p != nil && p.ResourceVersion != nil && *p.ResourceVersion != "" {
				pod.ResourceVersion = c.ResourceVersion // as judged, or not at all
			}
			return pod, nil
		}
		res, err := s.updateObject(rq.ctx, rq.res, rq.namespace, rq.name, "status", mutate, writeOptions{}, nil)
		if err != nil {
			return err
		}
		if o.Preconditions != nil && o.Preconditions.ResourceVersion != nil {
			// Bump the precondition past our own write.
			var m struct {
				Metadata struct{ ResourceVersion string }
			}
			if err := json.Unmarshal(res.body, &m); err == nil {
				o = withRVPrecondition(o, m.Metadata.ResourceVersion)
			}
		}
	}
	_, _, err := s.deleteObject(rq.ctx, rq.res, rq.namespace, rq.name, o)
	return err
}
