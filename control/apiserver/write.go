package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/patch"
	"github.com/wasmkube/wasmkube/control/store"
)

// Patch media types.
const (
	mergePatchType     = "application/merge-patch+json"
	jsonPatchType      = "application/json-patch+json"
	strategicPatchType = "application/strategic-merge-patch+json"
	applyPatchType     = "application/apply-patch+yaml"
)

// writeOpts reads the options every write shares: fieldManager (default: the first path
// element of the User-Agent, as Kubernetes does) and dryRun.
func writeOpts(rq *request) (writeOptions, error) {
	dry, err := parseDryRun(rq.q["dryRun"])
	if err != nil {
		return writeOptions{}, err
	}
	fv := rq.q.Get("fieldValidation")
	switch fv {
	case "", "Strict", "Warn", "Ignore":
	default:
		return writeOptions{}, api.BadRequest(fmt.Sprintf("fieldValidation %q is not one of Ignore, Warn, Strict", fv))
	}
	m := rq.q.Get("fieldManager")
	if len(m) > 128 {
		return writeOptions{}, api.Invalid(api.GroupKind{Group: "meta.k8s.io", Kind: "PatchOptions"}, "", api.FieldErrors{
			api.InvalidValue("fieldManager", m, "must be no more than 128 characters")})
	}
	if m == "" {
		m, _, _ = strings.Cut(rq.req.UserAgent(), "/")
	}
	return writeOptions{manager: m, dryRun: dry}, nil
}

// checkMeta puts the request's namespace (and name, for updates) into the object, refusing
// a body that names others (400).
func checkMeta(rq *request, obj api.Object) error {
	m := obj.GetObjectMeta()
	if rq.res.Namespaced {
		if rq.namespace == "" {
			return api.MethodNotSupported(rq.res.GroupResource(), "create")
		}
		if m.Namespace != "" && m.Namespace != rq.namespace {
			return api.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		m.Namespace = rq.namespace
	} else {
		m.Namespace = "" // as Kubernetes does for cluster-scoped objects
	}
	if rq.name != "" {
		if m.Name != "" && m.Name != rq.name {
			return api.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.Name, rq.name))
		}
		m.Name = rq.name
	}
	return nil
}

func (s *Server) serveCreate(rq *request) error {
	opts, err := writeOpts(rq)
	if err != nil {
		return err
	}
	body, err := s.bodyJSON(rq.req, rq.res)
	if err != nil {
		return err
	}
	obj, err := s.decodeBody(rq.res, body, "")
	if err != nil {
		return err
	}
	if err := checkMeta(rq, obj); err != nil {
		return err
	}
	stampRequestor(rq.user, obj)
	out, err := s.createObject(rq.ctx, rq.res, obj, opts)
	if err != nil {
		return err
	}
	writeBody(rq.w, http.StatusCreated, out)
	return nil
}

// createOnUpdate reports whether a PUT may create a missing object, as Kubernetes allows
// for these resources.
func createOnUpdate(r *resource) bool {
	return r.Resource == "leases" || r.Resource == "endpoints" || r.Resource == "events"
}

// expiry is the store options every write of an object of r carries: Events (of any group)
// expire Config.EventTTL after their last write, as in Kubernetes. Every write must carry
// it, updates included, or the object would stop expiring.
func (s *Server) expiry(r *resource) []store.WriteOption {
	if r.Resource == "events" {
		return []store.WriteOption{store.WithTTL(s.cfg.EventTTL)}
	}
	return nil
}

func (s *Server) serveUpdate(rq *request) error {
	opts, err := writeOpts(rq)
	if err != nil {
		return err
	}
	r := rq.res
	body, err := s.bodyJSON(rq.req, rq.res)
	if err != nil {
		return err
	}
	// The first attempt uses the decoded body; after a concurrent write, it is decoded
	// again so every attempt starts from what the client sent.
	first, err := s.decodeBody(r, body, rq.name)
	if err != nil {
		return err
	}
	if err := checkMeta(rq, first); err != nil {
		return err
	}
	fresh := func() (api.Object, error) {
		if first != nil {
			obj := first
			first = nil
			return obj, nil
		}
		obj, err := s.decodeBody(r, body, rq.name)
		if err != nil {
			return nil, err
		}
		return obj, checkMeta(rq, obj)
	}
	var create func() (api.Object, error)
	if rq.sub == "" && createOnUpdate(r) {
		create = func() (api.Object, error) {
			obj, err := fresh()
			if err != nil {
				return nil, err
			}
			obj.GetObjectMeta().ResourceVersion = ""
			return obj, nil
		}
	}
	res, err := s.updateObject(rq.ctx, r, rq.namespace, rq.name, rq.sub,
		func(api.Object, []byte) (api.Object, error) { return fresh() }, opts, create)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if res.created {
		code = http.StatusCreated
	}
	writeBody(rq.w, code, res.body)
	return nil
}

