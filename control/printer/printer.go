// Package printer owns the human-readable form of API objects: the server-side printer that turns
// objects into meta.k8s.io/v1 Tables with exactly the columns Kubernetes' own server prints, and
// the client-side renderer that lays a Table out the way `kubectl get` does. The API server uses
// Table, the `wk` CLI uses Print; an unmodified kubectl renders the same Table the same way.
//
// It does no I/O beyond writing to the io.Writer it is handed, never reaches the network, and
// reads the clock only through Options.Now. It does not own the list metadata of a Table
// (resourceVersion, continue): the caller that listed the objects fills those in.
package printer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// What Options.IncludeObject accepts: the same values as Kubernetes' TableOptions.includeObject.
const (
	// IncludeMetadata embeds each row's object as PartialObjectMetadata (the default).
	IncludeMetadata = "Metadata"
	// IncludeObject embeds each row's full object.
	IncludeObject = "Object"
	// IncludeNone embeds no object.
	IncludeNone = "None"
)

// ErrInvalidOptions marks Options the printer refuses, such as an unknown IncludeObject; the API
// answers it with 400 Bad Request.
var ErrInvalidOptions = errors.New("invalid table options")

// ErrWrongType marks an object whose Go type does not match the ResourceInfo it was printed as.
var ErrWrongType = errors.New("object does not match resource")

// Options controls how Table builds a table.
type Options struct {
	// Now is the instant ages are measured from ("5m" is Now minus creationTimestamp). The zero
	// value means time.Now().
	Now time.Time
	// IncludeObject is IncludeMetadata (or empty), IncludeObject or IncludeNone.
	IncludeObject string
	// NoHeaders leaves ColumnDefinitions out (null), as Kubernetes does for
	// TableOptions.noHeaders; watch events after the first use it to save bandwidth.
	NoHeaders bool
}

