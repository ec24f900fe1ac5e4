// Package csr owns the approver and signer of runner certificates: for every
// CertificateSigningRequest whose signerName is SignerName, it approves (through the approval
// subresource) requests that a runner may make — a node's subject, asked by a bootstrapping
// runner, a node or an admin, for TLS usages only — denies the others with a message saying
// why, and signs approved requests with the cluster CA, writing the certificate through the
// status subresource, as Kubernetes' csrapproving and csrsigning controllers do for kubelets.
//
// It leaves requests of other signers alone, and does not create requests: runners do
// (runner/identity). Review and Template are pure; Controller is the loop around them.
package csr

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/pki"
)

// SignerName is the signer of runner certificates: server and client certificates for a node,
// used for HTTP/3 front doors and mutual TLS between runners.
const SignerName = "wasmkube.io/runner"

// Name names the controller in logs and events.
const Name = "csrsigning"

// The subject every runner certificate carries: CN NodeUserPrefix+<node name>, O NodesGroup.
const (
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
)

// Reasons written on the conditions this controller sets.
const (
	ReasonAutoApproved  = "AutoApproved"
	ReasonAutoDenied    = "AutoDenied"
	ReasonSigningFailed = "SigningFailed"
)

// requestorGroups are the groups whose members may get a runner certificate.
var requestorGroups = []string{"system:bootstrappers", NodesGroup, "system:masters"}

// allowedUsages are the usages a runner certificate may have.
var allowedUsages = []api.KeyUsage{api.UsageDigitalSignature, api.UsageKeyEncipherment, api.UsageServerAuth, api.UsageClientAuth}

// Decision is the approver's verdict on one request.
type Decision struct {
	// Approve is true to approve, false to deny.
	Approve bool
	// Message says why, for the condition.
	Message string
}

// Review decides whether a request of SignerName is one a runner may make: the requestor is in
// system:bootstrappers, system:nodes or system:masters (a node may only ask for its own name);
// the request's subject is exactly CN=system:node:<name>, O=system:nodes; it names no e-mail
// addresses or URIs; and its usages are within digital signature, key encipherment, server
// auth and client auth. It does not look at the signer name or at existing conditions.
func Review(csr *api.CertificateSigningRequest) Decision {
	deny := func(format string, args ...any) Decision {
		return Decision{Message: fmt.Sprintf(format, args...)}
	}
	s := &csr.Spec
	if !slices.ContainsFunc(s.Groups, func(g string) bool { return slices.Contains(requestorGroups, g) }) {
		return deny("requestor %q is in none of the groups %s, which may request %s certificates",
			s.Username, strings.Join(requestorGroups, ", "), SignerName)
	}
	req, err := api.ParseCertificateRequest(s.Request)
	if err != nil {
		return deny("spec.request: %v", err)
	}
	node, ok := strings.CutPrefix(req.Subject.CommonName, NodeUserPrefix)
	if !ok || node == "" {
		return deny("subject common name %q is not %s<node name>", req.Subject.CommonName, NodeUserPrefix)
	}
	if !slices.Equal(req.Subject.Organization, []string{NodesGroup}) {
		return deny("subject organization %q must be exactly [%s]", req.Subject.Organization, NodesGroup)
	}
	if strings.HasPrefix(s.Username, NodeUserPrefix) && !slices.Contains(s.Groups, "system:masters") &&
		s.Username != req.Subject.CommonName {
		return deny("node %q may only request a certificate for itself, not %q", s.Username, req.Subject.CommonName)
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return deny("only IP and DNS subject alternative names are allowed in %s certificates", SignerName)
	}
	for _, u := range s.Usages {
		if !slices.Contains(allowedUsages, u) {
			return deny("usage %q is not allowed; %s certificates may have %q", u, SignerName, allowedUsages)
		}
	}
	return Decision{Approve: true, Message: fmt.Sprintf("runner certificate for node %s auto-approved", node)}
}

// Template turns an approved request into what the CA signs: the request's subject and IP and
// DNS names, server and client auth as the usages ask, and a validity of expirationSeconds
// (the CA's default of a year when unset). It fails when the request does not parse.
func Template(csr *api.CertificateSigningRequest) (*x509.CertificateRequest, pki.CertRequest, error) {
	req, err := api.ParseCertificateRequest(csr.Spec.Request)
	if err != nil {
		return nil, pki.CertRequest{}, err
	}
	cr := pki.CertRequest{
		CommonName:   req.Subject.CommonName,
		Organization: req.Subject.Organization,
		DNSNames:     req.DNSNames,
		IPs:          req.IPAddresses,
		Server:       slices.Contains(csr.Spec.Usages, api.UsageServerAuth),
		Client:       slices.Contains(csr.Spec.Usages, api.UsageClientAuth),
	}
	if e := csr.Spec.ExpirationSeconds; e != nil {
		cr.Validity = time.Duration(*e) * time.Second
	}
	return req, cr, nil
}
