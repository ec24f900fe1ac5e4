package apiserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

const csrPath = "/apis/certificates.k8s.io/v1/certificatesigningrequests"

func csrPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func csrObject(name string, request []byte, signer string, usages ...api.KeyUsage) *api.CertificateSigningRequest {
	return &api.CertificateSigningRequest{
		TypeMeta:   api.TypeMeta{Kind: "CertificateSigningRequest", APIVersion: "certificates.k8s.io/v1"},
		ObjectMeta: api.ObjectMeta{Name: name},
		Spec:       api.CertificateSigningRequestSpec{Request: request, SignerName: signer, Usages: usages},
	}
}

func TestCSRValidation(t *testing.T) {
	e := start(t)
	good := csrPEM(t, "system:node:n1")
	tampered := slices.Clone(good)
	block, _ := pem.Decode(tampered)
	block.Bytes[len(block.Bytes)-3] ^= 0xff // inside the signature
	tampered = pem.EncodeToMemory(block)
	certBlock := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
	usages := []api.KeyUsage{api.UsageDigitalSignature, api.UsageClientAuth}
	for _, tc := range []struct {
		name   string
		csr    *api.CertificateSigningRequest
		fields []string
	}{
		{"no request", csrObject("a", nil, "wasmkube.io/runner", usages...), []string{"spec.request"}},
		{"not PEM", csrObject("a", []byte("hello"), "wasmkube.io/runner", usages...), []string{"spec.request"}},
		{"wrong PEM type", csrObject("a", certBlock, "wasmkube.io/runner", usages...), []string{"spec.request"}},
		{"bad signature", csrObject("a", tampered, "wasmkube.io/runner", usages...), []string{"spec.request"}},
		{"no signer", csrObject("a", good, "", usages...), []string{"spec.signerName"}},
		{"signer without path", csrObject("a", good, "wasmkube.io", usages...), []string{"spec.signerName"}},
		{"signer without dot", csrObject("a", good, "wasmkube/runner", usages...), []string{"spec.signerName"}},
		{"no usages", csrObject("a", good, "wasmkube.io/runner"), []string{"spec.usages"}},
		{"unknown usage", csrObject("a", good, "wasmkube.io/runner", "digital signature", "root access"), []string{"spec.usages[1]"}},
		{"duplicate usage", csrObject("a", good, "wasmkube.io/runner", "client auth", "client auth"), []string{"spec.usages[1]"}},
		{"short expiration", func() *api.CertificateSigningRequest {
			c := csrObject("a", good, "wasmkube.io/runner", usages...)
			c.Spec.ExpirationSeconds = api.Ptr(int32(60))
			return c
		}(), []string{"spec.expirationSeconds"}},
		{"everything", csrObject("a", []byte("x"), "nope", "fly"), []string{"spec.request", "spec.signerName", "spec.usages[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := e.must(http.StatusUnprocessableEntity, "POST", csrPath, tc.csr).status(t)
			if st.Reason != api.ReasonInvalid || st.Details == nil || st.Details.Kind != "CertificateSigningRequest" {
				t.Fatalf("status %+v", st)
			}
			var got []string
			for _, c := range st.Details.Causes {
				if !slices.Contains(got, c.Field) {
					got = append(got, c.Field)
				}
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v: %s", got, tc.fields, st.Message)
			}
		})
	}
	// A request that is not base64 is refused too.
	st := e.must(http.StatusUnprocessableEntity, "POST", csrPath,
		`{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"b"},"spec":{"request":"%%%","signerName":"a.b/c","usages":["any"]}}`).status(t)
	if st.Reason != api.ReasonInvalid {
		t.Fatalf("bad base64: %+v", st)
	}
	// Unknown fields are named.
	st = e.must(http.StatusUnprocessableEntity, "POST", csrPath,
		`{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"b"},"spec":{"signerName":"a.b/c","usages":["any"],"frobnicate":1}}`).status(t)
	if st.Details == nil || !slices.ContainsFunc(st.Details.Causes, func(c api.StatusCause) bool { return c.Field == "spec.frobnicate" }) {
		t.Fatalf("unknown field: %+v", st)
	}
}

