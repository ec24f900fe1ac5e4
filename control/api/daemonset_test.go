package api

import (
	"strings"
	"testing"
)

const daemonSetJSON = `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","namespace":"default"},
"spec":{"selector":{"matchLabels":{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"}},
"spec":{"containers":[{"name":"agent","image":"registry.local/agent:v1"}]}}}}`

func newDaemonSet(t *testing.T) *DaemonSet {
	t.Helper()
	var d Decoder
	var ds DaemonSet
	if err := d.Decode([]byte(daemonSetJSON), &ds); err != nil {
		t.Fatal(err)
	}
	Default(&ds)
	return &ds
}

func TestDaemonSetDefaults(t *testing.T) {
	ds := newDaemonSet(t)
	s := ds.Spec.UpdateStrategy
	if s.Type != RollingUpdateStrategy || s.RollingUpdate.MaxUnavailable.String() != "1" || s.RollingUpdate.MaxSurge.String() != "0" ||
		*ds.Spec.RevisionHistoryLimit != 10 || ds.Spec.Template.Spec.RestartPolicy != RestartAlways {
		t.Fatalf("defaults: %+v %+v", s.RollingUpdate, ds.Spec)
	}
	od := newDaemonSet(t)
	od.Spec.UpdateStrategy = DaemonSetUpdateStrategy{Type: OnDeleteDaemonSetStrategy}
	Default(od)
	if od.Spec.UpdateStrategy.RollingUpdate != nil {
		t.Fatalf("OnDelete got rollingUpdate %+v", od.Spec.UpdateStrategy.RollingUpdate)
	}
}

func TestDaemonSetTemplateGeneration(t *testing.T) {
	ds := newDaemonSet(t)
	SetTemplateGeneration(ds, nil)
	next := newDaemonSet(t)
	next.Spec.MinReadySeconds = 5
	SetTemplateGeneration(next, ds)
	if g, _ := TemplateGeneration(next); g != 1 {
		t.Fatalf("spec change outside the template: generation %d, want 1", g)
	}
	next2 := newDaemonSet(t)
	next2.Spec.Template.Spec.Containers[0].Image = "registry.local/agent:v2"
	next2.Annotations = map[string]string{AnnotationTemplateGeneration: "40"} // clients cannot set it
	SetTemplateGeneration(next2, next)
	if g, _ := TemplateGeneration(next2); g != 2 {
		t.Fatalf("template change: generation %d, want 2", g)
	}
}

func TestValidateDaemonSet(t *testing.T) {
	pct := func(s string) *IntOrString { return Ptr(FromString(s)) }
	num := func(n int32) *IntOrString { return Ptr(FromInt(n)) }
	ru := func(u, s *IntOrString) func(*DaemonSet) {
		return func(o *DaemonSet) {
			o.Spec.UpdateStrategy.RollingUpdate = &RollingUpdateDaemonSet{MaxUnavailable: u, MaxSurge: s}
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*DaemonSet)
		want   string // "field: detail" of one error; "" = valid
	}{
		{"valid", func(*DaemonSet) {}, ""},
		{"surge only", ru(num(0), num(1)), ""},
		{"percentages", ru(pct("20%"), num(0)), ""},
		{"bad name", func(o *DaemonSet) { o.Name = "Agent_1" }, "metadata.name: Invalid value"},
		{"no selector", func(o *DaemonSet) { o.Spec.Selector = nil }, "spec.selector: Required value"},
		{"empty selector", func(o *DaemonSet) { o.Spec.Selector = &LabelSelector{} },
			"spec.selector: Invalid value: \"{}\": empty selector is invalid for daemonset"},
		{"selector mismatch", func(o *DaemonSet) { o.Spec.Selector.MatchLabels["app"] = "other" },
			"spec.template.metadata.labels: Invalid value: \"app=agent\": `selector` does not match template `labels`"},
		{"restart never", func(o *DaemonSet) { o.Spec.Template.Spec.RestartPolicy = RestartNever },
			"spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""},
		{"active deadline", func(o *DaemonSet) { o.Spec.Template.Spec.ActiveDeadlineSeconds = Ptr[int64](5) },
			"spec.template.spec.activeDeadlineSeconds: Invalid value: 5: activeDeadlineSeconds in DaemonSet is not Supported"},
		{"negative minReadySeconds", func(o *DaemonSet) { o.Spec.MinReadySeconds = -1 },
			"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"},
		{"negative history", func(o *DaemonSet) { o.Spec.RevisionHistoryLimit = Ptr[int32](-1) },
			"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"},
		{"bad strategy", func(o *DaemonSet) { o.Spec.UpdateStrategy.Type = "Recreate" },
			"spec.updateStrategy: Unsupported value: \"Recreate\": supported values: \"RollingUpdate\", \"OnDelete\""},
		{"no rollingUpdate", func(o *DaemonSet) { o.Spec.UpdateStrategy.RollingUpdate = nil },
			"spec.updateStrategy.rollingUpdate: Required value"},
		{"both zero", ru(num(0), num(0)), "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"},
		{"both set", ru(num(1), pct("10%")),
			"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: \"10%\": may not be set when maxUnavailable is non-zero"},
		{"negative", ru(num(-1), num(0)), "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"-1\": must be greater than or equal to 0"},
		{"over 100%", ru(pct("101%"), num(0)),
			"spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"101%\": must not be greater than 100%"},
		{"not a percent", ru(pct("ten"), num(0)),
			"spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"ten\": a valid percent string must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newDaemonSet(t)
			tc.mutate(o)
			errs := Validate(o, nil)
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			for _, e := range errs {
				if strings.HasPrefix(e.Error(), tc.want) {
					return
				}
			}
			t.Fatalf("errors %v lack %q", errs, tc.want)
		})
	}
	t.Run("selector immutable", func(t *testing.T) {
		old, o := newDaemonSet(t), newDaemonSet(t)
		o.Spec.Selector.MatchLabels["tier"] = "edge"
		o.Spec.Template.Labels["tier"] = "edge"
		errs := Validate(o, old)
		if len(errs) != 1 || errs[0].Field != "spec.selector" || !strings.Contains(errs[0].Error(), "field is immutable") {
			t.Fatalf("errors %v", errs)
		}
	})
}
