package csr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

// UpdateApproval writes r's Approved and Denied conditions through the approval subresource
// (PUT .../certificatesigningrequests/NAME/approval, as `kubectl certificate approve` does) and
// returns the request as stored. A non-empty resourceVersion must be current (409 otherwise).
func UpdateApproval(ctx context.Context, c *client.Client, r *api.CertificateSigningRequest) (*api.CertificateSigningRequest, error) {
	cp := *r
	cp.TypeMeta = api.TypeMeta{Kind: "CertificateSigningRequest", APIVersion: "certificates.k8s.io/v1"}
	body, err := json.Marshal(&cp)
	if err != nil {
		return nil, fmt.Errorf("update approval of csr %s: %w", r.Name, err)
	}
	resp, err := c.Do(ctx, client.Request{Method: http.MethodPut,
		Path: "/apis/certificates.k8s.io/v1/" + resource + "/" + url.PathEscape(r.Name) + "/approval", Body: body})
	if err != nil {
		return nil, fmt.Errorf("update approval of csr %s: %w", r.Name, err)
	}
	out := &api.CertificateSigningRequest{}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return nil, fmt.Errorf("update approval of csr %s: decode answer: %w", r.Name, err)
	}
	return out, nil
}
