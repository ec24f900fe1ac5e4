package api

import (
	"strings"
	"testing"
)

func TestPodUpdateTolerations(t *testing.T) {
	notReady := Toleration{Key: "node.kubernetes.io/not-ready", Operator: TolerationOpExists, Effect: TaintNoExecute, TolerationSeconds: Ptr[int64](300)}
	gpu := Toleration{Key: "gpu", Operator: TolerationOpEqual, Value: "yes", Effect: TaintNoSchedule}
	pod := func(tols ...Toleration) *Pod {
		p := &Pod{ObjectMeta: ObjectMeta{Name: "web", Namespace: "default"},
			Spec: PodSpec{Containers: []Container{{Name: "web", Image: "web:v1"}}, Tolerations: tols}}
		Default(p)
		return p
	}
	shorter := notReady
	shorter.TolerationSeconds = Ptr[int64](10)
	forever := notReady
	forever.TolerationSeconds = nil
	changedValue := gpu
	changedValue.Value = "no"
	for _, tc := range []struct {
		name     string
		was, now *Pod
		want     string // "" : allowed; else a fragment of the error
	}{
		{"add to none", pod(), pod(gpu), ""},
		{"add to some", pod(notReady), pod(notReady, gpu), ""},
		{"add before existing", pod(notReady), pod(gpu, notReady), ""},
		{"change tolerationSeconds", pod(notReady), pod(shorter), ""},
		{"drop tolerationSeconds", pod(notReady), pod(forever), ""},
		{"remove", pod(notReady, gpu), pod(notReady), "existing toleration can not be modified"},
		{"change value", pod(gpu), pod(changedValue), "existing toleration can not be modified"},
		{"add invalid", pod(), pod(Toleration{Key: "x", Operator: "Maybe"}), "Unsupported value"},
		{"other spec field", pod(), func() *Pod { p := pod(); p.Spec.NodeSelector = map[string]string{"a": "b"}; return p }(), "pod updates may not change fields"},
		{"preemptionPolicy", pod(), func() *Pod { p := pod(); p.Spec.PreemptionPolicy = Ptr(PreemptNever); return p }(), "pod updates may not change fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := Validate(tc.now, tc.was)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Fatalf("errors = %v, want none", errs)
			case tc.want != "" && !strings.Contains(errs.Error(), tc.want):
				t.Fatalf("errors = %v, want %q", errs, tc.want)
			}
		})
	}
}

func TestPreemptionPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, policy, want string
	}{
		{"default", "", PreemptLowerPriority},
		{"never", PreemptNever, PreemptNever},
		{"lower", PreemptLowerPriority, PreemptLowerPriority},
		{"unknown", "Sometimes", "Unsupported value: \"Sometimes\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Pod{ObjectMeta: ObjectMeta{Name: "web", Namespace: "default"},
				Spec: PodSpec{Containers: []Container{{Name: "web", Image: "web:v1"}}}}
			if tc.policy != "" {
				p.Spec.PreemptionPolicy = Ptr(tc.policy)
			}
			Default(p)
			errs := Validate(p, nil)
			if len(errs) > 0 {
				if !strings.Contains(errs.Error(), tc.want) || errs[0].Field != "spec.preemptionPolicy" {
					t.Fatalf("errors = %v, want %q on spec.preemptionPolicy", errs, tc.want)
				}
				return
			}
			if got := PodPreemptionPolicy(&p.Spec); got != tc.want {
				t.Fatalf("policy = %q, want %q", got, tc.want)
			}
		})
	}
}
