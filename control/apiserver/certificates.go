package apiserver

import (
	"github.com/wasmkube/wasmkube/control/api"
)

// groupAuthenticated is the group every authenticated user is in, as in Kubernetes.
const groupAuthenticated = "system:authenticated"

// stampRequestor records the authenticated user in a new CertificateSigningRequest, replacing
// whatever the client wrote there, as Kubernetes' CSR strategy does: signers and approvers
// decide on who asked, so the requestor must not be forgeable.
func stampRequestor(u User, obj api.Object) {
	csr, ok := obj.(*api.CertificateSigningRequest)
	if !ok {
		return
	}
	csr.Spec.Username = u.Name
	csr.Spec.UID = ""
	csr.Spec.Extra = nil
	groups := append([]string(nil), u.Groups...)
	found := false
	for _, g := range groups {
		found = found || g == groupAuthenticated
	}
	if !found {
		groups = append(groups, groupAuthenticated)
	}
	csr.Spec.Groups = groups
}

// prepareCSRUpdate applies the CertificateSigningRequest update rules after the generic ones:
// the spec never changes; an update of the object itself keeps the status; /status may
// change the certificate and the Failed condition but not Approved or Denied; /approval may
// change only the Approved and Denied conditions.
func prepareCSRUpdate(sub string, obj, cur api.Object) {
	csr, ok := obj.(*api.CertificateSigningRequest)
	if !ok {
		return
	}
	old := cur.(*api.CertificateSigningRequest)
	csr.Spec = old.Spec
	approval := func(t string) bool { return t == api.CertificateApproved || t == api.CertificateDenied }
	switch sub {
	case "status":
		csr.Status.Conditions = mergeCSRConditions(csr.Status.Conditions, old.Status.Conditions, approval)
	case "approval":
		csr.Status.Certificate = old.Status.Certificate
		csr.Status.Conditions = mergeCSRConditions(csr.Status.Conditions, old.Status.Conditions,
			func(t string) bool { return !approval(t) })
	default:
		csr.Status = old.Status
	}
}

// mergeCSRConditions returns the conditions of sent, except that those whose type keep says
// are taken from cur instead.
func mergeCSRConditions(sent, cur []api.CertificateSigningRequestCondition, keep func(string) bool) []api.CertificateSigningRequestCondition {
	var out []api.CertificateSigningRequestCondition
	for _, c := range sent {
		if !keep(c.Type) {
			out = append(out, c)
		}
	}
	for _, c := range cur {
		if keep(c.Type) {
			out = append(out, c)
		}
	}
	return out
}
