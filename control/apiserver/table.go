package apiserver

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/printer"
)

// tableRequest is a request's ask for a meta.k8s.io Table.
type tableRequest struct {
	version       string // v1 or v1beta1
	includeObject string
}

// wantsTable reports whether the Accept header asks for a Table
// (application/json;as=Table;v=v1;g=meta.k8s.io), as kubectl get does.
func wantsTable(req *http.Request) (tableRequest, bool) {
	accept := req.Header.Get("Accept")
	if !strings.Contains(accept, "as=Table") {
		return tableRequest{}, false
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "application/json" || params["as"] != "Table" || params["g"] != "meta.k8s.io" {
			continue
		}
		if v := params["v"]; v == "v1" || v == "v1beta1" {
			return tableRequest{version: v, includeObject: req.URL.Query().Get("includeObject")}, true
		}
	}
	return tableRequest{}, false
}

func (t tableRequest) validate() error {
	switch t.includeObject {
	case "", printer.IncludeMetadata, printer.IncludeObject, printer.IncludeNone:
		return nil
	}
	return api.BadRequest(fmt.Sprintf("includeObject %q is not one of None, Metadata, Object", t.includeObject))
}

// buildTable prints objs of r as a Table; headers false leaves the column definitions out.
func (s *Server) buildTable(r *resource, t tableRequest, objs []api.Object, headersSent bool) (*api.Table, error) {
	tbl, err := printer.Table(&r.ResourceInfo, objs, printer.Options{IncludeObject: t.includeObject, NoHeaders: headersSent})
	if err != nil {
		if errors.Is(err, printer.ErrInvalidOptions) {
			return nil, api.BadRequest(err.Error())
		}
		return nil, api.InternalError(err)
	}
	tbl.APIVersion = "meta.k8s.io/" + t.version
	return tbl, nil
}

// writeTable answers with objs as a Table carrying meta.
func (s *Server) writeTable(rq *request, t tableRequest, objs []api.Object, meta api.ListMeta) error {
	if err := t.validate(); err != nil {
		return err
	}
	tbl, err := s.buildTable(rq.res, t, objs, false)
	if err != nil {
		return err
	}
	tbl.ListMeta = meta
	writeJSON(rq.w, http.StatusOK, tbl)
	return nil
}
