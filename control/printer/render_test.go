package printer

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
)

// TestPrintOptionsGolden renders one list with each `get` flag that changes the layout.
func TestPrintOptionsGolden(t *testing.T) {
	deploys, err := Table(resource(t, "deployments"), objects(deployments()), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := Table(resource(t, "events"), objects(events()), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	noObjects, err := Table(resource(t, "deployments"), objects(deployments()), Options{Now: now, IncludeObject: IncludeNone})
	if err != nil {
		t.Fatal(err)
	}
	fullObjects, err := Table(resource(t, "deployments"), objects(deployments()), Options{Now: now, IncludeObject: IncludeObject})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cmd string
		tbl *api.Table
		o   PrintOptions
	}{
		{"get deployments -A", deploys, PrintOptions{WithNamespace: true}},
		{"get deployments -A -o wide --show-labels", deploys, PrintOptions{WithNamespace: true, Wide: true, ShowLabels: true}},
		{"get deployments --no-headers", deploys, PrintOptions{NoHeaders: true}},
		{"get deployments,pods (deployments part)", deploys, PrintOptions{KindPrefix: "deployment.apps"}},
		{"get deployments,pods -A -o wide (deployments part)", deploys, PrintOptions{KindPrefix: "deployment.apps", WithNamespace: true, Wide: true}},
		{"get events,pods -o wide (events part: name is a wide column)", evs, PrintOptions{KindPrefix: "event", Wide: true}},
		{"get events,pods (events part)", evs, PrintOptions{KindPrefix: "event"}},
		{"-A --show-labels, includeObject=None", noObjects, PrintOptions{WithNamespace: true, ShowLabels: true}},
		{"-A --show-labels, includeObject=Object", fullObjects, PrintOptions{WithNamespace: true, ShowLabels: true}},
	}
	var out bytes.Buffer
	for _, c := range cases {
		out.WriteString("$ " + c.cmd + "\n")
		if err := Print(&out, c.tbl, c.o); err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n")
	}
	golden(t, "options.txt", out.Bytes())
}

func TestCellText(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, ""},
		{"string", "Running", "Running"},
		{"int64", int64(3), "3"},
		{"whole float", float64(42), "42"},
		{"negative float", float64(-7), "-7"},
		{"fraction", 1.5, "1.5"},
		{"huge float", 1e21, "1e+21"},
		{"json number", json.Number("12"), "12"},
		{"json fraction", json.Number("0.25"), "0.25"},
		{"bool", true, "true"},
		{"newline", "first line\nsecond", "first line..."},
		{"carriage return", "a\rb", "a..."},
		{"form feed", "a\fb", "a..."},
		{"escape", "red \x1b[31m", "red ^[[31m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cellText(tc.in); got != tc.want {
				t.Errorf("cellText(%#v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPrintLayout(t *testing.T) {
	cols := []api.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "N", Type: "integer"},
		{Name: "Wide Only", Type: "string", Priority: 1},
		{Name: "Note", Type: "string"},
	}
	tbl := &api.Table{ColumnDefinitions: cols, Rows: []api.TableRow{
		{Cells: []any{"a", int64(1), "w", "x"}},
		{Cells: []any{"much-longer-name", nil, "ww", ""}},
		{Cells: []any{"short"}},                      // fewer cells than columns
		{Cells: []any{"b", int64(2), "w", "y", "z"}}, // more cells than columns
	}}
	tests := []struct {
		name string
		o    PrintOptions
		want string
	}{
		{"default", PrintOptions{}, "" +
			"NAME               N     NOTE\n" +
			"a                  1     x\n" +
			"much-longer-name         \n" +
			"short                    \n" +
			"b                  2     y\n"},
		{"wide", PrintOptions{Wide: true}, "" +
			"NAME               N     WIDE ONLY   NOTE\n" +
			"a                  1     w           x\n" +
			"much-longer-name         ww          \n" +
			"short                                \n" +
			"b                  2     w           y\n"},
		{"no headers", PrintOptions{NoHeaders: true}, "" +
			"a                  1     x\n" +
			"much-longer-name         \n" +
			"short                    \n" +
			"b                  2     y\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Print(&out, tbl, tc.o); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", out.String(), tc.want)
			}
		})
	}
}

// TestPrintUnicodeWidth pads by characters, not bytes, as tabwriter does.
func TestPrintUnicodeWidth(t *testing.T) {
	tbl := &api.Table{
		ColumnDefinitions: []api.TableColumnDefinition{{Name: "Name", Type: "string"}, {Name: "Age", Type: "string"}},
		Rows:              []api.TableRow{{Cells: []any{"café-über-señor", "1s"}}, {Cells: []any{"plain", "2s"}}},
	}
	var out bytes.Buffer
	if err := Print(&out, tbl, PrintOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "NAME              AGE\ncafé-über-señor   1s\nplain             2s\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", &out, want)
	}
}

