package patch

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// object is one stored object and its managedFields, written the way the API
// server will: Apply for apply patches, RecordUpdate for everything else.
type object struct {
	t       *testing.T
	kind    string
	body    []byte // nil until created
	managed []ManagedFieldsEntry
	clock   time.Time
}

func newObject(t *testing.T, kind string) *object {
	return &object{t: t, kind: kind, clock: t0}
}

func (o *object) tick() time.Time {
	o.clock = o.clock.Add(time.Minute)
	return o.clock
}

func (o *object) apply(manager, cfg string, force bool) error {
	o.t.Helper()
	out, managed, err := Apply(o.body, []byte(cfg), o.kind, manager, force, o.managed, o.tick())
	if err != nil {
		return err
	}
	if got, err := ManagedFields(out); err != nil || !slices.EqualFunc(got, managed, entryEqual) {
		o.t.Fatalf("result's metadata.managedFields %v (%v) differ from the returned entries %v", got, err, managed)
	}
	o.body, o.managed = out, managed
	return nil
}

func (o *object) mustApply(manager, cfg string) {
	o.t.Helper()
	if err := o.apply(manager, cfg, false); err != nil {
		o.t.Fatalf("apply by %s: %v", manager, err)
	}
}

// update writes the object changed by a strategic merge patch as manager.
func (o *object) update(manager, patch, subresource string) {
	o.t.Helper()
	next, err := Strategic(o.body, []byte(patch), o.kind)
	if err != nil {
		o.t.Fatalf("patch: %v", err)
	}
	managed, err := RecordUpdate(o.body, next, manager, o.managed, o.tick(), subresource)
	if err != nil {
		o.t.Fatalf("RecordUpdate by %s: %v", manager, err)
	}
	if o.body, err = SetManagedFields(next, managed); err != nil {
		o.t.Fatalf("SetManagedFields: %v", err)
	}
	o.managed = managed
}

// get returns the value at a dotted path ("spec.replicas"); list elements
// are chosen by "name=value".
func (o *object) get(path string) any {
	o.t.Helper()
	v, err := decodeValue(o.body)
	if err != nil {
		o.t.Fatal(err)
	}
	for _, el := range strings.Split(path, ".") {
		if k, val, ok := strings.Cut(el, "="); ok {
			l, _ := v.([]any)
			v = nil
			for _, e := range l {
				if m, _ := e.(map[string]any); m != nil && canonicalKey(m[k]) == canonicalKey(jsonScalar(val)) {
					v = m
				}
			}
			continue
		}
		m, _ := v.(map[string]any)
		var ok bool
		if v, ok = m[el]; !ok {
			return nil
		}
	}
	return v
}

func jsonScalar(s string) any {
	if v, err := decodeValue([]byte(s)); err == nil {
		return v
	}
	return s
}

func (o *object) wantValue(path string, want any) {
	o.t.Helper()
	got := o.get(path)
	if w, ok := want.(string); ok && w != "" && (w[0] == '{' || w[0] == '[') {
		want = jsonScalar(w)
	}
	if !valueEqual(got, want) && !(want == nil && got == nil) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		o.t.Errorf("%s = %s, want %s", path, gb, wb)
	}
}

// owned returns the fields each manager owns, as "manager/Operation" ->
// paths in Kubernetes' notation.
func owned(t *testing.T, managed []ManagedFieldsEntry) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, e := range managed {
		s, err := parseFieldsV1(e.FieldsV1)
		if err != nil {
			t.Fatal(err)
		}
		id := e.Manager + "/" + e.Operation
		s.walk(func(p []string) { out[id] = append(out[id], pathString(p)) })
	}
	return out
}

func (o *object) wantOwns(id string, fields ...string) {
	o.t.Helper()
	got := owned(o.t, o.managed)[id]
	for _, f := range fields {
		if !slices.Contains(got, f) {
			o.t.Errorf("%s does not own %s; owns %v", id, f, got)
		}
	}
}

func (o *object) wantNotOwns(id string, fields ...string) {
	o.t.Helper()
	got := owned(o.t, o.managed)[id]
	for _, f := range fields {
		if slices.Contains(got, f) {
			o.t.Errorf("%s still owns %s", id, f)
		}
	}
}

func entryEqual(a, b ManagedFieldsEntry) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return string(ab) == string(bb)
}

