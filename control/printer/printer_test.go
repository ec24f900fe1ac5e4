package printer

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func resource(t *testing.T, name string) *api.ResourceInfo {
	t.Helper()
	ri, ok := api.NewResourceTable(api.Resources()).Lookup(name)
	if !ok {
		t.Fatalf("no resource %q", name)
	}
	return ri
}

// kindCases are one representative list of every kind the printer knows, and one it does not.
func kindCases(t *testing.T) []struct {
	name string
	ri   *api.ResourceInfo
	objs []api.Object
} {
	return []struct {
		name string
		ri   *api.ResourceInfo
		objs []api.Object
	}{
		{"pods", resource(t, "pods"), objects(pods())},
		{"deployments", resource(t, "deployments"), objects(deployments())},
		{"replicasets", resource(t, "replicasets"), objects(replicaSets())},
		{"services", resource(t, "services"), objects(services())},
		{"endpoints", resource(t, "endpoints"), objects(endpoints())},
		{"nodes", resource(t, "nodes"), objects(nodes())},
		{"namespaces", resource(t, "namespaces"), objects(namespaces())},
		{"events", resource(t, "events"), objects(events())},
		{"leases", resource(t, "leases"), objects(leases())},
		{"configmaps", resource(t, "cm"), objects(configMaps())},
		{"secrets", resource(t, "secrets"), objects(secrets())},
		{"poddisruptionbudgets", resource(t, "pdb"), objects(podDisruptionBudgets())},
		{"modules", &moduleResource, objects(modules())},
	}
}

// TestTableGolden renders each kind's table as `get` and `get -o wide` show it.
func TestTableGolden(t *testing.T) {
	for _, tc := range kindCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := Table(tc.ri, tc.objs, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			out.WriteString("$ get " + tc.name + "\n")
			if err := Print(&out, tbl, PrintOptions{}); err != nil {
				t.Fatal(err)
			}
			out.WriteString("\n$ get " + tc.name + " -o wide\n")
			if err := Print(&out, tbl, PrintOptions{Wide: true}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", out.Bytes())
		})
	}
}

// TestTableShape holds every table to Kubernetes' shape: all columns defined, one cell per
// column, integers as int64 and everything else as strings.
func TestTableShape(t *testing.T) {
	for _, tc := range kindCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := Table(tc.ri, tc.objs, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if tbl.Kind != "Table" || tbl.APIVersion != "meta.k8s.io/v1" {
				t.Errorf("TypeMeta = %+v", tbl.TypeMeta)
			}
			if len(tbl.Rows) != len(tc.objs) {
				t.Fatalf("%d rows for %d objects", len(tbl.Rows), len(tc.objs))
			}
			names := 0
			for _, c := range tbl.ColumnDefinitions {
				if c.Format == "name" {
					names++
					if c.Name != "Name" || c.Description != descName {
						t.Errorf("name column = %+v", c)
					}
				}
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
			}
			if names != 1 {
				t.Errorf("%d name columns, want 1", names)
			}
			for i, row := range tbl.Rows {
				if len(row.Cells) != len(tbl.ColumnDefinitions) {
					t.Fatalf("row %d has %d cells for %d columns", i, len(row.Cells), len(tbl.ColumnDefinitions))
				}
				for j, cell := range row.Cells {
					typ := tbl.ColumnDefinitions[j].Type
					switch cell.(type) {
					case int64:
						if typ != "integer" && typ != "string" {
							t.Errorf("row %d cell %d: int64 in a %s column", i, j, typ)
						}
					case string:
						if typ != "string" {
							t.Errorf("row %d cell %d: string in a %s column", i, j, typ)
						}
					default:
						t.Errorf("row %d cell %d: %T", i, j, cell)
					}
				}
			}
		})
	}
}

