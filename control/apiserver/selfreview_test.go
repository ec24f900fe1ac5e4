package apiserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestSelfReviews checks the create-only self reviews: discovery, the answers, the 422 of an
// access review without exactly one of its attributes, and 405 for anything but a create.
func TestSelfReviews(t *testing.T) {
	e := start(t)
	const access = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
	var list api.APIResourceList
	e.must(http.StatusOK, "GET", "/apis/authorization.k8s.io/v1", nil).decode(t, &list)
	if len(list.APIResources) != 2 || list.APIResources[0].Name != "selfsubjectaccessreviews" ||
		strings.Join(list.APIResources[0].Verbs, ",") != "create" {
		t.Fatalf("authorization.k8s.io/v1 discovery = %+v", list.APIResources)
	}

	var ar api.SelfSubjectAccessReview
	e.must(http.StatusCreated, "POST", access, `{"spec":{"resourceAttributes":{"verb":"delete","resource":"pods","namespace":"kube-system"}}}`).decode(t, &ar)
	if !ar.Status.Allowed || ar.Kind != "SelfSubjectAccessReview" || ar.APIVersion != "authorization.k8s.io/v1" ||
		ar.Spec.ResourceAttributes.Verb != "delete" {
		t.Errorf("access review = %+v", ar)
	}
	e.must(http.StatusCreated, "POST", access, `{"spec":{"nonResourceAttributes":{"verb":"get","path":"/version"}}}`)

	for _, c := range []struct{ body, field, msg string }{
		{`{"spec":{}}`, "spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified"},
		{`{"spec":{"resourceAttributes":{"verb":"get"},"nonResourceAttributes":{"verb":"get"}}}`, "spec.nonResourceAttributes",
			"cannot be specified in combination with resourceAttributes"},
		{`{"spec":{"resourceAttributes":{"verbs":"get"}}}`, "spec.resourceAttributes.verbs", "Unknown field"},
	} {
		st := e.must(http.StatusUnprocessableEntity, "POST", access, c.body).status(t)
		if st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Field != c.field ||
			!strings.Contains(st.Message, c.msg) {
			t.Errorf("%s: status %+v, want %s: %s", c.body, st, c.field, c.msg)
		}
	}
	e.must(http.StatusMethodNotAllowed, "GET", access, nil)
	e.must(http.StatusBadRequest, "POST", access, `{"kind":"SelfSubjectRulesReview","spec":{}}`)

	var rr api.SelfSubjectRulesReview
	e.must(http.StatusCreated, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", `{"spec":{"namespace":"default"}}`).decode(t, &rr)
	if len(rr.Status.ResourceRules) != 1 || rr.Status.ResourceRules[0].Verbs[0] != "*" || rr.Status.Incomplete {
		t.Errorf("rules review = %+v", rr.Status)
	}

	var who api.SelfSubjectReview
	e.must(http.StatusCreated, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", `{}`).decode(t, &who)
	if who.Status.UserInfo.Username == "" || !strings.Contains(strings.Join(who.Status.UserInfo.Groups, ","), "system:authenticated") {
		t.Errorf("whoami = %+v", who.Status.UserInfo)
	}
}