func TestCSRRequestorAndSubresources(t *testing.T) {
	e := start(t)
	c := csrObject("node-n1", csrPEM(t, "system:node:n1"), "wasmkube.io/runner", api.UsageDigitalSignature, api.UsageServerAuth)
	c.Spec.Username, c.Spec.Groups = "mallory", []string{"system:masters"} // replaced by the server
	c.Status.Certificate = []byte("ignored on create")
	var got api.CertificateSigningRequest
	e.must(http.StatusCreated, "POST", csrPath, c, header("Authorization", "Bearer "+e.api.JoinToken)).decode(t, &got)
	if got.Spec.Username != "system:bootstrap" || !slices.Equal(got.Spec.Groups, []string{"system:bootstrappers", "system:authenticated"}) {
		t.Fatalf("requestor %q %v", got.Spec.Username, got.Spec.Groups)
	}
	if len(got.Status.Certificate) != 0 || got.Kind != "CertificateSigningRequest" {
		t.Fatalf("created %+v", got)
	}
	// The spec is immutable: an update keeps it (and the status), as in Kubernetes.
	up := got
	up.Spec.SignerName = "example.com/other"
	up.Status.Conditions = []api.CertificateSigningRequestCondition{{Type: api.CertificateApproved, Status: api.ConditionTrue}}
	up.Labels = map[string]string{"a": "b"}
	var after api.CertificateSigningRequest
	e.must(http.StatusOK, "PUT", csrPath+"/node-n1", up).decode(t, &after)
	if after.Spec.SignerName != "wasmkube.io/runner" || len(after.Status.Conditions) != 0 || after.Labels["a"] != "b" {
		t.Fatalf("after update: spec %+v status %+v labels %v", after.Spec, after.Status, after.Labels)
	}
	// /status cannot approve.
	up = after
	up.Status.Conditions = []api.CertificateSigningRequestCondition{{Type: api.CertificateApproved, Status: api.ConditionTrue}}
	e.must(http.StatusOK, "PUT", csrPath+"/node-n1/status", up).decode(t, &after)
	if len(after.Status.Conditions) != 0 {
		t.Fatalf("approved through /status: %+v", after.Status)
	}
	// /approval can, and cannot set the certificate.
	now := api.NewTime(time.Now())
	up.Status.Conditions[0].Reason, up.Status.Conditions[0].LastUpdateTime = "KubectlApprove", now
	up.Status.Certificate = []byte("nope")
	up.ResourceVersion = after.ResourceVersion
	e.must(http.StatusOK, "PUT", csrPath+"/node-n1/approval", up).decode(t, &after)
	if !after.Status.HasCondition(api.CertificateApproved) || len(after.Status.Certificate) != 0 {
		t.Fatalf("after approval: %+v", after.Status)
	}
	// Approved and Denied together are refused; removing Approved is refused.
	up = after
	up.Status.Conditions = append(up.Status.Conditions, api.CertificateSigningRequestCondition{Type: api.CertificateDenied, Status: api.ConditionTrue})
	st := e.must(http.StatusUnprocessableEntity, "PUT", csrPath+"/node-n1/approval", up).status(t)
	if !strings.Contains(st.Message, "mutually exclusive") {
		t.Fatalf("approve and deny: %s", st.Message)
	}
	up.Status.Conditions = nil
	st = e.must(http.StatusUnprocessableEntity, "PUT", csrPath+"/node-n1/approval", up).status(t)
	if !strings.Contains(st.Message, "may not remove") {
		t.Fatalf("remove approval: %s", st.Message)
	}
	// A certificate that is not PEM is refused through /status.
	up = after
	up.Status.Certificate = []byte("not a certificate")
	st = e.must(http.StatusUnprocessableEntity, "PUT", csrPath+"/node-n1/status", up).status(t)
	if st.Details == nil || st.Details.Causes[0].Field != "status.certificate" {
		t.Fatalf("bad certificate: %+v", st)
	}
	// Discovery lists both subresources.
	var rl api.APIResourceList
	e.must(http.StatusOK, "GET", "/apis/certificates.k8s.io/v1", nil).decode(t, &rl)
	var names []string
	for _, r := range rl.APIResources {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"certificatesigningrequests", "certificatesigningrequests/status", "certificatesigningrequests/approval"}) {
		t.Fatalf("discovery %v", names)
	}
}