// TestTableJSON pins the wire form kubectl reads, for one list of pods.
func TestTableJSON(t *testing.T) {
	ps := pods()[:3]
	tbl, err := Table(resource(t, "pods"), objects(ps), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	tbl.ResourceVersion = "42"
	b, err := json.MarshalIndent(tbl, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pods.table.json", append(b, '\n'))
}

// TestRoundTrip renders a Table decoded from JSON, as the CLI receives it, the same as the
// Table it was encoded from (numbers come back as float64).
func TestRoundTrip(t *testing.T) {
	for _, tc := range kindCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := Table(tc.ri, tc.objs, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(tbl)
			if err != nil {
				t.Fatal(err)
			}
			var decoded api.Table
			if err := json.Unmarshal(b, &decoded); err != nil {
				t.Fatal(err)
			}
			for _, o := range []PrintOptions{{}, {Wide: true, WithNamespace: true, ShowLabels: true}} {
				var want, got bytes.Buffer
				if err := Print(&want, tbl, o); err != nil {
					t.Fatal(err)
				}
				if err := Print(&got, &decoded, o); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Errorf("options %+v: decoded table prints\n%s\nwant\n%s", o, &got, &want)
				}
			}
		})
	}
}

func TestPodStatus(t *testing.T) {
	want := map[string][3]string{ // name -> READY, STATUS, RESTARTS
		"web-pending":      {"0/1", "Pending", "0"},
		"web-creating":     {"0/1", "ContainerCreating", "0"},
		"web-running":      {"1/1", "Running", "0"},
		"web-crash":        {"1/2", "CrashLoopBackOff", "3 (2m ago)"},
		"job-done":         {"0/1", "Completed", "0"},
		"job-failed":       {"0/1", "Error", "0"},
		"job-killed":       {"0/1", "ExitCode:137", "0"},
		"job-signal":       {"0/1", "Signal:9", "0"},
		"web-terminating":  {"1/1", "Terminating", "0"},
		"web-lost":         {"1/1", "Unknown", "0"},
		"job-done-deleted": {"0/1", "Completed", "0"},
		"web-partial":      {"1/2", "Running", "0"},
		"web-notready":     {"1/2", "NotReady", "0"},
		"web-nominated":    {"0/1", "Pending", "0"},
	}
	for _, p := range pods() {
		t.Run(p.Name, func(t *testing.T) {
			w, ok := want[p.Name]
			if !ok {
				t.Fatalf("no expectation for %s", p.Name)
			}
			cells := podRow(p, now)
			if got := [3]string{cells[1].(string), cells[2].(string), cells[3].(string)}; got != w {
				t.Errorf("READY, STATUS, RESTARTS = %q, want %q", got, w)
			}
		})
	}
}