// Table prints objs, all of the resource ri, as a meta.k8s.io/v1 Table. Its column definitions
// always hold every column, the wide ones (shown by `-o wide`) with priority 1, and every row has
// one cell per column in that order, as Kubernetes' server does. Kinds without a printer of
// their own get Name and Age. ListMeta is left empty for the caller to fill.
//
// It returns an error wrapping ErrInvalidOptions for a bad IncludeObject and one wrapping
// ErrWrongType when an object is not of ri's kind. It is safe for concurrent use.
func Table(ri *api.ResourceInfo, objs []api.Object, opts Options) (*api.Table, error) {
	if ri == nil {
		return nil, fmt.Errorf("print table: %w: no resource", ErrInvalidOptions)
	}
	include := opts.IncludeObject
	switch include {
	case "":
		include = IncludeMetadata
	case IncludeMetadata, IncludeObject, IncludeNone:
	default:
		return nil, fmt.Errorf("print table of %s: %w: includeObject %q is not one of %s, %s, %s",
			ri.Resource, ErrInvalidOptions, include, IncludeNone, IncludeMetadata, IncludeObject)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p := printerFor(ri)
	t := &api.Table{
		TypeMeta: api.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"},
		Rows:     make([]api.TableRow, 0, len(objs)),
	}
	if !opts.NoHeaders {
		t.ColumnDefinitions = p.columns()
	}
	for i, obj := range objs {
		row, err := p.row(obj, now)
		if err != nil {
			name := ""
			if obj != nil {
				name = obj.GetObjectMeta().Name
			}
			return nil, fmt.Errorf("print %s %q (item %d): %w", ri.Singular, name, i, err)
		}
		if row.Object, err = embed(ri, obj, include); err != nil {
			return nil, fmt.Errorf("print %s %q: %w", ri.Singular, obj.GetObjectMeta().Name, err)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// kindPrinter prints one kind: its column definitions and one row per object.
type kindPrinter struct {
	columns func() []api.TableColumnDefinition
	row     func(obj api.Object, now time.Time) (api.TableRow, error)
}

func printerFor(ri *api.ResourceInfo) kindPrinter {
	switch ri.GroupKind() {
	case api.GroupKind{Kind: "Pod"}:
		return kindPrinter{podColumns, typed(podRow)}
	case api.GroupKind{Group: "apps", Kind: "Deployment"}:
		return kindPrinter{deploymentColumns, typed(deploymentRow)}
	case api.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		return kindPrinter{replicaSetColumns, typed(replicaSetRow)}
	case api.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		return kindPrinter{daemonSetColumns, typed(daemonSetRow)}
	case api.GroupKind{Kind: "Service"}:
		return kindPrinter{serviceColumns, typed(serviceRow)}
	case api.GroupKind{Kind: "Endpoints"}:
		return kindPrinter{endpointsColumns, typed(endpointsRow)}
	case api.GroupKind{Kind: "ConfigMap"}:
		return kindPrinter{configMapColumns, typed(configMapRow)}
	case api.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}:
		return kindPrinter{podDisruptionBudgetColumns, typed(podDisruptionBudgetRow)}
	case api.GroupKind{Kind: "Secret"}:
		return kindPrinter{secretColumns, typed(secretRow)}
	case api.GroupKind{Kind: "Node"}:
		return kindPrinter{nodeColumns, typed(nodeRow)}
	case api.GroupKind{Kind: "Namespace"}:
		return kindPrinter{namespaceColumns, typed(namespaceRow)}
	case api.GroupKind{Kind: "Event"}:
		return kindPrinter{eventColumns, typed(eventRow)}
	case api.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}:
		return kindPrinter{leaseColumns, typed(leaseRow)}
	case api.GroupKind{Group: "batch", Kind: "Job"}:
		return kindPrinter{jobColumns, typed(jobRow)}
	case api.GroupKind{Group: "batch", Kind: "CronJob"}:
		return kindPrinter{cronJobColumns, typed(cronJobRow)}
	case api.GroupKind{Group: "wasmkube.io", Kind: "Module"}:
		return kindPrinter{moduleColumns, typed(moduleRow)}
	case api.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:
		return kindPrinter{priorityClassColumns, typed(priorityClassRow)}
	case api.GroupKind{Group: "wasmkube.io", Kind: "SchedulingPolicy"}:
		return kindPrinter{schedulingPolicyColumns, typed(schedulingPolicyRow)}
	case api.GroupKind{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:
		return kindPrinter{csrColumns, typed(csrRow)}
	}
	return kindPrinter{defaultColumns, defaultRow}
}

// typed adapts a row function of one concrete type to any api.Object, refusing other types.
func typed[T api.Object](f func(T, time.Time) []any) func(api.Object, time.Time) (api.TableRow, error) {
	return func(obj api.Object, now time.Time) (api.TableRow, error) {
		o, ok := obj.(T)
		if !ok {
			var want T
			return api.TableRow{}, fmt.Errorf("%w: got %T, want %T", ErrWrongType, obj, want)
		}
		return api.TableRow{Cells: f(o, now), Conditions: rowConditions(obj)}, nil
	}
}

func defaultRow(obj api.Object, now time.Time) (api.TableRow, error) {
	if obj == nil {
		return api.TableRow{}, fmt.Errorf("%w: nil object", ErrWrongType)
	}
	m := obj.GetObjectMeta()
	return api.TableRow{Cells: []any{m.Name, age(m.CreationTimestamp, now)}}, nil
}

// tableRowCondition is meta.k8s.io/v1 TableRowCondition.
type tableRowCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// rowConditions marks finished pods Completed, as Kubernetes' pod printer does.
func rowConditions(obj api.Object) []any {
	pod, ok := obj.(*api.Pod)
	if !ok {
		return nil
	}
	switch pod.Status.Phase {
	case api.PodSucceeded:
		return []any{tableRowCondition{Type: "Completed", Status: "True", Reason: api.PodSucceeded,
			Message: "The pod has completed successfully."}}
	case api.PodFailed:
		return []any{tableRowCondition{Type: "Completed", Status: "True", Reason: api.PodFailed,
			Message: "The pod failed."}}
	}
	return nil
}

// embed encodes the row's object as include asks.
func embed(ri *api.ResourceInfo, obj api.Object, include string) (json.RawMessage, error) {
	switch include {
	case IncludeNone:
		return nil, nil
	case IncludeMetadata:
		pm := api.PartialObjectMetadata{
			TypeMeta:   api.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"},
			ObjectMeta: *obj.GetObjectMeta(),
		}
		b, err := json.Marshal(&pm)
		if err != nil {
			return nil, fmt.Errorf("encode metadata: %w", err)
		}
		return b, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode object: %w", err)
	}
	if tm := obj.GetTypeMeta(); tm.Kind == "" && tm.APIVersion == "" {
		// Objects held in memory may lack their TypeMeta; the wire form always carries it.
		head, err := json.Marshal(api.TypeMeta{Kind: ri.Kind, APIVersion: ri.GroupVersion()})
		if err != nil {
			return nil, fmt.Errorf("encode object: %w", err)
		}
		rest := bytes.TrimPrefix(b, []byte("{"))
		if len(bytes.TrimSpace(rest)) > 1 { // more than the closing brace
			head = append(head[:len(head)-1], ',')
		} else {
			head = head[:len(head)-1]
		}
		b = append(head, rest...)
	}
	return b, nil
}

// age is Kubernetes' translateTimestampSince: the HumanDuration since t, or "<unknown>".
func age(t api.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t.Time))
}
