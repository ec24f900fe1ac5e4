package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/wasmkube/wasmkube/control/api"
)

// The self reviews answer the requesting user about themselves, as Kubernetes' do: what
// they may do (authorization.k8s.io/v1 SelfSubjectAccessReview, `kubectl auth can-i`, and
// SelfSubjectRulesReview, `kubectl auth can-i --list`) and who they are
// (authentication.k8s.io/v1 SelfSubjectReview, `kubectl auth whoami`). They are created
// and answered, never stored. wasmkube has no authorization: every authenticated user may
// do everything, and the reviews say so rather than pretending to check.

// selfReview is one create-only review resource.
type selfReview struct {
	group, version, resource, kind string
}

var selfReviews = []selfReview{
	{"authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview"},
	{"authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview"},
	{"authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview"},
}

// allowedReason is the reason of every allowed access review.
const allowedReason = "wasmkube authorizes every authenticated user"

// selfReviewAt returns the review served at group/version/resource.
func selfReviewAt(group, version, resource string) (selfReview, bool) {
	i := slices.IndexFunc(selfReviews, func(r selfReview) bool {
		return r.group == group && r.version == version && r.resource == resource
	})
	if i < 0 {
		return selfReview{}, false
	}
	return selfReviews[i], true
}

// serveSelfReview answers a POST of a review with the review and its status (201).
func (s *Server) serveSelfReview(rq *request, rv selfReview) {
	gr := api.GroupResource{Group: rv.group, Resource: rv.resource}
	if rq.req.Method != http.MethodPost {
		writeError(rq.w, api.MethodNotSupported(gr, methodVerb(rq.req.Method)))
		return
	}
	body, err := s.typedBody(rq.req, rv.kind)
	if err != nil {
		writeError(rq.w, err)
		return
	}
	var out any
	switch rv.kind {
	case "SelfSubjectReview":
		var r api.SelfSubjectReview
		if err = s.decodeReview(body, rv, &r, &r.TypeMeta); err == nil {
			groups := rq.user.Groups
			if !slices.Contains(groups, "system:authenticated") {
				groups = append(slices.Clone(groups), "system:authenticated")
			}
			r.Status.UserInfo = api.UserInfo{Username: rq.user.Name, Groups: groups}
			out = &r
		}
	case "SelfSubjectAccessReview":
		var r api.SelfSubjectAccessReview
		if err = s.decodeReview(body, rv, &r, &r.TypeMeta); err == nil {
			if err = validateAccessReview(&r); err == nil {
				r.Status = api.SubjectAccessReviewStatus{Allowed: true, Reason: allowedReason}
				out = &r
			}
		}
	case "SelfSubjectRulesReview":
		var r api.SelfSubjectRulesReview
		if err = s.decodeReview(body, rv, &r, &r.TypeMeta); err == nil {
			r.Status = api.SubjectRulesReviewStatus{
				ResourceRules:    []api.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
				NonResourceRules: []api.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}
			out = &r
		}
	}
	if err != nil {
		writeError(rq.w, err)
		return
	}
	writeJSON(rq.w, http.StatusCreated, out)
}

// decodeReview strictly decodes a review body into obj, whose TypeMeta is tm, filling in the
// kind and apiVersion when absent and refusing others.
func (s *Server) decodeReview(body []byte, rv selfReview, obj any, tm *api.TypeMeta) error {
	gk := api.GroupKind{Group: rv.group, Kind: rv.kind}
	if err := s.dec.Decode(body, obj); err != nil {
		var fe api.FieldErrors
		switch {
		case errors.Is(err, api.ErrMalformed):
			return api.BadRequest(fmt.Sprintf("the body of the request could not be decoded: %v", err))
		case errors.As(err, &fe):
			return api.Invalid(gk, "", fe)
		}
		return api.BadRequest(err.Error())
	}
	gv := rv.group + "/" + rv.version
	if (tm.Kind != "" && tm.Kind != rv.kind) || (tm.APIVersion != "" && tm.APIVersion != gv) {
		return api.BadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s), or the kind (%s) does not match %s",
			tm.APIVersion, gv, tm.Kind, rv.kind))
	}
	tm.Kind, tm.APIVersion = rv.kind, gv
	return nil
}

// validateAccessReview is Kubernetes' ValidateSelfSubjectAccessReviewSpec: exactly one of
// the attributes.
func validateAccessReview(r *api.SelfSubjectAccessReview) error {
	spec := api.Path("spec")
	var errs api.FieldErrors
	switch ra, nra := r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes; {
	case ra != nil && nra != nil:
		errs = append(errs, api.InvalidValue(spec.Child("nonResourceAttributes"), nra, "cannot be specified in combination with resourceAttributes"))
	case ra == nil && nra == nil:
		errs = append(errs, api.InvalidValue(spec.Child("resourceAttributes"), nra, "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
	}
	if len(errs) > 0 {
		return api.Invalid(api.GroupKind{Group: "authorization.k8s.io", Kind: "SelfSubjectAccessReview"}, "", errs)
	}
	return nil
}
