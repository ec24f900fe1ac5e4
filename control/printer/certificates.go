package printer

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// csrColumns are Kubernetes' CertificateSigningRequest columns: NAME, AGE, SIGNERNAME,
// REQUESTOR, REQUESTEDDURATION, CONDITION.
func csrColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(), ageCol(),
		col("SignerName", typeString, "signerName indicates the requested signer, and is a qualified name.", 0),
		col("Requestor", typeString, "Name of requestor", 0),
		col("RequestedDuration", typeString, "expirationSeconds is the requested duration of validity of the issued certificate.", 0),
		col("Condition", typeString, "State of the signing request", 0)}
}

func csrRow(csr *api.CertificateSigningRequest, now time.Time) []any {
	duration := "<none>"
	if e := csr.Spec.ExpirationSeconds; e != nil {
		duration = HumanDuration(time.Duration(*e) * time.Second)
	}
	return []any{csr.Name, age(csr.CreationTimestamp, now), orNone(csr.Spec.SignerName),
		csr.Spec.Username, duration, csrCondition(csr)}
}

// csrCondition is kubectl's summary of a request: Denied, Approved or Pending, then ",Failed"
// and ",Issued" when they apply.
func csrCondition(csr *api.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case api.CertificateApproved:
			approved = true
		case api.CertificateDenied:
			denied = true
		case api.CertificateFailed:
			failed = true
		}
	}
	status := "Pending"
	switch {
	case denied:
		status = "Denied"
	case approved:
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}