func TestRowConditions(t *testing.T) {
	tbl, err := Table(resource(t, "pods"), objects(pods()), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tbl.Rows[4].Conditions) // job-done
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"type":"Completed","status":"True","reason":"Succeeded","message":"The pod has completed successfully."}]`; string(b) != want {
		t.Errorf("conditions = %s, want %s", b, want)
	}
	if tbl.Rows[2].Conditions != nil {
		t.Errorf("running pod has conditions %v", tbl.Rows[2].Conditions)
	}
}

func TestIncludeObject(t *testing.T) {
	ri := resource(t, "pods")
	p := pods()[2]
	tests := []struct {
		include  string
		wantKind string // "" for no object
		wantSpec bool
	}{
		{"", "PartialObjectMetadata", false},
		{IncludeMetadata, "PartialObjectMetadata", false},
		{IncludeObject, "Pod", true},
		{IncludeNone, "", false},
	}
	for _, tc := range tests {
		t.Run("include="+tc.include, func(t *testing.T) {
			tbl, err := Table(ri, []api.Object{p}, Options{Now: now, IncludeObject: tc.include})
			if err != nil {
				t.Fatal(err)
			}
			raw := tbl.Rows[0].Object
			if tc.wantKind == "" {
				if raw != nil {
					t.Fatalf("object = %s, want none", raw)
				}
				return
			}
			var got struct {
				Kind       string         `json:"kind"`
				APIVersion string         `json:"apiVersion"`
				Metadata   api.ObjectMeta `json:"metadata"`
				Spec       *api.PodSpec   `json:"spec"`
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("decode %s: %v", raw, err)
			}
			wantAPIVersion := "meta.k8s.io/v1"
			if tc.wantKind == "Pod" {
				wantAPIVersion = "v1"
			}
			if got.Kind != tc.wantKind || got.APIVersion != wantAPIVersion {
				t.Errorf("kind, apiVersion = %q, %q, want %q, %q", got.Kind, got.APIVersion, tc.wantKind, wantAPIVersion)
			}
			if got.Metadata.Name != p.Name || got.Metadata.Namespace != p.Namespace || got.Metadata.UID != p.UID ||
				!got.Metadata.CreationTimestamp.Equal(p.CreationTimestamp.Time) || got.Metadata.Labels["app"] != "web" {
				t.Errorf("metadata = %+v", got.Metadata)
			}
			if (got.Spec != nil) != tc.wantSpec {
				t.Errorf("spec present = %v, want %v", got.Spec != nil, tc.wantSpec)
			}
			if p.Kind != "" || p.APIVersion != "" {
				t.Errorf("printing changed the object's TypeMeta to %+v", p.TypeMeta)
			}
		})
	}
}

func TestIncludeObjectKeepsTypeMeta(t *testing.T) {
	p := pods()[0]
	p.TypeMeta = api.TypeMeta{Kind: "Pod", APIVersion: "v1"}
	tbl, err := Table(resource(t, "pods"), []api.Object{p}, Options{Now: now, IncludeObject: IncludeObject})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(tbl.Rows[0].Object), `"kind"`); n != 1 {
		t.Errorf("object has %d kind fields: %s", n, tbl.Rows[0].Object)
	}
}

func TestIncludeObjectEmptyObject(t *testing.T) {
	// An object whose JSON is {} still gets a well-formed kind and apiVersion.
	tbl, err := Table(&moduleResource, []api.Object{&emptyObject{}}, Options{Now: now, IncludeObject: IncludeObject})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(tbl.Rows[0].Object), `{"kind":"Widget","apiVersion":"example.wasmkube.io/v1alpha1"}`; got != want {
		t.Errorf("object = %s, want %s", got, want)
	}
}

type emptyObject struct{ tm api.TypeMeta }

func (e *emptyObject) GetObjectMeta() *api.ObjectMeta { return &api.ObjectMeta{} }
func (e *emptyObject) GetTypeMeta() *api.TypeMeta     { return &e.tm }

func TestNoHeaders(t *testing.T) {
	tbl, err := Table(resource(t, "namespaces"), objects(namespaces()), Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tbl)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"columnDefinitions":null`)) {
		t.Errorf("table = %s, want null columnDefinitions", b)
	}
}

