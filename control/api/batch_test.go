package api

import (
	"strings"
	"testing"
)

func TestJobDefaultAndValidate(t *testing.T) {
	base := func() *Job {
		j := &Job{ObjectMeta: ObjectMeta{Name: "wc", Namespace: "default"}}
		j.Spec.Template.Spec.RestartPolicy = RestartNever
		j.Spec.Template.Spec.Containers = []Container{{Name: "wc", Image: "wc:v1"}}
		Default(j)
		return j
	}
	j := base()
	if *j.Spec.Completions != 1 || *j.Spec.Parallelism != 1 || *j.Spec.BackoffLimit != 6 || *j.Spec.Suspend ||
		j.Spec.Template.Labels["job-name"] != "wc" {
		t.Fatalf("defaults: %+v", j.Spec)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Job)
		old    func(*Job)
		field  string // "" = valid
	}{
		{name: "valid", mutate: func(*Job) {}},
		{name: "on failure", mutate: func(j *Job) { j.Spec.Template.Spec.RestartPolicy = RestartOnFailure }},
		{name: "restart always", mutate: func(j *Job) { j.Spec.Template.Spec.RestartPolicy = RestartAlways }, field: "spec.template.spec.restartPolicy"},
		{name: "negative parallelism", mutate: func(j *Job) { j.Spec.Parallelism = Ptr[int32](-1) }, field: "spec.parallelism"},
		{name: "negative completions", mutate: func(j *Job) { j.Spec.Completions = Ptr[int32](-1) }, field: "spec.completions"},
		{name: "negative backoff", mutate: func(j *Job) { j.Spec.BackoffLimit = Ptr[int32](-1) }, field: "spec.backoffLimit"},
		{name: "zero deadline", mutate: func(j *Job) { j.Spec.ActiveDeadlineSeconds = Ptr[int64](0) }, field: "spec.activeDeadlineSeconds"},
		{name: "negative ttl", mutate: func(j *Job) { j.Spec.TTLSecondsAfterFinished = Ptr[int32](-1) }, field: "spec.ttlSecondsAfterFinished"},
		{name: "manual selector", mutate: func(j *Job) { j.Spec.ManualSelector = Ptr(true) }, field: "spec.manualSelector"},
		{name: "selector mismatch", mutate: func(j *Job) { j.Spec.Selector = &LabelSelector{MatchLabels: map[string]string{"a": "b"}} },
			field: "spec.template.metadata.labels"},
		{name: "no image", mutate: func(j *Job) { j.Spec.Template.Spec.Containers[0].Image = "" }, field: "spec.template.spec.containers[0].image"},
		{name: "template immutable", mutate: func(j *Job) { j.Spec.Template.Spec.Containers[0].Image = "wc:v2" }, old: func(*Job) {},
			field: "spec.template"},
		{name: "completions immutable", mutate: func(j *Job) { j.Spec.Completions = Ptr[int32](3) }, old: func(*Job) {}, field: "spec.completions"},
		{name: "parallelism mutable", mutate: func(j *Job) { j.Spec.Parallelism = Ptr[int32](3) }, old: func(*Job) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.mutate(o)
			var old Object
			if tc.old != nil {
				old = base()
			}
			errs := Validate(o, old)
			if tc.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tc.field {
					return
				}
			}
			t.Fatalf("errors %v lack field %s", errs, tc.field)
		})
	}
}

func TestModuleValidate(t *testing.T) {
	d1 := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		name  string
		mod   Module
		field string
	}{
		{name: "valid", mod: Module{ObjectMeta: ObjectMeta{Name: "hello"}, Spec: ModuleSpec{Tags: []ModuleTag{{Name: "v1", Digest: d1}, {Name: "latest", Digest: d1}}}}},
		{name: "bad name", mod: Module{ObjectMeta: ObjectMeta{Name: "Hello"}}, field: "metadata.name"},
		{name: "bad tag", mod: Module{ObjectMeta: ObjectMeta{Name: "hello"}, Spec: ModuleSpec{Tags: []ModuleTag{{Name: "-v1", Digest: d1}}}},
			field: "spec.tags[0].name"},
		{name: "duplicate tag", mod: Module{ObjectMeta: ObjectMeta{Name: "hello"}, Spec: ModuleSpec{Tags: []ModuleTag{{Name: "v1", Digest: d1}, {Name: "v1", Digest: d1}}}},
			field: "spec.tags[1].name"},
		{name: "bad digest", mod: Module{ObjectMeta: ObjectMeta{Name: "hello"}, Spec: ModuleSpec{Tags: []ModuleTag{{Name: "v1", Digest: "sha256:ABC"}}}},
			field: "spec.tags[0].digest"},
		{name: "negative size", mod: Module{ObjectMeta: ObjectMeta{Name: "hello"}, Spec: ModuleSpec{Tags: []ModuleTag{{Name: "v1", Digest: d1, Size: -1}}}},
			field: "spec.tags[0].size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.mod
			Default(&m)
			errs := Validate(&m, nil)
			if tc.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				if m.Spec.Tags[0].Name != "latest" {
					t.Errorf("tags not sorted: %+v", m.Spec.Tags)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tc.field {
					return
				}
			}
			t.Fatalf("errors %v lack field %s", errs, tc.field)
		})
	}
}
