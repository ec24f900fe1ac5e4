package api

import "strings"

// Default fills the fields Kubernetes defaults, so stored objects are complete and
// round-trip. It is idempotent and never overwrites a value the user gave, except that a
// Secret's write-only stringData is merged into data (its keys win) and dropped, as
// Kubernetes does when it decodes a Secret.
func Default(obj Object) {
	defer defaultMore(obj)
	switch o := obj.(type) {
	case *Pod:
		// spec.preemptionPolicy is not defaulted here: as in Kubernetes, priority
		// admission sets it on create from the pod's PriorityClass, and an update keeps
		// the stored value.
		DefaultPodSpec(&o.Spec)
		if o.Status.Phase == "" {
			o.Status.Phase = PodPending
		}
		if o.Status.QOSClass == "" {
			o.Status.QOSClass = qosClass(&o.Spec)
		}
	case *Secret:
		mergeStringData(o)
		if o.Type == "" {
			o.Type = SecretTypeOpaque
		}
	case *PriorityClass:
		if o.PreemptionPolicy == nil {
			o.PreemptionPolicy = Ptr(PreemptLowerPriority)
		}
	case *Deployment:
		if o.Spec.Replicas == nil {
			o.Spec.Replicas = Ptr[int32](1)
		}
		s := &o.Spec.Strategy
		if s.Type == "" {
			s.Type = RollingUpdateStrategy
		}
		if s.Type == RollingUpdateStrategy {
			if s.RollingUpdate == nil {
				s.RollingUpdate = &RollingUpdateDeployment{}
			}
			if s.RollingUpdate.MaxSurge == nil {
				s.RollingUpdate.MaxSurge = Ptr(FromString("25%"))
			}
			if s.RollingUpdate.MaxUnavailable == nil {
				s.RollingUpdate.MaxUnavailable = Ptr(FromString("25%"))
			}
		}
		if o.Spec.RevisionHistoryLimit == nil {
			o.Spec.RevisionHistoryLimit = Ptr[int32](10)
		}
		if o.Spec.ProgressDeadlineSeconds == nil {
			o.Spec.ProgressDeadlineSeconds = Ptr[int32](600)
		}
		DefaultPodSpec(&o.Spec.Template.Spec)
	case *DaemonSet:
		defaultDaemonSet(o)
	case *ReplicaSet:
		if o.Spec.Replicas == nil {
			o.Spec.Replicas = Ptr[int32](1)
		}
		DefaultPodSpec(&o.Spec.Template.Spec)
	case *SchedulingPolicy:
		if o.Spec.Weight == 0 && o.Spec.Score != "" {
			o.Spec.Weight = 1
		}
	case *Service:
		if o.Spec.Type == "" {
			o.Spec.Type = ServiceClusterIP
		}
		for i := range o.Spec.Ports {
			p := &o.Spec.Ports[i]
			if p.Protocol == "" {
				p.Protocol = "TCP"
			}
			if p.TargetPort.IsZero() {
				p.TargetPort = FromInt(p.Port)
			}
		}
	case *Namespace:
		if o.Status.Phase == "" {
			o.Status.Phase = NamespaceActive
		}
		if o.DeletionTimestamp == nil && !hasString(o.Spec.Finalizers, FinalizerKubernetes) {
			o.Spec.Finalizers = append(o.Spec.Finalizers, FinalizerKubernetes)
		}
	case *Event:
		if o.Count == 0 {
			o.Count = 1
		}
		if o.Type == "" {
			o.Type = EventNormal
		}
	}
}

// DefaultPodSpec fills a pod spec's defaults (restart policy, grace period, ports, probes).
func DefaultPodSpec(s *PodSpec) {
	if s.RestartPolicy == "" {
		s.RestartPolicy = RestartAlways
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = Ptr[int64](30)
	}
	if s.SchedulerName == "" {
		s.SchedulerName = "default-scheduler"
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = DNSClusterFirst
	}
	defaultVolumeModes(s.Volumes)
	for i := range s.Containers {
		c := &s.Containers[i]
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = "IfNotPresent"
			if tag := imageTag(c.Image); tag == "" || tag == "latest" {
				c.ImagePullPolicy = "Always"
			}
		}
		for j := range c.Ports {
			if c.Ports[j].Protocol == "" {
				c.Ports[j].Protocol = "TCP"
			}
		}
		for _, p := range []*Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p == nil {
				continue
			}
			if p.PeriodSeconds == 0 {
				p.PeriodSeconds = 10
			}
			if p.TimeoutSeconds == 0 {
				p.TimeoutSeconds = 1
			}
			if p.SuccessThreshold == 0 {
				p.SuccessThreshold = 1
			}
			if p.FailureThreshold == 0 {
				p.FailureThreshold = 3
			}
			if p.HTTPGet != nil {
				if p.HTTPGet.Path == "" {
					p.HTTPGet.Path = "/"
				}
				if p.HTTPGet.Scheme == "" {
					p.HTTPGet.Scheme = "HTTP"
				}
			}
		}
	}
}

// imageTag returns the tag of a module reference, "" when it has none or is pinned by digest
// (a digest is as good as a fixed tag).
func imageTag(image string) string {
	if strings.Contains(image, "@") {
		return "digest"
	}
	if strings.HasPrefix(image, "file://") {
		return "file"
	}
	slash := strings.LastIndex(image, "/")
	if i := strings.LastIndex(image, ":"); i > slash {
		return image[i+1:]
	}
	return ""
}

func qosClass(s *PodSpec) string {
	anyReq, guaranteed := false, true
	for _, c := range s.Containers {
		for _, r := range []string{ResourceCPU, ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq || hasLim {
				anyReq = true
			}
			if !hasLim || (hasReq && req.MilliValue() != lim.MilliValue()) {
				guaranteed = false
			}
		}
	}
	switch {
	case !anyReq:
		return "BestEffort"
	case guaranteed:
		return "Guaranteed"
	default:
		return "Burstable"
	}
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// PodRequests sums a pod's requests per resource (cpu in millicores, memory in bytes), using
// limits where a request is absent, as the Kubernetes scheduler does.
func PodRequests(s *PodSpec) (milliCPU, memory int64) {
	for _, c := range s.Containers {
		if q, ok := c.Resources.Requests[ResourceCPU]; ok {
			milliCPU += q.MilliValue()
		} else if q, ok := c.Resources.Limits[ResourceCPU]; ok {
			milliCPU += q.MilliValue()
		}
		if q, ok := c.Resources.Requests[ResourceMemory]; ok {
			memory += q.Value()
		} else if q, ok := c.Resources.Limits[ResourceMemory]; ok {
			memory += q.Value()
		}
	}
	return milliCPU, memory
}
