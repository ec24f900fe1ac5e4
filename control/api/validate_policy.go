package api

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

var percentRE = regexp.MustCompile(`^[0-9]+%$`)

// validatePodDisruptionBudget follows Kubernetes' pkg/apis/policy/validation: the spec on
// create and update (policy/v1 allows spec updates), and the status counts non-negative.
func validatePodDisruptionBudget(pdb *PodDisruptionBudget) FieldErrors {
	errs := validateMeta(&pdb.ObjectMeta, true, labels.IsDNS1123Subdomain)
	sp := Path("spec")
	s := &pdb.Spec
	if s.MinAvailable != nil && s.MaxUnavailable != nil {
		errs = append(errs, InvalidValue(sp, pdbSpecString(s), "minAvailable and maxUnavailable cannot be both set"))
	}
	errs = append(errs, validatePositiveIntOrPercent(sp.Child("minAvailable"), s.MinAvailable)...)
	errs = append(errs, validatePositiveIntOrPercent(sp.Child("maxUnavailable"), s.MaxUnavailable)...)
	errs = append(errs, validateLabelSelector(s.Selector, sp.Child("selector"))...)
	if p := s.UnhealthyPodEvictionPolicy; p != nil && *p != IfHealthyBudget && *p != AlwaysAllow {
		errs = append(errs, NotSupported(sp.Child("unhealthyPodEvictionPolicy"), *p, []string{AlwaysAllow, IfHealthyBudget}))
	}
	st, stp := &pdb.Status, Path("status")
	for _, f := range []struct {
		name string
		v    int32
	}{{"disruptionsAllowed", st.DisruptionsAllowed}, {"currentHealthy", st.CurrentHealthy},
		{"desiredHealthy", st.DesiredHealthy}, {"expectedPods", st.ExpectedPods}} {
		if f.v < 0 {
			errs = append(errs, InvalidValue(stp.Child(f.name), f.v, "must be greater than or equal to 0"))
		}
	}
	for i, c := range st.Conditions {
		cp := stp.Child("conditions").Index(i)
		if c.Type == "" {
			errs = append(errs, Required(cp.Child("type"), "must be set"))
		}
		if c.Status != ConditionTrue && c.Status != ConditionFalse && c.Status != ConditionUnknown {
			errs = append(errs, NotSupported(cp.Child("status"), c.Status, []string{string(ConditionFalse), string(ConditionTrue), string(ConditionUnknown)}))
		}
		if c.Reason == "" {
			errs = append(errs, Required(cp.Child("reason"), "must be set"))
		}
	}
	return errs
}

// validatePositiveIntOrPercent is Kubernetes' ValidatePositiveIntOrPercent and
// IsNotMoreThan100Percent.
func validatePositiveIntOrPercent(p Path, v *IntOrString) FieldErrors {
	if v == nil {
		return nil
	}
	if !v.IsString {
		if v.IntVal < 0 {
			return FieldErrors{InvalidValue(p, v.IntVal, "must be greater than or equal to 0")}
		}
		return nil
	}
	if !percentRE.MatchString(v.StrVal) {
		return FieldErrors{InvalidValue(p, v.StrVal, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")}
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%")); err != nil || n > 100 {
		return FieldErrors{InvalidValue(p, v.StrVal, "must not be greater than 100%")}
	}
	return nil
}

func pdbSpecString(s *PodDisruptionBudgetSpec) string {
	return "minAvailable: " + s.MinAvailable.String() + ", maxUnavailable: " + s.MaxUnavailable.String()
}
