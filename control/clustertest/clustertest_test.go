package clustertest_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/wasmkube/wasmkube/control/clustertest"
	"github.com/wasmkube/wasmkube/control/pki"
)

func TestStartAPI(t *testing.T) {
	a := clustertest.StartAPI(t)
	c := a.HTTPClient()
	defer c.CloseIdleConnections()
	for _, tc := range []struct {
		name, path, token string
		code              int
	}{
		{"ready", "/readyz", "", 200},
		{"admin token", "/api/v1/namespaces/default", a.Token, 200},
		{"join token", "/api/v1/namespaces/default", a.JoinToken, 200},
		{"no token", "/api/v1/namespaces/default", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", a.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("%s: %d, want %d", tc.path, resp.StatusCode, tc.code)
			}
		})
	}
	kc, err := pki.LoadKubeconfig(a.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := kc.Resolve("")
	if err != nil || creds.Server != a.URL || creds.Token != a.Token {
		t.Fatalf("kubeconfig credentials %+v, %v", creds, err)
	}
}