const deployV1 = `{"apiVersion":"apps/v1","kind":"Deployment",
 "metadata":{"name":"web","namespace":"default","labels":{"app":"web","tier":"front"}},
 "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
  "template":{"metadata":{"labels":{"app":"web"}},
   "spec":{"containers":[{"name":"web","image":"web:1","ports":[{"containerPort":8080}]}]}}}}`

func TestApplyCreates(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("kubectl", deployV1)
	want := `{"f:metadata":{"f:labels":{"f:app":{},"f:tier":{}}},"f:spec":{"f:replicas":{},` +
		`"f:selector":{"f:matchLabels":{"f:app":{}}},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},` +
		`"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{},` +
		`"f:ports":{"k:{\"containerPort\":8080}":{".":{},"f:containerPort":{}}}}}}}}}`
	if len(o.managed) != 1 {
		t.Fatalf("managedFields %+v, want one entry", o.managed)
	}
	e := o.managed[0]
	if e.Manager != "kubectl" || e.Operation != OperationApply || e.APIVersion != "apps/v1" ||
		e.FieldsType != FieldsTypeV1 || e.Time != "2025-03-01T10:01:00Z" || e.Subresource != "" {
		t.Errorf("entry %+v", e)
	}
	if string(e.FieldsV1) != want {
		t.Errorf("fieldsV1\n got %s\nwant %s", e.FieldsV1, want)
	}
	var withoutManaged map[string]any
	_ = json.Unmarshal(o.body, &withoutManaged)
	delete(withoutManaged["metadata"].(map[string]any), "managedFields")
	b, _ := json.Marshal(withoutManaged)
	assertJSON(t, b, deployV1)
}

func TestApplyRemovesFieldsNoLongerApplied(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("kubectl", deployV1)
	o.mustApply("kubectl", `{"apiVersion":"apps/v1","kind":"Deployment",
	 "metadata":{"name":"web","labels":{"app":"web"}},
	 "spec":{"selector":{"matchLabels":{"app":"web"}},
	  "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"web:1"}]}}}}`)
	o.wantValue("metadata.labels", `{"app":"web"}`)
	o.wantValue("spec.replicas", nil)
	o.wantValue("spec.template.spec.containers.name=web", `{"name":"web","image":"web:1"}`)
	o.wantValue("metadata.namespace", "default") // identity is not owned, so never pruned
	o.wantNotOwns("kubectl/Apply", ".metadata.labels.tier", ".spec.replicas")
}

func TestApplySharedFields(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("kubectl", deployV1)
	// Another applier sets replicas to the value it already has: no conflict,
	// the field is shared.
	o.mustApply("autoscaler", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3}}`)
	o.wantOwns("kubectl/Apply", ".spec.replicas")
	o.wantOwns("autoscaler/Apply", ".spec.replicas")
	// kubectl stops applying replicas: the autoscaler still owns it, so it stays.
	o.mustApply("kubectl", strings.Replace(deployV1, `"replicas":3,`, ``, 1))
	o.wantValue("spec.replicas", json.Number("3"))
	o.wantNotOwns("kubectl/Apply", ".spec.replicas")
	o.wantOwns("autoscaler/Apply", ".spec.replicas")
	// The autoscaler changes it: it is the only owner, no conflict.
	o.mustApply("autoscaler", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":7}}`)
	o.wantValue("spec.replicas", json.Number("7"))
}

func TestApplyConflictWithUpdate(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("kubectl", deployV1)
	// kubectl scale: a non-apply write takes replicas away from kubectl.
	o.update("kubectl-client-side-apply", `{"spec":{"replicas":5}}`, "")
	o.wantOwns("kubectl-client-side-apply/Update", ".spec.replicas")
	o.wantNotOwns("kubectl/Apply", ".spec.replicas")

	err := o.apply("kubectl", deployV1, false)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
		t.Fatalf("apply error %v, want a *ConflictError", err)
	}
	const msg = `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`
	if err.Error() != msg {
		t.Errorf("message\n got %s\nwant %s", err, msg)
	}
	want := Conflict{Manager: "kubectl-client-side-apply", Operation: OperationUpdate, APIVersion: "apps/v1", Field: ".spec.replicas"}
	if len(ce.Conflicts) != 1 || ce.Conflicts[0] != want {
		t.Errorf("conflicts %+v, want [%+v]", ce.Conflicts, want)
	}
	if m := ce.Conflicts[0].Message(); m != `conflict with "kubectl-client-side-apply" using apps/v1` {
		t.Errorf("cause message %q", m)
	}
	o.wantValue("spec.replicas", json.Number("5"))

	// Applying the value the updater set is not a conflict.
	o.mustApply("kubectl", strings.Replace(deployV1, `"replicas":3`, `"replicas":5`, 1))
	o.wantOwns("kubectl/Apply", ".spec.replicas")
	o.wantOwns("kubectl-client-side-apply/Update", ".spec.replicas")

	// Forcing takes the field over; the updater's empty entry goes.
	if err := o.apply("kubectl", deployV1, true); err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	o.wantValue("spec.replicas", json.Number("3"))
	o.wantOwns("kubectl/Apply", ".spec.replicas")
	if _, ok := owned(t, o.managed)["kubectl-client-side-apply/Update"]; ok {
		t.Errorf("the updater's entry should be gone: %v", owned(t, o.managed))
	}
}

