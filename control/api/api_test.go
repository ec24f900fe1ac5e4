package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const deployJSON = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"hello"},
 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"hello"}},
  "template":{"metadata":{"labels":{"app":"hello"}},"spec":{"containers":[{"name":"hello","image":"hello:v1",
   "resources":{"requests":{"memory":"16Mi","cpu":"10m"}}}]}}}}`

func TestDecodeStrict(t *testing.T) {
	var d Decoder
	for _, tc := range []struct {
		name, doc  string
		malformed  bool
		wantFields []string
	}{
		{"valid", deployJSON, false, nil},
		{"malformed", `{"kind":`, true, nil},
		{"trailing data", `{} {}`, true, nil},
		{"misspelt top", strings.Replace(deployJSON, `"spec"`, `"spek"`, 1), false, []string{"spek"}},
		{"misspelt deep", strings.Replace(deployJSON, `"image"`, `"imagee"`, 1), false, []string{"spec.template.spec.containers[0].imagee"}},
		{"wrong case", strings.Replace(deployJSON, `"replicas"`, `"Replicas"`, 1), false, []string{"spec.Replicas"}},
		{"bad quantity", strings.Replace(deployJSON, `"16Mi"`, `"16Mx"`, 1), false, []string{"spec.template.spec.containers[0].resources.requests[memory]"}},
		{"wrong type", strings.Replace(deployJSON, `"replicas":2`, `"replicas":"two"`, 1), false, []string{"spec.replicas"}},
		{"unsupported field", strings.Replace(deployJSON, `"containers"`, `"hostNetwork":true,"containers"`, 1), false, []string{"spec.template.spec.hostNetwork"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obj Deployment
			err := d.Decode([]byte(tc.doc), &obj)
			if tc.malformed {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			var fe FieldErrors
			if len(tc.wantFields) == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want FieldErrors", err)
			}
			for i, f := range tc.wantFields {
				if i >= len(fe) || fe[i].Field != f {
					t.Fatalf("errors = %v, want fields %v", fe, tc.wantFields)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	var d Decoder
	base := func() *Deployment {
		var obj Deployment
		if err := d.Decode([]byte(deployJSON), &obj); err != nil {
			t.Fatal(err)
		}
		Default(&obj)
		return &obj
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Deployment)
		field  string // "" = valid
	}{
		{"valid", func(*Deployment) {}, ""},
		{"bad name", func(o *Deployment) { o.Name = "Hello_World" }, "metadata.name"},
		{"bad label key", func(o *Deployment) { o.Labels = map[string]string{"-bad": "x"} }, "metadata.labels"},
		{"bad label value", func(o *Deployment) { o.Labels = map[string]string{"app": "not ok!"} }, "metadata.labels[app]"},
		{"negative replicas", func(o *Deployment) { o.Spec.Replicas = Ptr[int32](-1) }, "spec.replicas"},
		{"selector mismatch", func(o *Deployment) { o.Spec.Selector.MatchLabels["app"] = "other" }, "spec.template.metadata.labels"},
		{"no selector", func(o *Deployment) { o.Spec.Selector = nil }, "spec.selector"},
		{"no image", func(o *Deployment) { o.Spec.Template.Spec.Containers[0].Image = "" }, "spec.template.spec.containers[0].image"},
		{"bad strategy", func(o *Deployment) { o.Spec.Strategy.Type = "BlueGreen" }, "spec.strategy.type"},
		{"restart never", func(o *Deployment) { o.Spec.Template.Spec.RestartPolicy = RestartNever }, "spec.template.spec.restartPolicy"},
		{"both zero", func(o *Deployment) {
			o.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxSurge: Ptr(FromInt(0)), MaxUnavailable: Ptr(FromInt(0))}
		}, "spec.strategy.rollingUpdate.maxUnavailable"},
		{"request over limit", func(o *Deployment) {
			o.Spec.Template.Spec.Containers[0].Resources.Limits = ResourceList{"memory": MustParseQuantity("8Mi")}
		}, "spec.template.spec.containers[0].resources.requests[memory]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.mutate(o)
			errs := Validate(o, nil)
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

func TestInvalidStatus(t *testing.T) {
	err := Invalid(GroupKind{"apps", "Deployment"}, "hello", FieldErrors{
		InvalidValue("spec.replicas", int32(-1), "must be greater than or equal to 0")})
	want := `Deployment.apps "hello" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`
	if err.Error() != want {
		t.Fatalf("message = %q\nwant %q", err.Error(), want)
	}
	b, _ := json.Marshal(err.Status)
	if !strings.Contains(string(b), `"causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"}]`) || err.Status.Code != 422 {
		t.Fatalf("status = %s", b)
	}
}

func TestQuantity(t *testing.T) {
	for _, tc := range []struct {
		in    string
		milli int64
		bad   bool
	}{
		{"100m", 100, false}, {"1", 1000, false}, {"0.5", 500, false}, {"1Ki", 1024000, false},
		{"128Mi", 128 << 20 * 1000, false}, {"1G", 1e12, false}, {"1e3", 1e6, false}, {"1.5Gi", 1.5 * (1 << 30) * 1000, false},
		{"", 0, true}, {"abc", 0, true}, {"1Qi", 0, true}, {"1..2", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			q, err := ParseQuantity(tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v", err)
			}
			if !tc.bad && q.MilliValue() != tc.milli {
				t.Fatalf("milli = %d, want %d", q.MilliValue(), tc.milli)
			}
		})
	}
}

func TestIntOrString(t *testing.T) {
	for _, tc := range []struct {
		v       IntOrString
		total   int
		up      bool
		want    int
		wantErr bool
	}{
		{FromString("25%"), 10, true, 3, false}, {FromString("25%"), 10, false, 2, false},
		{FromInt(4), 10, true, 4, false}, {FromString("x"), 10, true, 0, true},
	} {
		got, err := tc.v.ScaledValue(tc.total, tc.up)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Fatalf("%v.ScaledValue(%d,%v) = %d, %v", tc.v, tc.total, tc.up, got, err)
		}
	}
}

func TestTimestamps(t *testing.T) {
	for _, tc := range []struct {
		in        string
		wantTime  string // Time, RFC 3339
		wantMicro string // MicroTime
		bad       bool
	}{
		{`null`, "null", "null", false},
		{`""`, "null", "null", false},
		{`"2026-11-22T04:05:06Z"`, `"2026-11-22T04:05:06Z"`, `"2026-11-22T04:05:06.000000Z"`, false},
		{`"2026-11-22T05:05:06.123456789+01:00"`, `"2026-11-22T04:05:06Z"`, `"2026-11-22T04:05:06.123456Z"`, false},
		{`"yesterday"`, "", "", true},
		{`12`, "", "", true},
	} {
		var tt Time
		var mt MicroTime
		errT, errM := json.Unmarshal([]byte(tc.in), &tt), json.Unmarshal([]byte(tc.in), &mt)
		if (errT != nil) != tc.bad || (errM != nil) != tc.bad {
			t.Fatalf("%s: errors %v, %v", tc.in, errT, errM)
		}
		if tc.bad {
			continue
		}
		bt, _ := json.Marshal(tt)
		bm, _ := json.Marshal(mt)
		if string(bt) != tc.wantTime || string(bm) != tc.wantMicro {
			t.Fatalf("%s: Time %s, MicroTime %s; want %s, %s", tc.in, bt, bm, tc.wantTime, tc.wantMicro)
		}
	}
}

// TestSubPathRefused: wasmkube does not implement volumeMounts.subPath, so it is refused as an
// unknown field (422) rather than silently ignored.
func TestSubPathRefused(t *testing.T) {
	var d Decoder
	doc := strings.Replace(deployJSON, `"image":"hello:v1"`, `"image":"hello:v1","volumeMounts":[{"name":"v","mountPath":"/v","subPath":"x"}]`, 1)
	var obj Deployment
	var fe FieldErrors
	if err := d.Decode([]byte(doc), &obj); !errors.As(err, &fe) || fe[0].Field != "spec.template.spec.containers[0].volumeMounts[0].subPath" {
		t.Fatalf("err = %v, want an unknown-field error for subPath", err)
	}
}

// TestQuantityFastPath: whole numbers with a plain suffix parse to what the general parser
// gives.
func TestQuantityFastPath(t *testing.T) {
	for _, s := range []string{"0", "1", "500m", "2", "10k", "3M", "4G", "5T", "6P", "128Mi", "1Ki", "7Gi", "8Ti", "9Pi",
		"9223372036854775", "9223372036854776", "9999999999999999999", "9223372036854775807m", "10P", "8192Pi"} {
		fast, errFast := parseMilli(s)
		slow, errSlow := parseMilliRat(s)
		if fast != slow || (errFast == nil) != (errSlow == nil) {
			t.Errorf("%s: fast %d (%v), general %d (%v)", s, fast, errFast, slow, errSlow)
		}
	}
}