// TestWatchPrinter follows `get -w`: the list, then one-row tables from watch events, the first
// of which repeats the column definitions and the rest of which leave them out.
func TestWatchPrinter(t *testing.T) {
	ri := resource(t, "pods")
	ps := pods()
	list, err := Table(ri, objects(ps[:2]), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	first, err := Table(ri, objects(ps[2:3]), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Table(ri, objects(ps[3:4]), Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := Table(ri, objects(ps[8:9]), Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	p := NewWatchPrinter(&out, PrintOptions{})
	for i, tbl := range []*api.Table{list, first, second, deleted} {
		if err := p.Print(tbl); err != nil {
			t.Fatalf("table %d: %v", i, err)
		}
	}
	want := "" +
		"NAME           READY   STATUS              RESTARTS   AGE\n" +
		"web-pending    0/1     Pending             0          5s\n" +
		"web-creating   0/1     ContainerCreating   0          90s\n" +
		"web-running    1/1     Running             0          3m20s\n" +
		"web-crash      1/2     CrashLoopBackOff    3 (2m ago)   10m\n" +
		"web-terminating   1/1     Terminating         0            2d3h\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", &out, want)
	}

	// New columns (another kind) bring a new header.
	nsTable, err := Table(resource(t, "namespaces"), objects(namespaces()[:1]), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := p.Print(nsTable); err != nil {
		t.Fatal(err)
	}
	if want := "NAME      STATUS   AGE\ndefault   Active   40d\n"; out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", &out, want)
	}
}

// TestWatchPrinterEvents follows `get -w --output-watch-events`: the list's rows as ADDED.
func TestWatchPrinterEvents(t *testing.T) {
	ri := resource(t, "pods")
	ps := pods()
	list, err := Table(ri, objects(ps[:2]), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	modified, err := Table(ri, objects(ps[2:4]), Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := Table(ri, objects(ps[8:9]), Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := NewWatchPrinter(&out, PrintOptions{})
	for _, e := range []struct {
		typ string
		tbl *api.Table
	}{{"ADDED", list}, {"MODIFIED", modified}, {"DELETED", deleted}} {
		if err := p.PrintEvent(e.typ, e.tbl); err != nil {
			t.Fatal(err)
		}
	}
	want := "" +
		"EVENT      NAME           READY   STATUS              RESTARTS   AGE\n" +
		"ADDED      web-pending    0/1     Pending             0          5s\n" +
		"ADDED      web-creating   0/1     ContainerCreating   0          90s\n" +
		"MODIFIED   web-running    1/1     Running             0            3m20s\n" +
		"MODIFIED   web-crash      1/2     CrashLoopBackOff    3 (2m ago)   10m\n" +
		"DELETED    web-terminating   1/1     Terminating         0            2d3h\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", &out, want)
	}
}

// TestWatchPrinterEmptyList prints the header with the first event when the list was empty.
func TestWatchPrinterEmptyList(t *testing.T) {
	ri := resource(t, "namespaces")
	empty, err := Table(ri, nil, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Table(ri, objects(namespaces()[2:]), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := NewWatchPrinter(&out, PrintOptions{})
	if err := p.Print(empty); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("empty list printed %q", out.String())
	}
	if err := p.Print(ev); err != nil {
		t.Fatal(err)
	}
	if want := "NAME     STATUS        AGE\ndoomed   Terminating   47h\n"; out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", &out, want)
	}
}

func TestPrintName(t *testing.T) {
	tests := []struct{ prefix, name, want string }{
		{"deployment.apps", "hello", "deployment.apps/hello\n"},
		{"pod", "web-1", "pod/web-1\n"},
		{"", "bare", "bare\n"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			var out bytes.Buffer
			if err := PrintName(&out, tc.prefix, tc.name); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

var errWrite = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestPrintWriteError(t *testing.T) {
	tbl, err := Table(resource(t, "namespaces"), objects(namespaces()), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := Print(failingWriter{}, tbl, PrintOptions{}); !errors.Is(err, errWrite) {
		t.Errorf("Print = %v, want %v", err, errWrite)
	}
	if err := PrintName(failingWriter{}, "pod", "x"); !errors.Is(err, errWrite) {
		t.Errorf("PrintName = %v, want %v", err, errWrite)
	}
}