func TestApplyConflictMessageForSeveral(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("a", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,"paused":false}}`)
	o.update("b", `{"metadata":{"labels":{"x":"1"}}}`, "")
	o.mustApply("c", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"minReadySeconds":5}}`)
	err := o.apply("d", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"x":"2"}},"spec":{"replicas":2,"paused":true,"minReadySeconds":6}}`, false)
	const msg = "Apply failed with 4 conflicts: conflicts with \"a\":\n- .spec.paused\n- .spec.replicas\n" +
		"conflicts with \"b\" using apps/v1:\n- .metadata.labels.x\nconflicts with \"c\":\n- .spec.minReadySeconds"
	if err == nil || err.Error() != msg {
		t.Errorf("error\n got %v\nwant %s", err, msg)
	}
}

func TestApplyLeavesOthersFieldsAlone(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("kubectl", deployV1)
	o.update("controller", `{"metadata":{"annotations":{"revision":"2"}},"spec":{"template":{"spec":{"containers":[{"name":"web","resources":{"limits":{"memory":"64Mi"}}}]}}}}`, "")
	o.wantOwns("controller/Update", ".metadata.annotations.revision", `.spec.template.spec.containers[name="web"].resources.limits.memory`)
	// kubectl re-applies without the container: the container goes, except
	// that the controller owns a field in it, so it stays.
	o.mustApply("kubectl", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"replicas":4}}`)
	o.wantValue("metadata.annotations.revision", "2")
	o.wantValue("spec.replicas", json.Number("4"))
	o.wantValue("spec.template.spec.containers.name=web.resources.limits.memory", "64Mi")
	o.wantValue("spec.template.spec.containers.name=web.name", "web")
	o.wantValue("spec.template.spec.containers.name=web.image", nil)
	o.wantValue("spec.template.spec.containers.name=web.ports", nil) // emptied lists go
	o.wantValue("metadata.labels", `{"app":"web"}`)
	o.wantValue("spec.selector", nil)
	o.wantValue("spec.template.metadata", nil) // emptied objects go too
}

