//go:build !wasip1

package guest

import "net/http"

// RoundTrip implements http.RoundTripper; outside a wasmkube module it fails with ErrNoHost.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, ErrNoHost
}
