package api

// CertificateSigningRequest (certificates.k8s.io/v1, cluster-scoped) asks the signer named in
// spec.signerName for a certificate: a client posts a PKCS#10 request, an approver adds the
// Approved (or Denied) condition through the approval subresource, and the signer writes the
// certificate through the status subresource, as in Kubernetes. The API server fills
// spec.username, uid, groups and extra from the authenticated user; whatever the client sent
// there is replaced.
type CertificateSigningRequest struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       CertificateSigningRequestSpec   `json:"spec"`
	Status     CertificateSigningRequestStatus `json:"status,omitempty"`
}

// CertificateSigningRequestSpec is the request and who made it. It is immutable after create.
type CertificateSigningRequestSpec struct {
	// Request is a PEM "CERTIFICATE REQUEST" block (base64 in JSON, as []byte is).
	Request []byte `json:"request"`
	// SignerName names the signer that should sign it ("wasmkube.io/runner",
	// "kubernetes.io/kube-apiserver-client"): a domain and a path.
	SignerName string `json:"signerName"`
	// ExpirationSeconds asks for a validity (at least 600); the signer may shorten it.
	ExpirationSeconds *int32 `json:"expirationSeconds,omitempty"`
	// Usages are the key usages asked for ("digital signature", "server auth", ...).
	Usages []KeyUsage `json:"usages,omitempty"`
	// Username, UID, Groups and Extra describe the user who created the request; the API
	// server sets them.
	Username string                `json:"username,omitempty"`
	UID      string                `json:"uid,omitempty"`
	Groups   []string              `json:"groups,omitempty"`
	Extra    map[string]ExtraValue `json:"extra,omitempty"`
}

// ExtraValue is one extra attribute of the requesting user.
type ExtraValue []string

// CertificateSigningRequestStatus holds the approval conditions and the issued certificate.
type CertificateSigningRequestStatus struct {
	Conditions []CertificateSigningRequestCondition `json:"conditions,omitempty"`
	// Certificate is the PEM certificate chain the signer issued (base64 in JSON).
	Certificate []byte `json:"certificate,omitempty"`
}

// CertificateSigningRequestCondition is one condition: Approved, Denied or Failed.
type CertificateSigningRequestCondition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
	LastUpdateTime     Time            `json:"lastUpdateTime,omitzero"`
	LastTransitionTime Time            `json:"lastTransitionTime,omitzero"`
}

// The condition types of a CertificateSigningRequest.
const (
	CertificateApproved = "Approved"
	CertificateDenied   = "Denied"
	CertificateFailed   = "Failed"
)

// KeyUsage is a key usage a certificate may be requested for, as Kubernetes spells it.
type KeyUsage string

// The key usages Kubernetes accepts.
const (
	UsageSigning           KeyUsage = "signing"
	UsageDigitalSignature  KeyUsage = "digital signature"
	UsageContentCommitment KeyUsage = "content commitment"
	UsageKeyEncipherment   KeyUsage = "key encipherment"
	UsageKeyAgreement      KeyUsage = "key agreement"
	UsageDataEncipherment  KeyUsage = "data encipherment"
	UsageCertSign          KeyUsage = "cert sign"
	UsageCRLSign           KeyUsage = "crl sign"
	UsageEncipherOnly      KeyUsage = "encipher only"
	UsageDecipherOnly      KeyUsage = "decipher only"
	UsageAny               KeyUsage = "any"
	UsageServerAuth        KeyUsage = "server auth"
	UsageClientAuth        KeyUsage = "client auth"
	UsageCodeSigning       KeyUsage = "code signing"
	UsageEmailProtection   KeyUsage = "email protection"
	UsageSMIME             KeyUsage = "s/mime"
	UsageIPsecEndSystem    KeyUsage = "ipsec end system"
	UsageIPsecTunnel       KeyUsage = "ipsec tunnel"
	UsageIPsecUser         KeyUsage = "ipsec user"
	UsageTimestamping      KeyUsage = "timestamping"
	UsageOCSPSigning       KeyUsage = "ocsp signing"
	UsageMicrosoftSGC      KeyUsage = "microsoft sgc"
	UsageNetscapeSGC       KeyUsage = "netscape sgc"
)

// KeyUsages returns every usage Kubernetes accepts, in its documentation's order.
func KeyUsages() []KeyUsage {
	return []KeyUsage{UsageSigning, UsageDigitalSignature, UsageContentCommitment, UsageKeyEncipherment,
		UsageKeyAgreement, UsageDataEncipherment, UsageCertSign, UsageCRLSign, UsageEncipherOnly,
		UsageDecipherOnly, UsageAny, UsageServerAuth, UsageClientAuth, UsageCodeSigning,
		UsageEmailProtection, UsageSMIME, UsageIPsecEndSystem, UsageIPsecTunnel, UsageIPsecUser,
		UsageTimestamping, UsageOCSPSigning, UsageMicrosoftSGC, UsageNetscapeSGC}
}

// MinCSRExpirationSeconds is the shortest validity a request may ask for, as in Kubernetes.
const MinCSRExpirationSeconds = 600

// Condition returns the condition of type t, or nil.
func (s *CertificateSigningRequestStatus) Condition(t string) *CertificateSigningRequestCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// HasCondition reports whether the condition of type t is True.
func (s *CertificateSigningRequestStatus) HasCondition(t string) bool {
	c := s.Condition(t)
	return c != nil && c.Status == ConditionTrue
}

// SetCondition replaces the condition of c's type, or appends it, keeping the transition time
// when the status does not change.
func (s *CertificateSigningRequestStatus) SetCondition(c CertificateSigningRequestCondition) {
	if old := s.Condition(c.Type); old != nil {
		if old.Status == c.Status && !old.LastTransitionTime.IsZero() {
			c.LastTransitionTime = old.LastTransitionTime
		}
		*old = c
		return
	}
	s.Conditions = append(s.Conditions, c)
}