func TestApplyMergesKeyedLists(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("kubectl", deployV1)
	o.update("injector", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"proxy:1"}]}}}}`, "")
	o.wantOwns("injector/Update", `.spec.template.spec.containers[name="sidecar"]`, `.spec.template.spec.containers[name="sidecar"].image`)
	// kubectl's containers list names only "web": the sidecar stays.
	o.mustApply("kubectl", strings.Replace(deployV1, `"image":"web:1","ports":[{"containerPort":8080}]`,
		`"image":"web:2","ports":[{"containerPort":8080},{"containerPort":9090}]`, 1))
	o.wantValue("spec.template.spec.containers.name=web.image", "web:2")
	o.wantValue("spec.template.spec.containers.name=web.ports", `[{"containerPort":8080},{"containerPort":9090}]`)
	o.wantValue("spec.template.spec.containers.name=sidecar.image", "proxy:1")
	o.wantOwns("kubectl/Apply", `.spec.template.spec.containers[name="web"].ports[containerPort=9090]`)
	// Dropping a container kubectl alone owns removes it.
	o.mustApply("kubectl", strings.Replace(deployV1, `[{"name":"web","image":"web:1","ports":[{"containerPort":8080}]}]`,
		`[{"name":"other","image":"o:1"}]`, 1))
	o.wantValue("spec.template.spec.containers", `[{"name":"sidecar","image":"proxy:1"},{"name":"other","image":"o:1"}]`)
}

func TestApplyPrimitiveSets(t *testing.T) {
	o := newObject(t, "Deployment")
	o.mustApply("a", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","finalizers":["x","y"]}}`)
	o.mustApply("b", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","finalizers":["y","z"]}}`)
	o.wantValue("metadata.finalizers", `["x","y","z"]`)
	o.wantOwns("a/Apply", `.metadata.finalizers[="x"]`, `.metadata.finalizers[="y"]`)
	o.wantOwns("b/Apply", `.metadata.finalizers[="y"]`, `.metadata.finalizers[="z"]`)
	o.mustApply("a", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","finalizers":[]}}`)
	o.wantValue("metadata.finalizers", `["y","z"]`)
}

func TestApplyIsIdempotent(t *testing.T) {
	live, err := readTestdata("deployment.json")
	if err != nil {
		t.Fatal(err)
	}
	o := newObject(t, "Deployment")
	o.body = live
	o.update("kube-controller-manager", `{"status":{"replicas":4}}`, "status")
	o.mustApply("kubectl", deployV1)
	first, firstManaged := o.body, o.managed
	o.mustApply("kubectl", deployV1)
	if string(o.body) != string(first) {
		t.Errorf("second apply changed the object:\n%s\n%s", first, o.body)
	}
	if !slices.EqualFunc(o.managed, firstManaged, entryEqual) {
		t.Errorf("second apply changed managedFields:\n%+v\n%+v", firstManaged, o.managed)
	}
	// A changed configuration moves the entry's time.
	o.mustApply("kubectl", strings.Replace(deployV1, "web:1", "web:2", 1))
	if o.managed[1].Manager != "kubectl" || o.managed[1].Time == firstManaged[1].Time {
		t.Errorf("entry after a change: %+v (before %+v)", o.managed[1], firstManaged[1])
	}
}

func TestApplyIgnoresServerFields(t *testing.T) {
	o := newObject(t, "Deployment")
	o.body = []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","uid":"u1","resourceVersion":"9","generation":2},"status":{"replicas":1}}`)
	o.mustApply("kubectl", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","uid":"other","resourceVersion":"1","generation":9,
	 "creationTimestamp":"2020-01-01T00:00:00Z","managedFields":[{"manager":"evil"}],"labels":{"a":"1"}},"status":{"replicas":99},"spec":{"paused":null}}`)
	o.wantValue("metadata.uid", "u1")
	o.wantValue("metadata.resourceVersion", "9")
	o.wantValue("metadata.generation", json.Number("2"))
	o.wantValue("metadata.creationTimestamp", nil)
	o.wantValue("status.replicas", json.Number("1"))
	got := owned(t, o.managed)
	if want := []string{".metadata.labels.a"}; !slices.Equal(got["kubectl/Apply"], want) {
		t.Errorf("kubectl owns %v, want %v", got["kubectl/Apply"], want)
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name, cfg, manager string
		managed            []ManagedFieldsEntry
		want               error
		msg                string
	}{
		{"no manager", `{"a":1}`, "", nil, ErrInvalid, "field manager is required"},
		{"empty configuration", ``, "m", nil, ErrMalformed, "empty configuration"},
		{"configuration not an object", `[1]`, "m", nil, ErrMalformed, "not a JSON object"},
		{"element without its key", `{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}`, "m", nil, ErrInvalid,
			`spec.template.spec.containers[0]: element of a list merged by "name" has no "name"`},
		{"duplicate key", `{"spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"a"}]}}}}`, "m", nil, ErrInvalid,
			"spec.template.spec.containers[1]: duplicate element with name=a"},
		{"bad managedFields", `{"a":1}`, "m", []ManagedFieldsEntry{{Manager: "x", FieldsV1: json.RawMessage(`{"q:x":{}}`)}}, ErrInvalid, `unknown type "q"`},
		{"unknown fieldsType", `{"a":1}`, "m", []ManagedFieldsEntry{{Manager: "x", FieldsType: "FieldsV2"}}, ErrInvalid, "FieldsV2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Apply(nil, []byte(tc.cfg), "Deployment", tc.manager, false, tc.managed, t0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestRecordUpdate(t *testing.T) {
	entry := func(manager, op, sub, fields string) ManagedFieldsEntry {
		return ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "v1", Time: "2025-01-01T00:00:00Z",
			FieldsType: FieldsTypeV1, FieldsV1: json.RawMessage(fields), Subresource: sub}
	}
	const pod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"1"}},"spec":{"containers":[{"name":"c","image":"i:1"}]},"status":{"phase":"Pending"}}`
	tests := []struct {
		name, old, new, manager, sub string
		managed                      []ManagedFieldsEntry
		want                         map[string][]string
	}{
		{"create owns every field but the server's", "", pod, "kubectl-create", "", nil,
			map[string][]string{"kubectl-create/Update": {".metadata.labels.a", ".spec.containers[name=\"c\"]", ".spec.containers[name=\"c\"].image", ".spec.containers[name=\"c\"].name"}}},
		{"an update takes only what it changed", pod, strings.Replace(pod, "i:1", "i:2", 1), "kubectl-set", "",
			[]ManagedFieldsEntry{entry("kubectl", OperationApply, "", `{"f:metadata":{"f:labels":{"f:a":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{}}}}}`)},
			map[string][]string{
				"kubectl/Apply":      {".metadata.labels.a", ".spec.containers[name=\"c\"]", ".spec.containers[name=\"c\"].name"},
				"kubectl-set/Update": {".spec.containers[name=\"c\"].image"},
			}},
		{"entries left empty are dropped", pod, strings.Replace(pod, `"a":"1"`, `"a":"2"`, 1), "labeler", "",
			[]ManagedFieldsEntry{entry("old", OperationUpdate, "", `{"f:metadata":{"f:labels":{"f:a":{}}}}`)},
			map[string][]string{"labeler/Update": {".metadata.labels.a"}}},
		{"removed fields leave every entry", pod, strings.Replace(pod, `"labels":{"a":"1"}`, `"labels":{}`, 1), "cleaner", "",
			[]ManagedFieldsEntry{entry("x", OperationApply, "", `{"f:metadata":{"f:labels":{"f:a":{}}},"f:spec":{"f:hostname":{}}}`)},
			map[string][]string{"x/Apply": {".spec.hostname"}}},
		{"status writes own only status", pod, strings.Replace(strings.Replace(pod, "Pending", "Running", 1), "i:1", "i:9", 1), "runner", "status", nil,
			map[string][]string{"runner/Update": {".status.phase"}}},
		{"main writes never own status", pod, strings.Replace(pod, "Pending", "Running", 1), "someone", "", nil,
			map[string][]string{}},
		{"a no-op write adds no entry", pod, pod, "idle", "", nil, map[string][]string{}},
		{"the manager's entry grows", pod, strings.Replace(pod, `"name":"p"`, `"name":"p","annotations":{"n":"1"}`, 1), "m", "",
			[]ManagedFieldsEntry{entry("m", OperationUpdate, "", `{"f:metadata":{"f:labels":{"f:a":{}}}}`)},
			map[string][]string{"m/Update": {".metadata.annotations.n", ".metadata.labels.a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var old []byte
			if tc.old != "" {
				old = []byte(tc.old)
			}
			got, err := RecordUpdate(old, []byte(tc.new), tc.manager, tc.managed, t0, tc.sub)
			if err != nil {
				t.Fatalf("RecordUpdate: %v", err)
			}
			own := owned(t, got)
			for id, want := range tc.want {
				if !slices.Equal(own[id], want) {
					t.Errorf("%s owns %v, want %v", id, own[id], want)
				}
			}
			if len(own) != len(tc.want) {
				t.Errorf("entries %v, want %v", own, tc.want)
			}
			for _, e := range got {
				if e.Manager == tc.manager {
					if e.Time != "2025-03-01T10:00:00Z" || e.Subresource != tc.sub || e.Operation != OperationUpdate {
						t.Errorf("entry %+v", e)
					}
				}
			}
		})
	}
}

func TestManagedFieldsSorted(t *testing.T) {
	o := newObject(t, "Deployment")
	for _, m := range []string{"zeta", "alpha", "mid"} {
		o.mustApply(m, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"`+m+`":"1"}}}`)
	}
	o.update("alpha", `{"metadata":{"annotations":{"x":"1"}}}`, "")
	var ids []string
	for _, e := range o.managed {
		ids = append(ids, e.Manager+"/"+e.Operation)
	}
	if want := []string{"alpha/Apply", "alpha/Update", "mid/Apply", "zeta/Apply"}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
}