func (s *Server) servePatch(rq *request) error {
	opts, err := writeOpts(rq)
	if err != nil {
		return err
	}
	r := rq.res
	body, err := readBody(rq.req, s.bodyLimit())
	if err != nil {
		return err
	}
	pt := mediaType(rq.req)
	switch pt {
	case mergePatchType, jsonPatchType, strategicPatchType:
	case applyPatchType:
		return s.serveApply(rq, body, opts)
	default:
		return api.NewStatusError(http.StatusUnsupportedMediaType, api.ReasonUnsupportedMedia,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s, %s",
				jsonPatchType, mergePatchType, applyPatchType, strategicPatchType))
	}
	if rq.q.Get("force") != "" {
		return api.BadRequest("force is only allowed for apply patches")
	}
	mutate := func(cur api.Object, curJSON []byte) (api.Object, error) {
		patched, err := applyPatch(pt, curJSON, body, r.Kind)
		if err != nil {
			return nil, err
		}
		if len(patched) > s.cfg.MaxObjectBytes {
			return nil, tooLarge(r, rq.name, len(patched), s.cfg.MaxObjectBytes)
		}
		obj, err := s.decodeBody(r, patched, rq.name)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(body, []byte(`"resourceVersion"`)) && !bytes.Contains(body, []byte("/metadata/resourceVersion")) {
			// The patch did not ask for a precondition: as in Kubernetes, it is applied to
			// whatever is current, and retried on a concurrent write instead of failing 409.
			obj.GetObjectMeta().ResourceVersion = ""
		}
		return obj, checkMeta(rq, obj)
	}
	res, err := s.updateObject(rq.ctx, r, rq.namespace, rq.name, rq.sub, mutate, opts, nil)
	if err != nil {
		return err
	}
	writeBody(rq.w, http.StatusOK, res.body)
	return nil
}

// applyPatch applies a patch of media type pt to doc.
func applyPatch(pt string, doc, body []byte, kind string) ([]byte, error) {
	var out []byte
	var err error
	switch pt {
	case mergePatchType:
		out, err = patch.Merge(doc, body)
	case jsonPatchType:
		out, err = patch.JSON(doc, body)
	default:
		out, err = patch.Strategic(doc, body, kind)
	}
	if err != nil {
		return nil, patchError(err)
	}
	return out, nil
}

// serveApply is server-side apply: the body is the applied configuration (YAML or JSON).
// A missing object is created from it.
func (s *Server) serveApply(rq *request, body []byte, opts writeOptions) error {
	r := rq.res
	if opts.manager == "" || rq.q.Get("fieldManager") == "" {
		return api.BadRequest("PATCH /apply requires fieldManager: the fieldManager query parameter is required for apply requests")
	}
	force := false
	switch rq.q.Get("force") {
	case "", "false":
	case "true":
		force = true
	default:
		return api.BadRequest(fmt.Sprintf("invalid force %q", rq.q.Get("force")))
	}
	cfgJSON, err := yaml.YAMLToJSON(body)
	if err != nil {
		return api.BadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	// The configuration must be an object of this kind and name, with known fields only.
	cfgObj, err := s.decodeBody(r, cfgJSON, rq.name)
	if err != nil {
		return err
	}
	cm := cfgObj.GetObjectMeta()
	if cm.Name != "" && cm.Name != rq.name {
		return api.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", cm.Name, rq.name))
	}
	if r.Namespaced && cm.Namespace != "" && cm.Namespace != rq.namespace {
		return api.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	var cfgMap map[string]any
	if err := json.Unmarshal(cfgJSON, &cfgMap); err != nil {
		return api.BadRequest(fmt.Sprintf("applied configuration is not an object: %v", err))
	}
	meta, _ := cfgMap["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		cfgMap["metadata"] = meta
	}
	meta["name"] = rq.name
	if r.Namespaced {
		meta["namespace"] = rq.namespace
	}
	cfgMap["kind"], cfgMap["apiVersion"] = r.Kind, r.GroupVersion()
	cfgJSON, _ = json.Marshal(cfgMap)

	applyTo := func(live []byte, managed []api.ManagedFieldsEntry) (api.Object, error) {
		out, entries, err := patch.Apply(live, cfgJSON, r.Kind, opts.manager, force, toPatchManaged(managed), time.Now())
		if err != nil {
			var ce *patch.ConflictError
			if errors.As(err, &ce) {
				return nil, applyConflict(r, rq.name, ce)
			}
			return nil, patchError(err)
		}
		obj, err := s.decodeBody(r, out, rq.name)
		if err != nil {
			return nil, err
		}
		obj.GetObjectMeta().ManagedFields = fromPatchManaged(entries)
		return obj, checkMeta(rq, obj)
	}
	create := func() (api.Object, error) {
		if rq.sub != "" {
			return nil, api.NotFound(r.GroupResource(), rq.name)
		}
		obj, err := applyTo(nil, nil)
		if err != nil {
			return nil, err
		}
		stampRequestor(rq.user, obj)
		obj.GetObjectMeta().ResourceVersion = ""
		return obj, nil
	}
	mutate := func(cur api.Object, curJSON []byte) (api.Object, error) {
		obj, err := applyTo(curJSON, cur.GetObjectMeta().ManagedFields)
		if err != nil {
			return nil, err
		}
		// The configuration's resourceVersion, if any, is a precondition.
		obj.GetObjectMeta().ResourceVersion = cm.ResourceVersion
		return obj, nil
	}
	opts.apply = true
	res, err := s.updateObject(rq.ctx, r, rq.namespace, rq.name, rq.sub, mutate, opts, create)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if res.created {
		code = http.StatusCreated
	}
	writeBody(rq.w, code, res.body)
	return nil
}

// applyConflict is the 409 for an apply that would take fields other managers own.
func applyConflict(r *resource, name string, ce *patch.ConflictError) error {
	e := api.NewStatusError(http.StatusConflict, api.ReasonConflict, ce.Error())
	d := &api.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource}
	for _, c := range ce.Conflicts {
		d.Causes = append(d.Causes, api.StatusCause{Type: "FieldManagerConflict", Message: c.Message(), Field: c.Field})
	}
	e.Status.Details = d
	return e
}
