package printer

import (
	"fmt"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

func TestCSRRows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	created := api.Time{Time: now.Add(-90 * time.Second)}
	ri, _ := api.NewResourceTable(api.Resources()).Lookup("csr")
	csr := func(name string, exp *int32, cert []byte, conds ...string) *api.CertificateSigningRequest {
		c := &api.CertificateSigningRequest{ObjectMeta: api.ObjectMeta{Name: name, CreationTimestamp: created}}
		c.Spec.SignerName, c.Spec.Username, c.Spec.ExpirationSeconds = "wasmkube.io/runner", "system:bootstrap", exp
		for _, t := range conds {
			c.Status.Conditions = append(c.Status.Conditions, api.CertificateSigningRequestCondition{Type: t, Status: api.ConditionTrue})
		}
		c.Status.Certificate = cert
		return c
	}
	for _, tc := range []struct {
		name string
		obj  *api.CertificateSigningRequest
		want string
	}{
		{"pending", csr("a", nil, nil), "[a 90s wasmkube.io/runner system:bootstrap <none> Pending]"},
		{"approved", csr("b", api.Ptr[int32](3600), nil, api.CertificateApproved), "[b 90s wasmkube.io/runner system:bootstrap 60m Approved]"},
		{"issued", csr("c", api.Ptr[int32](86400), []byte("x"), api.CertificateApproved), "[c 90s wasmkube.io/runner system:bootstrap 24h Approved,Issued]"},
		{"denied", csr("d", nil, nil, api.CertificateDenied), "[d 90s wasmkube.io/runner system:bootstrap <none> Denied]"},
		{"failed", csr("e", nil, nil, api.CertificateApproved, api.CertificateFailed), "[e 90s wasmkube.io/runner system:bootstrap <none> Approved,Failed]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := Table(ri, []api.Object{tc.obj}, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range tbl.ColumnDefinitions {
				names = append(names, c.Name)
			}
			if got := fmt.Sprint(names); got != "[Name Age SignerName Requestor RequestedDuration Condition]" {
				t.Errorf("columns %s", got)
			}
			if got := fmt.Sprint(tbl.Rows[0].Cells); got != tc.want {
				t.Errorf("row %s, want %s", got, tc.want)
			}
		})
	}
}
