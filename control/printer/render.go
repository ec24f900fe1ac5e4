package printer

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasmkube/wasmkube/control/api"
)

// kubectl lays tables out with tabwriter.NewWriter(out, 6, 4, 3, ' ', RememberWidths): a column
// is as wide as its widest cell plus 3 spaces, never under 6, and widths only grow across
// flushes. The last column is not padded.
const (
	layoutMinWidth = 6
	layoutPadding  = 3
)

// PrintOptions are the `get` flags that change how a Table is rendered.
type PrintOptions struct {
	// Wide shows the priority > 0 columns (-o wide).
	Wide bool
	// NoHeaders leaves the header line out (--no-headers).
	NoHeaders bool
	// WithNamespace prepends a NAMESPACE column taken from each row's object metadata (-A).
	WithNamespace bool
	// KindPrefix, such as "deployment.apps" or "pod", prefixes the name column's cells
	// ("deployment.apps/hello"), as kubectl does when several kinds are listed.
	KindPrefix string
	// ShowLabels appends a LABELS column from each row's object metadata (--show-labels).
	ShowLabels bool
}

// Print renders t as `kubectl get` does: upper-case headers, the wide columns only with Wide,
// cells aligned in space-padded columns. A table without rows prints nothing at all (kubectl
// then says "No resources found" on stderr; that is the caller's to say). A nil cell prints
// empty, as in kubectl. It returns the first error writing to w.
func Print(w io.Writer, t *api.Table, o PrintOptions) error {
	return NewWatchPrinter(w, o).Print(t)
}

// PrintName writes one line of `-o name` output: "deployment.apps/hello", "pod/web-1", or the
// bare name when kindPrefix is empty.
func PrintName(w io.Writer, kindPrefix, name string) error {
	if kindPrefix != "" {
		name = kindPrefix + "/" + name
	}
	_, err := io.WriteString(w, name+"\n")
	return err
}

// WatchPrinter prints a sequence of Tables under one header: the list `get -w` starts with,
// then the small tables its watch events carry (whose column definitions may be left out after
// the first). Like kubectl it prints the header again only when the columns change, writes each
// table out as soon as it is printed, and remembers column widths, so later rows line up with
// earlier ones unless they are wider. A WatchPrinter is not safe for concurrent use.
type WatchPrinter struct {
	w       io.Writer
	o       PrintOptions
	columns []api.TableColumnDefinition
	headed  bool
	widths  []int
}

// NewWatchPrinter returns a WatchPrinter that writes to w.
func NewWatchPrinter(w io.Writer, o PrintOptions) *WatchPrinter {
	return &WatchPrinter{w: w, o: o}
}

// Print renders t below what was printed before and writes it out. A table without column
// definitions uses the last ones seen. It returns the first error writing to the writer.
func (p *WatchPrinter) Print(t *api.Table) error { return p.PrintEvent("", t) }

// PrintEvent is Print with a leading EVENT column holding eventType ("ADDED", "MODIFIED",
// "DELETED", "ERROR"), as `get -w --output-watch-events` prints; the initial list's rows are
// printed as ADDED. An empty eventType adds no column.
func (p *WatchPrinter) PrintEvent(eventType string, t *api.Table) error {
	noHeaders := p.o.NoHeaders
	columns := t.ColumnDefinitions
	if p.headed && (len(columns) == 0 || reflect.DeepEqual(columns, p.columns)) {
		noHeaders = true
	}
	switch {
	case len(columns) == 0:
		columns = p.columns
	case !reflect.DeepEqual(columns, p.columns):
		p.columns = columns
		p.headed = false
		p.widths = nil
	}
	if len(t.Rows) == 0 {
		return nil
	}
	p.headed = true

	nameCol := -1
	if p.o.KindPrefix != "" {
		for i, c := range columns {
			if c.Format == formatName && c.Type == typeString {
				nameCol = i
				break
			}
		}
	}
	visible := make([]int, 0, len(columns))
	for i, c := range columns {
		if p.o.Wide || c.Priority == 0 {
			visible = append(visible, i)
		}
	}

	lines := make([][]string, 0, len(t.Rows)+1)
	if !noHeaders {
		h := make([]string, 0, len(visible)+3)
		if eventType != "" {
			h = append(h, "EVENT")
		}
		if p.o.WithNamespace {
			h = append(h, "NAMESPACE")
		}
		for _, i := range visible {
			h = append(h, strings.ToUpper(columns[i].Name))
		}
		if p.o.ShowLabels {
			h = append(h, "LABELS")
		}
		lines = append(lines, h)
	}
	for _, row := range t.Rows {
		line := make([]string, 0, len(visible)+3)
		if eventType != "" {
			line = append(line, formatEventType(eventType))
		}
		var meta *rowMeta
		if p.o.WithNamespace || p.o.ShowLabels {
			meta = decodeRowMeta(row.Object)
		}
		if p.o.WithNamespace {
			ns := ""
			if meta != nil {
				ns = meta.Metadata.Namespace
			}
			line = append(line, ns)
		}
		for _, i := range visible {
			var text string
			if i < len(row.Cells) {
				text = cellText(row.Cells[i])
			}
			if i == nameCol {
				text = p.o.KindPrefix + "/" + text
			}
			line = append(line, text)
		}
		if p.o.ShowLabels {
			labels := ""
			if meta != nil {
				labels = formatLabels(meta.Metadata.Labels)
			}
			line = append(line, labels)
		}
		lines = append(lines, line)
	}
	return p.flush(lines)
}

// formatEventType pads the watch event types to one width, as kubectl does.
func formatEventType(t string) string {
	switch t {
	case "ADDED", "DELETED", "ERROR":
		return t + strings.Repeat(" ", len("MODIFIED")-len(t))
	}
	return t
}

// flush writes lines in aligned columns, widening the remembered widths as needed.
func (p *WatchPrinter) flush(lines [][]string) error {
	for _, l := range lines {
		for i := 0; i < len(l)-1; i++ {
			w := max(utf8.RuneCountInString(l[i])+layoutPadding, layoutMinWidth)
			for len(p.widths) <= i {
				p.widths = append(p.widths, 0)
			}
			p.widths[i] = max(p.widths[i], w)
		}
	}
	var b strings.Builder
	for _, l := range lines {
		for i, c := range l {
			b.WriteString(c)
			if i < len(l)-1 {
				for n := p.widths[i] - utf8.RuneCountInString(c); n > 0; n-- {
					b.WriteByte(' ')
				}
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// rowMeta is the part of a row's embedded object (PartialObjectMetadata or the full object)
// that rendering reads.
type rowMeta struct {
	Metadata struct {
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
}

// decodeRowMeta returns nil when the row carries no object or it cannot be read, as kubectl
// leaves those cells empty.
func decodeRowMeta(raw json.RawMessage) *rowMeta {
	if len(raw) == 0 {
		return nil
	}
	var m rowMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	return &m
}

// cellText formats a cell as kubectl does: strings as they are, whole numbers without a
// fraction (JSON decodes them as float64), nil as nothing. Text is cut at the first line break
// (marked "...") and terminal escapes are defused.
func cellText(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			s = strconv.FormatInt(int64(x), 10)
		} else {
			s = fmt.Sprint(x)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			s = strconv.FormatInt(i, 10)
		} else {
			s = x.String()
		}
	default:
		s = fmt.Sprint(x)
	}
	if i := strings.IndexAny(s, "\f\n\r"); i >= 0 {
		s = s[:i] + "..."
	}
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = strings.ReplaceAll(s, "\x1b", "^[")
	}
	return s
}
