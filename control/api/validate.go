package api

import (
	"fmt"
	"net"
	"strings"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

// MaxAnnotationsBytes is Kubernetes' limit on the total size of an object's annotations.
const MaxAnnotationsBytes = 256 * 1024

// Validate checks a whole object about to be created (old == nil) or to replace old, and
// returns every problem with its field path. It does not check fields the server owns and
// sets itself (uid, resourceVersion, creationTimestamp).
func Validate(obj, old Object) FieldErrors {
	var errs FieldErrors = validateMore(obj, old)
	switch o := obj.(type) {
	case *Namespace:
		errs = validateMeta(&o.ObjectMeta, false, labels.IsDNS1123Label)
	case *Node:
		errs = validateMeta(&o.ObjectMeta, false, labels.IsDNS1123Subdomain)
		errs = append(errs, validateTaints(o.Spec.Taints, Path("spec").Child("taints"))...)
	case *PriorityClass:
		oo, _ := old.(*PriorityClass)
		errs = validatePriorityClass(o, oo)
	case *SchedulingPolicy:
		errs = validateSchedulingPolicy(o)
	case *CertificateSigningRequest:
		errs = validateCertificateSigningRequest(o, asCSR(old))
	case *Pod:
		errs = validateMeta(&o.ObjectMeta, true, labels.IsDNS1123Subdomain)
		errs = append(errs, validatePodSpec(&o.Spec, Path("spec"))...)
		if o, ok := old.(*Pod); ok && obj.(*Pod) != nil {
			errs = append(errs, validatePodUpdate(obj.(*Pod), o)...)
		}
	case *Service:
		errs = validateMeta(&o.ObjectMeta, true, labels.IsDNS1035Label)
		errs = append(errs, validateService(o)...)
		if oo, ok := old.(*Service); ok && oo.Spec.ClusterIP != "" && o.Spec.ClusterIP != oo.Spec.ClusterIP {
			errs = append(errs, InvalidValue("spec.clusterIP", o.Spec.ClusterIP, "field is immutable"))
		}
	case *Endpoints:
		errs = validateMeta(&o.ObjectMeta, true, labels.IsDNS1123Subdomain)
		for i, s := range o.Subsets {
			p := Path("subsets").Index(i)
			for j, a := range append(append([]EndpointAddress{}, s.Addresses...), s.NotReadyAddresses...) {
				if net.ParseIP(a.IP) == nil {
					errs = append(errs, InvalidValue(p.Child("addresses").Index(j).Child("ip"), a.IP, "must be a valid IP address"))
				}
			}
			for j, port := range s.Ports {
				errs = append(errs, validatePort(p.Child("ports").Index(j).Child("port"), port.Port)...)
			}
		}
	case *Event:
		errs = validateMeta(&o.ObjectMeta, true, labels.IsDNS1123Subdomain)
		if o.InvolvedObject.Name == "" && o.InvolvedObject.Kind != "" {
			errs = append(errs, Required("involvedObject.name", ""))
		}
	case *ConfigMap:
		oo, _ := old.(*ConfigMap)
		errs = validateConfigMap(o, oo)
	case *Secret:
		oo, _ := old.(*Secret)
		errs = validateSecret(o, oo)
	case *Lease:
		errs = validateMeta(&o.ObjectMeta, true, labels.IsDNS1123Subdomain)
		if d := o.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
			errs = append(errs, InvalidValue("spec.leaseDurationSeconds", *d, "must be greater than 0"))
		}
	case *Deployment:
		errs = validateMeta(&o.ObjectMeta, true, labels.IsDNS1123Subdomain)
		errs = append(errs, validateDeployment(o)...)
		if oo, ok := old.(*Deployment); ok {
			errs = append(errs, validateSelectorImmutable(o.Spec.Selector, oo.Spec.Selector)...)
		}
	case *ReplicaSet:
		errs = validateMeta(&o.ObjectMeta, true, labels.IsDNS1123Subdomain)
		errs = append(errs, validateReplicas("spec.replicas", o.Spec.Replicas)...)
		errs = append(errs, validateTemplate(o.Spec.Selector, &o.Spec.Template, Path("spec"))...)
		if oo, ok := old.(*ReplicaSet); ok {
			errs = append(errs, validateSelectorImmutable(o.Spec.Selector, oo.Spec.Selector)...)
		}
	case *DaemonSet:
		oo, _ := old.(*DaemonSet)
		errs = validateDaemonSet(o, oo)
	case *PodDisruptionBudget:
		errs = validatePodDisruptionBudget(o)
	case *Scale:
		if o.Spec.Replicas < 0 {
			errs = append(errs, InvalidValue("spec.replicas", o.Spec.Replicas, "must be greater than or equal to 0"))
		}
	}
	return errs
}

