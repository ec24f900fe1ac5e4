package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// copyOf decodes curJSON, a stored object of r with its resourceVersion, into a new object
// without its resourceVersion, so an update built on it has no precondition and is retried
// on concurrent writes.
func copyOf(r *resource, curJSON []byte) (api.Object, error) {
	obj, err := decodeStored(r, curJSON, 0)
	if err != nil {
		return nil, api.InternalError(fmt.Errorf("copy %s: %w", r.Resource, err))
	}
	obj.GetObjectMeta().ResourceVersion = ""
	return obj, nil
}

// serveBinding assigns a pod to a node (POST pods/NAME/binding), once.
func (s *Server) serveBinding(rq *request) error {
	opts, err := writeOpts(rq)
	if err != nil {
		return err
	}
	body, err := s.bodyJSON(rq.req, rq.res)
	if err != nil {
		return err
	}
	var b api.Binding
	if err := s.dec.Decode(body, &b); err != nil {
		if errors.Is(err, api.ErrMalformed) {
			return api.BadRequest(fmt.Sprintf("the body of the request could not be decoded: %v", err))
		}
		var fe api.FieldErrors
		if errors.As(err, &fe) {
			return api.Invalid(api.GroupKind{Kind: "Binding"}, rq.name, fe)
		}
		return api.BadRequest(err.Error())
	}
	if (b.Kind != "" && b.Kind != "Binding") || (b.APIVersion != "" && b.APIVersion != "v1") {
		return api.BadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (v1), or the kind (%s) does not match Binding", b.APIVersion, b.Kind))
	}
	if b.Name != "" && b.Name != rq.name {
		return api.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", b.Name, rq.name))
	}
	if b.Namespace != "" && b.Namespace != rq.namespace {
		return api.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if b.Target.Name == "" {
		return api.Invalid(api.GroupKind{Kind: "Binding"}, rq.name, api.FieldErrors{api.Required("target.name", "")})
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return api.Invalid(api.GroupKind{Kind: "Binding"}, rq.name, api.FieldErrors{api.NotSupported("target.kind", b.Target.Kind, []string{"Node"})})
	}
	gr := api.GroupResource{Resource: "pods/binding"}
	mutate := func(cur api.Object, curJSON []byte) (api.Object, error) {
		// A shallow copy of cur, which may be shared with the watch cache: the binding
		// changes only the node name and the conditions, which are copied; the rest is
		// shared and only read (defaulting finds cur's fields already set). No
		// resourceVersion: a concurrent write is retried, not a conflict.
		cp := *cur.(*api.Pod)
		pod := &cp
		pod.ResourceVersion = ""
		pod.Status.Conditions = slices.Clone(pod.Status.Conditions)
		if b.UID != "" && b.UID != pod.UID {
			return nil, api.Conflict(gr, rq.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		if pod.DeletionTimestamp != nil {
			return nil, api.Conflict(gr, rq.name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", rq.name))
		}
		if pod.Spec.NodeName != "" {
			return nil, api.Conflict(gr, rq.name, fmt.Errorf("pod %s is already assigned to node %q", rq.name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		setPodCondition(&pod.Status, api.PodCondition{Type: api.PodScheduled, Status: api.ConditionTrue, LastTransitionTime: api.Now()})
		return pod, nil
	}
	if _, err := s.updateObject(rq.ctx, rq.res, rq.namespace, rq.name, "binding", mutate, opts, nil); err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusCreated, &api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: api.StatusSuccess, Code: http.StatusCreated,
	})
	return nil
}

// setPodCondition replaces the condition of c's type, or adds it.
func setPodCondition(st *api.PodStatus, c api.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// scaleOf is the autoscaling/v1 Scale of a deployment or replica set.
func scaleOf(obj api.Object) (*api.Scale, error) {
	var replicas, observed int32
	var sel *api.LabelSelector
	switch o := obj.(type) {
	case *api.Deployment:
		replicas, observed, sel = api.Deref(o.Spec.Replicas, 1), o.Status.Replicas, o.Spec.Selector
	case *api.ReplicaSet:
		replicas, observed, sel = api.Deref(o.Spec.Replicas, 1), o.Status.Replicas, o.Spec.Selector
	default:
		return nil, fmt.Errorf("%T has no scale subresource", obj)
	}
	m := obj.GetObjectMeta()
	sc := &api.Scale{
		TypeMeta: api.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: api.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp},
		Spec:   api.ScaleSpec{Replicas: replicas},
		Status: api.ScaleStatus{Replicas: observed},
	}
	if s, err := api.SelectorOf(sel); err == nil {
		sc.Status.Selector = s.String()
	}
	return sc, nil
}

func setReplicas(obj api.Object, n int32) {
	switch o := obj.(type) {
	case *api.Deployment:
		o.Spec.Replicas = &n
	case *api.ReplicaSet:
		o.Spec.Replicas = &n
	}
}

// scaleKind is the group and kind of the scale subresource.
func scaleKind() api.GroupKind { return api.GroupKind{Group: "autoscaling", Kind: "Scale"} }

// serveScale serves the scale subresource of deployments and replica sets.
func (s *Server) serveScale(rq *request) error {
	r := rq.res
	if rq.verb == verbGet {
		kv, err := s.store.Get(rq.ctx, key(r, rq.namespace, rq.name))
		if err != nil {
			return storeError(r, rq.name, err)
		}
		obj, err := decodeStored(r, kv.Value, kv.Revision)
		if err != nil {
			return api.InternalError(err)
		}
		sc, err := scaleOf(obj)
		if err != nil {
			return api.InternalError(err)
		}
		writeJSON(rq.w, http.StatusOK, sc)
		return nil
	}
	opts, err := writeOpts(rq)
	if err != nil {
		return err
	}
	var body []byte
	var pt string
	if rq.verb == verbUpdate {
		body, err = s.bodyJSON(rq.req, rq.res)
	} else {
		body, err = readBody(rq.req, s.bodyLimit())
		pt = mediaType(rq.req)
		switch pt {
		case mergePatchType, jsonPatchType, strategicPatchType:
		default:
			return api.NewStatusError(http.StatusUnsupportedMediaType, api.ReasonUnsupportedMedia,
				fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s", jsonPatchType, mergePatchType, strategicPatchType))
		}
	}
	if err != nil {
		return err
	}
	mutate := func(cur api.Object, curJSON []byte) (api.Object, error) {
		curScale, err := scaleOf(cur)
		if err != nil {
			return nil, api.InternalError(err)
		}
		scaleJSON := body
		if pt != "" {
			cj, _ := json.Marshal(curScale)
			if scaleJSON, err = applyPatch(pt, cj, body, "Scale"); err != nil {
				return nil, err
			}
		}
		var sc api.Scale
		if err := s.dec.Decode(scaleJSON, &sc); err != nil {
			if errors.Is(err, api.ErrMalformed) {
				return nil, api.BadRequest(fmt.Sprintf("the body of the request could not be decoded: %v", err))
			}
			var fe api.FieldErrors
			if errors.As(err, &fe) {
				return nil, api.Invalid(scaleKind(), rq.name, fe)
			}
			return nil, api.BadRequest(err.Error())
		}
		if (sc.Kind != "" && sc.Kind != "Scale") || (sc.APIVersion != "" && sc.APIVersion != "autoscaling/v1") {
			return nil, api.BadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (autoscaling/v1), or the kind (%s) does not match Scale", sc.APIVersion, sc.Kind))
		}
		if sc.Name != "" && sc.Name != rq.name {
			return nil, api.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", sc.Name, rq.name))
		}
		if errs := api.Validate(&sc, nil); len(errs) > 0 {
			return nil, api.Invalid(scaleKind(), rq.name, errs)
		}
		obj, err := copyOf(r, curJSON)
		if err != nil {
			return nil, err
		}
		setReplicas(obj, sc.Spec.Replicas)
		obj.GetObjectMeta().ResourceVersion = sc.ResourceVersion
		return obj, nil
	}
	res, err := s.updateObject(rq.ctx, r, rq.namespace, rq.name, "scale", mutate, opts, nil)
	if err != nil {
		return err
	}
	obj, err := decodeJSONObject(r, res.body)
	if err != nil {
		return api.InternalError(err)
	}
	sc, err := scaleOf(obj)
	if err != nil {
		return api.InternalError(err)
	}
	writeJSON(rq.w, http.StatusOK, sc)
	return nil
}

// decodeJSONObject decodes a response body (with resourceVersion) of r.
func decodeJSONObject(r *resource, b []byte) (api.Object, error) {
	obj := r.New()
	if err := json.Unmarshal(b, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// LogOptions are the pods/log query parameters.
type LogOptions struct {
	Container    string
	Follow       bool
	Previous     bool
	Timestamps   bool
	TailLines    *int64
	SinceSeconds *int64
	LimitBytes   *int64
}

// LogSource streams the logs of one container of a pod that runs on a node; the runners
// provide it. Logs writes to w until the log ends or, with Follow, until ctx ends. An error
// returned before anything was written is answered as a Status (use *api.StatusError for a
// precise code); after that the stream just ends.
type LogSource interface {
	Logs(ctx context.Context, pod *api.Pod, opts LogOptions, w io.Writer) error
}

func parseOptInt(q string, name string) (*int64, error) {
	if q == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil || n < 0 {
		return nil, api.BadRequest(fmt.Sprintf("invalid %s %q", name, q))
	}
	return &n, nil
}

// serveLog serves pods/log through the configured LogSource.
func (s *Server) serveLog(rq *request) error {
	q := rq.q
	o := LogOptions{
		Container:  q.Get("container"),
		Follow:     q.Get("follow") == "true",
		Previous:   q.Get("previous") == "true",
		Timestamps: q.Get("timestamps") == "true",
	}
	var err error
	if o.TailLines, err = parseOptInt(q.Get("tailLines"), "tailLines"); err != nil {
		return err
	}
	if o.SinceSeconds, err = parseOptInt(q.Get("sinceSeconds"), "sinceSeconds"); err != nil {
		return err
	}
	if o.LimitBytes, err = parseOptInt(q.Get("limitBytes"), "limitBytes"); err != nil {
		return err
	}
	kv, err := s.store.Get(rq.ctx, key(rq.res, rq.namespace, rq.name))
	if err != nil {
		return storeError(rq.res, rq.name, err)
	}
	obj, err := decodeStored(rq.res, kv.Value, kv.Revision)
	if err != nil {
		return api.InternalError(err)
	}
	pod := obj.(*api.Pod)
	names := make([]string, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		names[i] = c.Name
	}
	switch {
	case o.Container == "" && len(names) == 1:
		o.Container = names[0]
	case o.Container == "":
		return api.BadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " ")))
	default:
		found := false
		for _, n := range names {
			found = found || n == o.Container
		}
		if !found {
			return api.BadRequest(fmt.Sprintf("container %s is not valid for pod %s", o.Container, pod.Name))
		}
	}
	if pod.Spec.NodeName == "" {
		return api.BadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: the pod is not assigned to a node yet", o.Container, pod.Name))
	}
	if s.cfg.LogSource == nil {
		return api.NewStatusError(http.StatusNotFound, api.ReasonNotFound,
			fmt.Sprintf("logs of container %q of pod %s/%s on node %q are not available: no runner log source is connected to this API server",
				o.Container, pod.Namespace, pod.Name, pod.Spec.NodeName))
	}
	lw := &logWriter{w: rq.w, rc: http.NewResponseController(rq.w), follow: o.Follow}
	err = s.cfg.LogSource.Logs(rq.ctx, pod, o, lw)
	if err != nil && !lw.started {
		return err
	}
	if !lw.started {
		lw.start()
	}
	return nil
}

// logWriter sends log bytes as text/plain, flushing each write when following.
type logWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	follow  bool
	started bool
}

func (lw *logWriter) start() {
	lw.started = true
	lw.w.Header().Set("Content-Type", "text/plain")
	lw.w.WriteHeader(http.StatusOK)
}

func (lw *logWriter) Write(p []byte) (int, error) {
	if !lw.started {
		lw.start()
	}
	n, err := lw.w.Write(p)
	if err == nil && lw.follow {
		err = lw.rc.Flush()
	}
	return n, err
}
