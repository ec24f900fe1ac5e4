package api

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

// ErrBadCertificateRequest marks a spec.request that is not one signed PEM CERTIFICATE REQUEST.
var ErrBadCertificateRequest = errors.New("invalid certificate request")

// ParseCertificateRequest parses the PEM CERTIFICATE REQUEST of a CSR's spec.request and checks
// its signature. Errors wrap ErrBadCertificateRequest.
func ParseCertificateRequest(pemData []byte) (*x509.CertificateRequest, error) {
	block, rest := pem.Decode(pemData)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrBadCertificateRequest)
	}
	if block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("%w: PEM block type must be CERTIFICATE REQUEST, not %s", ErrBadCertificateRequest, block.Type)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: data after the CERTIFICATE REQUEST block", ErrBadCertificateRequest)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCertificateRequest, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadCertificateRequest, err)
	}
	return csr, nil
}

// csrConditionTypes are the condition types a request may carry.
var csrConditionTypes = []string{CertificateApproved, CertificateDenied, CertificateFailed}

func validateCertificateSigningRequest(o, old *CertificateSigningRequest) FieldErrors {
	errs := validateMeta(&o.ObjectMeta, false, labels.IsDNS1123Subdomain)
	sp := Path("spec")
	if len(o.Spec.Request) == 0 {
		errs = append(errs, Required(sp.Child("request"), ""))
	} else if _, err := ParseCertificateRequest(o.Spec.Request); err != nil {
		errs = append(errs, InvalidValue(sp.Child("request"), "<PEM>", strings.TrimPrefix(err.Error(), ErrBadCertificateRequest.Error()+": ")))
	}
	errs = append(errs, validateSignerName(sp.Child("signerName"), o.Spec.SignerName)...)
	if e := o.Spec.ExpirationSeconds; e != nil && (*e < MinCSRExpirationSeconds || int64(*e) > math.MaxInt32) {
		errs = append(errs, InvalidValue(sp.Child("expirationSeconds"), *e,
			fmt.Sprintf("may not specify a duration less than %d seconds (10 minutes)", MinCSRExpirationSeconds)))
	}
	if len(o.Spec.Usages) == 0 {
		errs = append(errs, Required(sp.Child("usages"), "usages must be provided"))
	}
	accepted := make([]string, 0, 23)
	known := map[KeyUsage]bool{}
	for _, u := range KeyUsages() {
		accepted = append(accepted, string(u))
		known[u] = true
	}
	seen := map[KeyUsage]bool{}
	for i, u := range o.Spec.Usages {
		p := sp.Child("usages").Index(i)
		switch {
		case !known[u]:
			errs = append(errs, NotSupported(p, string(u), accepted))
		case seen[u]:
			errs = append(errs, Duplicate(p, string(u)))
		}
		seen[u] = true
	}
	errs = append(errs, validateCSRStatus(&o.Status, old)...)
	return errs
}

// validateSignerName checks a signer name as Kubernetes does: "domain/path", the domain a DNS
// subdomain with at least two segments, the path a qualified name.
func validateSignerName(p Path, name string) FieldErrors {
	if name == "" {
		return FieldErrors{Required(p, "")}
	}
	domain, path, ok := strings.Cut(name, "/")
	if !ok || domain == "" || path == "" {
		return FieldErrors{InvalidValue(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs FieldErrors
	for _, msg := range labels.IsDNS1123Subdomain(domain) {
		errs = append(errs, InvalidValue(p, name, "validating domain component: "+msg))
	}
	if !strings.Contains(domain, ".") {
		errs = append(errs, InvalidValue(p, name, "should be a domain with at least two segments separated by dots"))
	}
	for _, msg := range labels.IsQualifiedName(path) {
		errs = append(errs, InvalidValue(p, name, "validating path component: "+msg))
	}
	return errs
}

func validateCSRStatus(s *CertificateSigningRequestStatus, old *CertificateSigningRequest) FieldErrors {
	var errs FieldErrors
	p := Path("status")
	cp := p.Child("conditions")
	seen := map[string]bool{}
	for i, c := range s.Conditions {
		ip := cp.Index(i)
		switch {
		case c.Type == "":
			errs = append(errs, Required(ip.Child("type"), ""))
		case !hasString(csrConditionTypes, c.Type):
			errs = append(errs, NotSupported(ip.Child("type"), c.Type, csrConditionTypes))
		case seen[c.Type]:
			errs = append(errs, Duplicate(ip.Child("type"), c.Type))
		}
		seen[c.Type] = true
		switch c.Status {
		case "":
			errs = append(errs, Required(ip.Child("status"), ""))
		case ConditionTrue:
		case ConditionFalse, ConditionUnknown:
			if c.Type == CertificateApproved || c.Type == CertificateDenied {
				errs = append(errs, NotSupported(ip.Child("status"), string(c.Status), []string{string(ConditionTrue)}))
			}
		default:
			errs = append(errs, NotSupported(ip.Child("status"), string(c.Status),
				[]string{string(ConditionTrue), string(ConditionFalse), string(ConditionUnknown)}))
		}
	}
	approved, denied := s.HasCondition(CertificateApproved), s.HasCondition(CertificateDenied)
	if approved && denied {
		errs = append(errs, &FieldError{Type: FieldValueInvalid, Field: string(cp),
			Detail: "Approved and Denied conditions are mutually exclusive"})
	}
	cert := p.Child("certificate")
	if len(s.Certificate) > 0 {
		if msg := certificateChainProblem(s.Certificate); msg != "" {
			errs = append(errs, InvalidValue(cert, "<certificate data>", msg))
		}
		if !approved {
			errs = append(errs, Forbidden(cert, "may only be set on an approved request"))
		}
		if s.HasCondition(CertificateFailed) {
			errs = append(errs, Forbidden(cert, "may not be set on a failed request"))
		}
	}
	if old != nil {
		if len(old.Status.Certificate) > 0 && !bytes.Equal(old.Status.Certificate, s.Certificate) {
			errs = append(errs, Forbidden(cert, "updates may not modify existing certificate content"))
		}
		for _, t := range csrConditionTypes {
			if old.Status.HasCondition(t) && !s.HasCondition(t) {
				errs = append(errs, Forbidden(cp, "updates may not remove a condition of type "+t))
			}
		}
	}
	return errs
}

// certificateChainProblem says what is wrong with a PEM certificate chain ("" when nothing).
func certificateChainProblem(data []byte) string {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return "only CERTIFICATE PEM blocks are allowed, found " + block.Type
		}
		if len(block.Headers) > 0 {
			return "no PEM block headers are permitted"
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return err.Error()
		}
		n++
	}
	if len(bytes.TrimSpace(data)) > 0 {
		return "data after the last CERTIFICATE block"
	}
	if n == 0 {
		return "must contain at least one CERTIFICATE PEM block"
	}
	return ""
}

// asCSR is old as a request, or nil (on create).
func asCSR(old Object) *CertificateSigningRequest {
	o, _ := old.(*CertificateSigningRequest)
	return o
}