func validateMeta(m *ObjectMeta, namespaced bool, nameRule func(string) []string) FieldErrors {
	var errs FieldErrors
	p := Path("metadata")
	switch {
	case m.Name == "" && m.GenerateName == "":
		errs = append(errs, Required(p.Child("name"), "name or generateName is required"))
	case m.Name != "":
		for _, msg := range nameRule(m.Name) {
			errs = append(errs, InvalidValue(p.Child("name"), m.Name, msg))
		}
	default:
		// generateName gets a suffix of 5 characters; validate a representative result.
		for _, msg := range nameRule(strings.TrimSuffix(m.GenerateName, "-") + "-x") {
			errs = append(errs, InvalidValue(p.Child("generateName"), m.GenerateName, msg))
		}
	}
	if namespaced {
		if m.Namespace != "" {
			for _, msg := range labels.IsDNS1123Label(m.Namespace) {
				errs = append(errs, InvalidValue(p.Child("namespace"), m.Namespace, msg))
			}
		}
	} else if m.Namespace != "" {
		errs = append(errs, Forbidden(p.Child("namespace"), "not allowed on this type"))
	}
	errs = append(errs, ValidateLabels(m.Labels, p.Child("labels"))...)
	size := 0
	for k, v := range m.Annotations {
		for _, msg := range labels.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, InvalidValue(p.Child("annotations"), k, msg))
		}
		size += len(k) + len(v)
	}
	if size > MaxAnnotationsBytes {
		errs = append(errs, &FieldError{Type: FieldValueTooLong, Field: string(p.Child("annotations")),
			Detail: fmt.Sprintf("may not be more than %d bytes", MaxAnnotationsBytes)})
	}
	for i, r := range m.OwnerReferences {
		rp := p.Child("ownerReferences").Index(i)
		if r.APIVersion == "" {
			errs = append(errs, Required(rp.Child("apiVersion"), ""))
		}
		if r.Kind == "" {
			errs = append(errs, Required(rp.Child("kind"), ""))
		}
		if r.Name == "" {
			errs = append(errs, Required(rp.Child("name"), ""))
		}
		if r.UID == "" {
			errs = append(errs, Required(rp.Child("uid"), ""))
		}
	}
	controllers := 0
	for _, r := range m.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			controllers++
		}
	}
	if controllers > 1 {
		errs = append(errs, InvalidValue(p.Child("ownerReferences"), controllers, "Only one reference can have Controller set to true"))
	}
	for i, f := range m.Finalizers {
		for _, msg := range labels.IsQualifiedName(f) {
			errs = append(errs, InvalidValue(p.Child("finalizers").Index(i), f, msg))
		}
	}
	return errs
}

// ValidateLabels checks label keys and values as Kubernetes does.
func ValidateLabels(l map[string]string, p Path) FieldErrors {
	var errs FieldErrors
	for k, v := range l {
		for _, msg := range labels.IsQualifiedName(k) {
			errs = append(errs, InvalidValue(p, k, msg))
		}
		for _, msg := range labels.IsValidLabelValue(v) {
			errs = append(errs, InvalidValue(p.Key(k), v, msg))
		}
	}
	return errs
}

func validateReplicas(p Path, r *int32) FieldErrors {
	if r != nil && *r < 0 {
		return FieldErrors{InvalidValue(p, *r, "must be greater than or equal to 0")}
	}
	return nil
}

// SelectorOf converts a LabelSelector to a labels.Selector. A nil selector selects nothing,
// an empty one everything, as in Kubernetes.
func SelectorOf(s *LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Nothing(), nil
	}
	exprs := make([]labels.MatchExpression, len(s.MatchExpressions))
	for i, e := range s.MatchExpressions {
		exprs[i] = labels.MatchExpression{Key: e.Key, Operator: e.Operator, Values: e.Values}
	}
	return labels.FromMatch(s.MatchLabels, exprs)
}