func TestEmptyList(t *testing.T) {
	tbl, err := Table(resource(t, "pods"), nil, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tbl)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"rows":[]`)) {
		t.Errorf("table = %s, want empty rows", b)
	}
	var out bytes.Buffer
	if err := Print(&out, tbl, PrintOptions{}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("empty table printed %q, want nothing", out.String())
	}
}

func TestTableErrors(t *testing.T) {
	tests := []struct {
		name string
		ri   *api.ResourceInfo
		objs []api.Object
		opts Options
		want error
	}{
		{"bad includeObject", resource(t, "pods"), nil, Options{IncludeObject: "Everything"}, ErrInvalidOptions},
		{"no resource", nil, nil, Options{}, ErrInvalidOptions},
		{"wrong type", resource(t, "pods"), objects(nodes()), Options{}, ErrWrongType},
		{"nil object", &moduleResource, []api.Object{nil}, Options{}, ErrWrongType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Table(tc.ri, tc.objs, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDefaultNowIsClock(t *testing.T) {
	p := pods()[0]
	p.CreationTimestamp = api.Now()
	tbl, err := Table(resource(t, "pods"), []api.Object{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Whatever the clock did meanwhile, a pod created now is seconds old.
	if a := tbl.Rows[0].Cells[4].(string); !strings.HasSuffix(a, "s") || strings.ContainsAny(a, "mhdy") {
		t.Errorf("age of a new pod = %q", a)
	}
}

func TestSelectorString(t *testing.T) {
	tests := []struct {
		name string
		sel  *api.LabelSelector
		want string
		ok   bool
	}{
		{"nil", nil, "", true},
		{"empty", &api.LabelSelector{}, "", true},
		{"labels sorted", &api.LabelSelector{MatchLabels: map[string]string{"b": "2", "a": "1"}}, "a=1,b=2", true},
		{"expressions", &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{
			{Key: "z", Operator: "NotIn", Values: []string{"y", "x"}},
			{Key: "m", Operator: "Exists"},
			{Key: "a", Operator: "DoesNotExist"},
		}}, "!a,m,z notin (x,y)", true},
		{"bad operator", &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{{Key: "a", Operator: "Gt"}}}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := selectorString(tc.sel)
			if got != tc.want || ok != tc.ok {
				t.Errorf("selectorString = %q, %v, want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if got := formatLabelSelector(&api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{{Key: "a", Operator: "Gt"}}}); got != "<error>" {
		t.Errorf("formatLabelSelector(bad) = %q", got)
	}
}

func BenchmarkPodTable(b *testing.B) {
	ps := benchPods(1000)
	ri, _ := api.NewResourceTable(api.Resources()).Lookup("pods")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Table(ri, ps, Options{Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrintPods(b *testing.B) {
	ri, _ := api.NewResourceTable(api.Resources()).Lookup("pods")
	tbl, err := Table(ri, benchPods(1000), Options{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Print(discard{}, tbl, PrintOptions{Wide: true, WithNamespace: true}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func benchPods(n int) []api.Object {
	out := make([]api.Object, n)
	for i := range out {
		p := pod("web-"+strings.Repeat("x", i%7), time.Duration(i)*time.Minute, api.PodRunning, "runner-1",
			running("app", int32(i%3)), running("sidecar", 0))
		p.Status.ContainerStatuses[0].LastState.Terminated = &api.ContainerStateTerminated{FinishedAt: ago(time.Minute)}
		p.ManagedFields = []api.ManagedFieldsEntry{{Manager: "runner", Operation: "Update", APIVersion: "v1"}}
		out[i] = p
	}
	return out
}

func TestEdgeCells(t *testing.T) {
	tests := []struct {
		name string
		row  []any
		col  int
		want any
	}{
		{"deployment replicas default to 1", deploymentRow(&api.Deployment{}, now), 1, "0/1"},
		{"deployment bad selector", deploymentRow(&api.Deployment{Spec: api.DeploymentSpec{Selector: &api.LabelSelector{
			MatchExpressions: []api.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}}}, now), 7, "<invalid>"},
		{"deployment without selector", deploymentRow(&api.Deployment{}, now), 7, ""},
		{"replicaset replicas default to 1", replicaSetRow(&api.ReplicaSet{}, now), 1, int64(1)},
		{"service type defaults to ClusterIP", serviceRow(&api.Service{}, now), 1, "ClusterIP"},
		{"service without cluster IP", serviceRow(&api.Service{}, now), 2, "<none>"},
		{"service of an unknown type", serviceRow(&api.Service{Spec: api.ServiceSpec{Type: "ExternalName"}}, now), 3, "<unknown>"},
		{"nodeport service with external IPs", serviceRow(&api.Service{Spec: api.ServiceSpec{Type: api.ServiceNodePort,
			ExternalIPs: []string{"192.0.2.9"}}}, now), 3, "192.0.2.9"},
		{"load balancer hostname only", serviceRow(&api.Service{Spec: api.ServiceSpec{Type: api.ServiceLoadBalancer},
			Status: api.ServiceStatus{LoadBalancer: api.LoadBalancerStatus{Ingress: []api.LoadBalancerIngress{{Hostname: "lb.example"}}}}}, now), 3, "lb.example"},
		{"lease without holder", leaseRow(&api.Lease{}, now), 1, ""},
		{"event kind only", eventRow(&api.Event{InvolvedObject: api.ObjectReference{Kind: "Node"}}, now), 3, "node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.row[tc.col]; got != tc.want {
				t.Errorf("cell %d = %#v, want %#v", tc.col, got, tc.want)
			}
		})
	}
}

func TestUnreadableRowObject(t *testing.T) {
	tbl := &api.Table{
		ColumnDefinitions: []api.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name"}},
		Rows:              []api.TableRow{{Cells: []any{"x"}, Object: json.RawMessage(`"not an object"`)}},
	}
	var out bytes.Buffer
	if err := Print(&out, tbl, PrintOptions{WithNamespace: true, ShowLabels: true}); err != nil {
		t.Fatal(err)
	}
	if want := "NAMESPACE   NAME   LABELS\n            x      \n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