func TestFieldsV1RoundTrip(t *testing.T) {
	tests := []struct{ name, in, out string }{
		{"leaves and members", `{"f:a":{},"f:b":{".":{},"f:c":{}}}`, `{"f:a":{},"f:b":{".":{},"f:c":{}}}`},
		{"keys are canonical", `{"f:l":{"k:{ \"port\" : 80 }":{}}}`, `{"f:l":{"k:{\"port\":80}":{}}}`},
		{"values and indices", `{"f:l":{"v:\"x\"":{},"v:3":{}},"f:m":{"i:0":{}}}`, `{"f:l":{"v:\"x\"":{},"v:3":{}},"f:m":{"i:0":{}}}`},
		{"empty", ``, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseFieldsV1([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(s.encode()); got != tc.out {
				t.Errorf("got %s, want %s", got, tc.out)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"f:a":1}`, `{"nope":{}}`, `{"k:[1]":{}}`, `{"v:{":{}}`} {
		if _, err := parseFieldsV1([]byte(bad)); err == nil {
			t.Errorf("parseFieldsV1(%s) accepted", bad)
		}
	}
	paths := map[string][]string{
		`.spec.containers[name="web"].image`: {"f:spec", "f:containers", `k:{"name":"web"}`, "f:image"},
		`.metadata.finalizers[="x"]`:         {"f:metadata", "f:finalizers", `v:"x"`},
		`.spec.ports[port=80]`:               {"f:spec", "f:ports", `k:{"port":80}`},
		`.a[2]`:                              {"f:a", "i:2"},
	}
	for want, p := range paths {
		if got := pathString(p); got != want {
			t.Errorf("pathString(%v) = %s, want %s", p, got, want)
		}
	}
}

func TestSetManagedFields(t *testing.T) {
	entries := []ManagedFieldsEntry{{Manager: "m", Operation: OperationApply, FieldsType: FieldsTypeV1, FieldsV1: json.RawMessage(`{"f:a":{}}`)}}
	out, err := SetManagedFields([]byte(`{"metadata":{"name":"x"},"n":1}`), entries)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `{"metadata":{"name":"x","managedFields":[{"manager":"m","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:a":{}}}]},"n":1}`)
	got, err := ManagedFields(out)
	if err != nil || !slices.EqualFunc(got, entries, entryEqual) {
		t.Errorf("ManagedFields = %+v, %v", got, err)
	}
	out, err = SetManagedFields(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `{"metadata":{"name":"x"},"n":1}`)
	if _, err := ManagedFields([]byte(`{`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("ManagedFields of bad JSON: %v", err)
	}
}

func TestListRule(t *testing.T) {
	tests := []struct {
		kind, path string
		key        string
		strategy   Strategy
	}{
		{"Pod", "spec.containers", "name", StrategyMerge},
		{"Pod", "spec.containers.ports", "containerPort", StrategyMerge},
		{"Pod", "spec.initContainers.env", "name", StrategyMerge},
		{"Pod", "spec.containers.volumeMounts", "mountPath", StrategyMerge},
		{"Pod", "spec.volumes", "name", StrategyMerge},
		{"Pod", "spec.tolerations", "", StrategyReplace},
		{"Pod", "spec.imagePullSecrets", "name", StrategyMerge},
		{"Pod", "status.conditions", "type", StrategyMerge},
		{"Pod", "status.containerStatuses", "name", StrategyMerge},
		{"Pod", "metadata.ownerReferences", "uid", StrategyMerge},
		{"Pod", "metadata.finalizers", "", StrategyMerge},
		{"Pod", "spec.containers.args", "", StrategyReplace},
		{"Deployment", "spec.template.spec.containers.ports", "containerPort", StrategyMerge},
		{"ReplicaSet", "spec.template.spec.volumes", "name", StrategyMerge},
		{"Job", "spec.template.spec.initContainers", "name", StrategyMerge},
		{"Deployment", "status.conditions", "type", StrategyMerge},
		{"ReplicaSet", "status.conditions", "type", StrategyMerge},
		{"Deployment", "spec.template.metadata.finalizers", "", StrategyMerge},
		{"Service", "spec.ports", "port", StrategyMerge},
		{"Node", "status.addresses", "type", StrategyMerge},
		{"Node", "status.conditions", "type", StrategyMerge},
		{"Node", "spec.taints", "", StrategyReplace},
		{"Endpoints", "subsets", "", StrategyReplace},
		{"Namespace", "spec.finalizers", "", StrategyMerge},
		{"ConfigMap", "metadata.finalizers", "", StrategyMerge},
		{"Widget", "metadata.finalizers", "", StrategyReplace},
		{"Widget", "spec.containers", "", StrategyReplace},
	}
	for _, tc := range tests {
		t.Run(tc.kind+"."+tc.path, func(t *testing.T) {
			key, s := ListRule(tc.kind, strings.Split(tc.path, "."))
			if key != tc.key || s != tc.strategy {
				t.Errorf("ListRule = %q %v, want %q %v", key, s, tc.key, tc.strategy)
			}
		})
	}
}