func validateTemplate(sel *LabelSelector, t *PodTemplateSpec, p Path) FieldErrors {
	var errs FieldErrors
	sp := p.Child("selector")
	switch {
	case sel == nil:
		errs = append(errs, Required(sp, ""))
	case len(sel.MatchLabels)+len(sel.MatchExpressions) == 0:
		errs = append(errs, InvalidValue(sp, "{}", "empty selector is invalid for deployment"))
	default:
		errs = append(errs, ValidateLabels(sel.MatchLabels, sp.Child("matchLabels"))...)
		for i, e := range sel.MatchExpressions {
			ep := sp.Child("matchExpressions").Index(i)
			switch e.Operator {
			case "In", "NotIn":
				if len(e.Values) == 0 {
					errs = append(errs, Required(ep.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
				}
			case "Exists", "DoesNotExist":
				if len(e.Values) > 0 {
					errs = append(errs, Forbidden(ep.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
				}
			default:
				errs = append(errs, NotSupported(ep.Child("operator"), e.Operator, []string{"In", "NotIn", "Exists", "DoesNotExist"}))
			}
		}
		if len(errs) == 0 {
			s, err := SelectorOf(sel)
			if err != nil {
				errs = append(errs, InvalidValue(sp, "", err.Error()))
			} else if !s.Matches(labels.Set(t.Labels)) {
				errs = append(errs, InvalidValue(p.childs("template", "metadata", "labels"), labels.Set(t.Labels).String(),
					"`selector` does not match template `labels`"))
			}
		}
	}
	tp := p.Child("template")
	errs = append(errs, ValidateLabels(t.Labels, tp.childs("metadata", "labels"))...)
	errs = append(errs, validatePodSpec(&t.Spec, tp.Child("spec"))...)
	if t.Spec.RestartPolicy != "" && t.Spec.RestartPolicy != RestartAlways {
		errs = append(errs, NotSupported(tp.childs("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{RestartAlways}))
	}
	return errs
}

func validateSelectorImmutable(now, was *LabelSelector) FieldErrors {
	a, _ := SelectorOf(now)
	b, _ := SelectorOf(was)
	if a.String() != b.String() {
		return FieldErrors{InvalidValue("spec.selector", a.String(), "field is immutable")}
	}
	return nil
}

func validateDeployment(d *Deployment) FieldErrors {
	var errs FieldErrors
	p := Path("spec")
	errs = append(errs, validateReplicas(p.Child("replicas"), d.Spec.Replicas)...)
	errs = append(errs, validateTemplate(d.Spec.Selector, &d.Spec.Template, p)...)
	s := d.Spec.Strategy
	sp := p.Child("strategy")
	switch s.Type {
	case RollingUpdateStrategy, "":
		if ru := s.RollingUpdate; ru != nil {
			surge, e1 := checkIntOrPercent(sp.childs("rollingUpdate", "maxSurge"), ru.MaxSurge)
			unavail, e2 := checkIntOrPercent(sp.childs("rollingUpdate", "maxUnavailable"), ru.MaxUnavailable)
			errs = append(append(errs, e1...), e2...)
			if len(e1)+len(e2) == 0 && surge == 0 && unavail == 0 && ru.MaxSurge != nil && ru.MaxUnavailable != nil {
				errs = append(errs, InvalidValue(sp.childs("rollingUpdate", "maxUnavailable"), ru.MaxUnavailable.String(),
					"may not be 0 when `maxSurge` is 0"))
			}
			if u := ru.MaxUnavailable; u != nil && u.IsString {
				if v, err := u.ScaledValue(100, false); err == nil && v > 100 {
					errs = append(errs, InvalidValue(sp.childs("rollingUpdate", "maxUnavailable"), u.StrVal, "must not be greater than 100%"))
				}
			}
		}
	case RecreateStrategy:
		if s.RollingUpdate != nil {
			errs = append(errs, Forbidden(sp.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	default:
		errs = append(errs, NotSupported(sp.Child("type"), s.Type, []string{RecreateStrategy, RollingUpdateStrategy}))
	}
	if d.Spec.MinReadySeconds < 0 {
		errs = append(errs, InvalidValue(p.Child("minReadySeconds"), d.Spec.MinReadySeconds, "must be greater than or equal to 0"))
	}
	if r := d.Spec.RevisionHistoryLimit; r != nil && *r < 0 {
		errs = append(errs, InvalidValue(p.Child("revisionHistoryLimit"), *r, "must be greater than or equal to 0"))
	}
	if pd := d.Spec.ProgressDeadlineSeconds; pd != nil && *pd <= d.Spec.MinReadySeconds {
		errs = append(errs, InvalidValue(p.Child("progressDeadlineSeconds"), *pd, "must be greater than minReadySeconds"))
	}
	return errs
}

func checkIntOrPercent(p Path, v *IntOrString) (int, FieldErrors) {
	if v == nil {
		return 0, nil
	}
	n, err := v.ScaledValue(100, true)
	if err != nil {
		return 0, FieldErrors{InvalidValue(p, v.String(), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")}
	}
	if n < 0 {
		return 0, FieldErrors{InvalidValue(p, v.String(), "must be greater than or equal to 0")}
	}
	return n, nil
}

// childs extends p by several names at once.
func (p Path) childs(names ...string) Path {
	for _, n := range names {
		p = p.Child(n)
	}
	return p
}

func validatePort(p Path, port int32) FieldErrors {
	if port < 1 || port > 65535 {
		return FieldErrors{InvalidValue(p, port, "must be between 1 and 65535, inclusive")}
	}
	return nil
}

var protocols = []string{"TCP", "UDP", "SCTP"}

var preemptionPolicies = []string{PreemptLowerPriority, PreemptNever}

func validatePodSpec(s *PodSpec, p Path) FieldErrors {
	var errs FieldErrors
	volumes := map[string]bool{}
	for i, v := range s.Volumes {
		vp := p.Child("volumes").Index(i)
		for _, msg := range labels.IsDNS1123Label(v.Name) {
			errs = append(errs, InvalidValue(vp.Child("name"), v.Name, msg))
		}
		if volumes[v.Name] {
			errs = append(errs, Duplicate(vp.Child("name"), v.Name))
		}
		volumes[v.Name] = true
		errs = append(errs, validateVolumeSource(&s.Volumes[i], vp)...)
	}
	if len(s.Containers) == 0 {
		errs = append(errs, Required(p.Child("containers"), ""))
	}
	if pp := s.PreemptionPolicy; pp != nil && !hasString(preemptionPolicies, *pp) {
		errs = append(errs, NotSupported(p.Child("preemptionPolicy"), *pp, preemptionPolicies))
	}
	names := map[string]bool{}
	ports := map[int32]bool{}
	for i := range s.Containers {
		c := &s.Containers[i]
		cp := p.Child("containers").Index(i)
		if c.Name == "" {
			errs = append(errs, Required(cp.Child("name"), ""))
		} else {
			for _, msg := range labels.IsDNS1123Label(c.Name) {
				errs = append(errs, InvalidValue(cp.Child("name"), c.Name, msg))
			}
		}
		if names[c.Name] {
			errs = append(errs, Duplicate(cp.Child("name"), c.Name))
		}
		names[c.Name] = true
		if strings.TrimSpace(c.Image) == "" {
			errs = append(errs, Required(cp.Child("image"), "a Wasm module reference: name:tag, name@sha256:..., file:///path or https://... pinned by digest"))
		}
		portNames := map[string]bool{}
		for j, port := range c.Ports {
			pp := cp.Child("ports").Index(j)
			errs = append(errs, validatePort(pp.Child("containerPort"), port.ContainerPort)...)
			if ports[port.ContainerPort] {
				errs = append(errs, Duplicate(pp.Child("containerPort"), port.ContainerPort))
			}
			ports[port.ContainerPort] = true
			if port.Name != "" {
				for _, msg := range labels.IsValidPortName(port.Name) {
					errs = append(errs, InvalidValue(pp.Child("name"), port.Name, msg))
				}
				if portNames[port.Name] {
					errs = append(errs, Duplicate(pp.Child("name"), port.Name))
				}
				portNames[port.Name] = true
			}
			if port.Protocol != "" && !hasString(protocols, port.Protocol) {
				errs = append(errs, NotSupported(pp.Child("protocol"), port.Protocol, protocols))
			}
		}
		for j, e := range c.Env {
			ep := cp.Child("env").Index(j)
			for _, msg := range labels.IsEnvVarName(e.Name) {
				errs = append(errs, InvalidValue(ep.Child("name"), e.Name, msg))
			}
			if e.ValueFrom != nil {
				errs = append(errs, validateEnvVarSource(e, ep)...)
			}
		}
		if len(c.EnvFrom) > 0 {
			errs = append(errs, validateEnvFrom(c.EnvFrom, cp.Child("envFrom"))...)
		}
		rp := cp.Child("resources")
		for _, kind := range []struct {
			name string
			l    ResourceList
		}{{"limits", c.Resources.Limits}, {"requests", c.Resources.Requests}} {
			for r, q := range kind.l {
				if r != ResourceCPU && r != ResourceMemory {
					errs = append(errs, NotSupported(rp.Child(kind.name).Key(r), r, []string{ResourceCPU, ResourceMemory}))
				}
				if q.MilliValue() < 0 {
					errs = append(errs, InvalidValue(rp.Child(kind.name).Key(r), q.String(), "must be greater than or equal to 0"))
				}
			}
		}
		for r, req := range c.Resources.Requests {
			if lim, ok := c.Resources.Limits[r]; ok && req.MilliValue() > lim.MilliValue() {
				errs = append(errs, InvalidValue(rp.Child("requests").Key(r), req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", r, lim)))
			}
		}
		mounts := map[string]bool{}
		for j, m := range c.VolumeMounts {
			mp := cp.Child("volumeMounts").Index(j)
			if !volumes[m.Name] {
				errs = append(errs, NotSupported(mp.Child("name"), m.Name, keys(volumes)))
			}
			if !strings.HasPrefix(m.MountPath, "/") {
				errs = append(errs, InvalidValue(mp.Child("mountPath"), m.MountPath, "must be an absolute path"))
			}
			if mounts[m.MountPath] {
				errs = append(errs, InvalidValue(mp.Child("mountPath"), m.MountPath, "must be unique"))
			}
			mounts[m.MountPath] = true
		}
		for _, pr := range []struct {
			name string
			p    *Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
			if pr.p == nil {
				continue
			}
			pp := cp.Child(pr.name)
			if pr.p.HTTPGet == nil {
				errs = append(errs, Required(pp.Child("httpGet"), "wasmkube probes modules with httpGet"))
				continue
			}
			port := pr.p.HTTPGet.Port
			if port.IsString {
				if !portNames[port.StrVal] {
					errs = append(errs, InvalidValue(pp.childs("httpGet", "port"), port.StrVal, "must name a port of this container"))
				}
			} else {
				errs = append(errs, validatePort(pp.childs("httpGet", "port"), port.IntVal)...)
			}
			if sc := pr.p.HTTPGet.Scheme; sc != "" && sc != "HTTP" {
				errs = append(errs, NotSupported(pp.childs("httpGet", "scheme"), sc, []string{"HTTP"}))
			}
			for _, f := range []struct {
				n string
				v int32
			}{{"initialDelaySeconds", pr.p.InitialDelaySeconds}, {"timeoutSeconds", pr.p.TimeoutSeconds},
				{"periodSeconds", pr.p.PeriodSeconds}, {"successThreshold", pr.p.SuccessThreshold}, {"failureThreshold", pr.p.FailureThreshold}} {
				if f.v < 0 {
					errs = append(errs, InvalidValue(pp.Child(f.n), f.v, "must be greater than or equal to 0"))
				}
			}
			if pr.name != "readinessProbe" && pr.p.SuccessThreshold > 1 {
				errs = append(errs, InvalidValue(pp.Child("successThreshold"), pr.p.SuccessThreshold, "must be 1"))
			}
		}
		if pol := c.ImagePullPolicy; pol != "" && !hasString([]string{"Always", "IfNotPresent", "Never"}, pol) {
			errs = append(errs, NotSupported(cp.Child("imagePullPolicy"), pol, []string{"Always", "IfNotPresent", "Never"}))
		}
	}
	if rp := s.RestartPolicy; rp != "" && !hasString([]string{RestartAlways, RestartOnFailure, RestartNever}, rp) {
		errs = append(errs, NotSupported(p.Child("restartPolicy"), rp, []string{RestartAlways, RestartOnFailure, RestartNever}))
	}
	if d := s.DNSPolicy; d != "" && d != DNSClusterFirst {
		errs = append(errs, NotSupported(p.Child("dnsPolicy"), d, []string{DNSClusterFirst}))
	}
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		errs = append(errs, InvalidValue(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than or equal to 0"))
	}
	if a := s.ActiveDeadlineSeconds; a != nil && *a <= 0 {
		errs = append(errs, InvalidValue(p.Child("activeDeadlineSeconds"), *a, "must be between 1 and 2147483647, inclusive"))
	}
	errs = append(errs, ValidateLabels(s.NodeSelector, p.Child("nodeSelector"))...)
	if s.NodeName != "" {
		for _, msg := range labels.IsDNS1123Subdomain(s.NodeName) {
			errs = append(errs, InvalidValue(p.Child("nodeName"), s.NodeName, msg))
		}
	}
	if s.Hostname != "" {
		for _, msg := range labels.IsDNS1123Label(s.Hostname) {
			errs = append(errs, InvalidValue(p.Child("hostname"), s.Hostname, msg))
		}
	}
	errs = append(errs, validatePodScheduling(s, p)...)
	return errs
}

var downwardFields = []string{"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "status.podIP", "status.hostIP"}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// validatePodUpdate enforces Kubernetes' rule that a pod's spec is immutable except for
// container images, activeDeadlineSeconds and tolerations, which may only be added to
// (an existing toleration may change only its tolerationSeconds); nodeName is set through
// binding only.
func validatePodUpdate(now, was *Pod) FieldErrors {
	a, b := now.Spec, was.Spec
	errs := validateOnlyAddedTolerations(a.Tolerations, b.Tolerations, Path("spec").Child("tolerations"))
	a.Tolerations = b.Tolerations
	if len(a.Containers) == len(b.Containers) {
		a.Containers = append([]Container(nil), a.Containers...)
		for i := range a.Containers {
			a.Containers[i].Image = b.Containers[i].Image
		}
	}
	a.ActiveDeadlineSeconds = b.ActiveDeadlineSeconds
	if b.NodeName == "" {
		a.NodeName = ""
	}
	ja, _ := jsonMarshal(a)
	jb, _ := jsonMarshal(b)
	if string(ja) != string(jb) {
		errs = append(errs, Forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)"))
	}
	return errs
}

// validateOnlyAddedTolerations requires every old toleration to be among now's, allowing
// only its tolerationSeconds to differ, as Kubernetes does (the taint eviction controller
// then goes by the new tolerations).
func validateOnlyAddedTolerations(now, was []Toleration, p Path) FieldErrors {
	for _, old := range was {
		found := false
		for _, t := range now {
			o := old
			o.TolerationSeconds = t.TolerationSeconds
			if o == t {
				found = true
				break
			}
		}
		if !found {
			return FieldErrors{Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateService(s *Service) FieldErrors {
	var errs FieldErrors
	p := Path("spec")
	types := []string{ServiceClusterIP, ServiceNodePort, ServiceLoadBalancer}
	if s.Spec.Type != "" && !hasString(types, s.Spec.Type) {
		errs = append(errs, NotSupported(p.Child("type"), s.Spec.Type, types))
	}
	if len(s.Spec.Ports) == 0 && s.Spec.ClusterIP != "None" {
		errs = append(errs, Required(p.Child("ports"), ""))
	}
	names := map[string]bool{}
	seen := map[string]bool{}
	for i, port := range s.Spec.Ports {
		pp := p.Child("ports").Index(i)
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			errs = append(errs, Required(pp.Child("name"), ""))
		}
		if port.Name != "" {
			for _, msg := range labels.IsDNS1123Label(port.Name) {
				errs = append(errs, InvalidValue(pp.Child("name"), port.Name, msg))
			}
			if names[port.Name] {
				errs = append(errs, Duplicate(pp.Child("name"), port.Name))
			}
			names[port.Name] = true
		}
		errs = append(errs, validatePort(pp.Child("port"), port.Port)...)
		if port.Protocol != "" && !hasString(protocols, port.Protocol) {
			errs = append(errs, NotSupported(pp.Child("protocol"), port.Protocol, protocols))
		}
		key := fmt.Sprintf("%d/%s", port.Port, port.Protocol)
		if seen[key] {
			errs = append(errs, Duplicate(pp, key))
		}
		seen[key] = true
		if port.TargetPort.IsString {
			for _, msg := range labels.IsValidPortName(port.TargetPort.StrVal) {
				errs = append(errs, InvalidValue(pp.Child("targetPort"), port.TargetPort.StrVal, msg))
			}
		} else if port.TargetPort.IntVal != 0 {
			errs = append(errs, validatePort(pp.Child("targetPort"), port.TargetPort.IntVal)...)
		}
		if port.NodePort != 0 && s.Spec.Type == ServiceClusterIP {
			errs = append(errs, Forbidden(pp.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
		}
	}
	errs = append(errs, ValidateLabels(s.Spec.Selector, p.Child("selector"))...)
	for i, ip := range s.Spec.ExternalIPs {
		if net.ParseIP(ip) == nil {
			errs = append(errs, InvalidValue(p.Child("externalIPs").Index(i), ip, "must be a valid IP address"))
		}
	}
	return errs
}
