package main

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// pod is kubectl describe pod: identity, status, modules, conditions, volumes and events.
func (d *describer) pod(pod *api.Pod, evs []api.Event) string {
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", pod.Name)
	p.write(0, "Namespace:\t%s\n", pod.Namespace)
	if pod.Spec.NodeName == "" {
		p.write(0, "Node:\t<none>\n")
	} else {
		p.write(0, "Node:\t%s\n", pod.Spec.NodeName+"/"+pod.Status.HostIP)
	}
	if pod.Status.StartTime != nil {
		p.write(0, "Start Time:\t%s\n", rfc1123z(pod.Status.StartTime.Time))
	}
	p.labelsMultiline("Labels", pod.Labels)
	p.annotationsMultiline("Annotations", pod.Annotations)
	if pod.DeletionTimestamp != nil {
		p.write(0, "Status:\tTerminating (lasts %s)\n", d.since(pod.DeletionTimestamp.Time))
		if pod.DeletionGracePeriodSeconds != nil {
			p.write(0, "Termination Grace Period:\t%ds\n", *pod.DeletionGracePeriodSeconds)
		}
	} else {
		p.write(0, "Status:\t%s\n", pod.Status.Phase)
	}
	if pod.Status.Reason != "" {
		p.write(0, "Reason:\t%s\n", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		p.write(0, "Message:\t%s\n", pod.Status.Message)
	}
	p.write(0, "IP:\t%s\n", pod.Status.PodIP)
	if len(pod.Status.PodIPs) == 0 {
		p.write(0, "IPs:\t<none>\n")
	} else {
		p.write(0, "IPs:\n")
		for _, ip := range pod.Status.PodIPs {
			p.write(0, "  IP:\t%s\n", ip.IP)
		}
	}
	if c := controlledBy(&pod.ObjectMeta); c != "" {
		p.write(0, "Controlled By:\t%s\n", c)
	}
	if pod.Status.NominatedNodeName != "" {
		p.write(0, "NominatedNodeName:\t%s\n", pod.Status.NominatedNodeName)
	}
	d.containers(p, "Containers", pod.Spec.Containers, pod.Status.ContainerStatuses, pod, "")
	if len(pod.Status.Conditions) > 0 {
		p.write(0, "Conditions:\n  Type\tStatus\n")
		for _, c := range pod.Status.Conditions {
			p.write(1, "%v \t%v \n", c.Type, c.Status)
		}
	}
	volumes(p, pod.Spec.Volumes, "")
	if pod.Status.QOSClass != "" {
		p.write(0, "QoS Class:\t%s\n", pod.Status.QOSClass)
	}
	p.labelsMultiline("Node-Selectors", pod.Spec.NodeSelector)
	d.writeEvents(p, evs)
	return p.String()
}

// containers writes the Containers section of a pod or a pod template (space "  ").
func (d *describer) containers(p *prefixWriter, label string, cs []api.Container, statuses []api.ContainerStatus, pod *api.Pod, space string) {
	byName := map[string]api.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	if len(cs) == 0 {
		p.write(0, "%s%s: <none>\n", space, label)
	} else {
		p.write(0, "%s%s:\n", space, label)
	}
	nameIndent := ""
	if space != "" {
		nameIndent = " "
	}
	for _, c := range cs {
		st, ok := byName[c.Name]
		p.write(1, "%s%v:\n", nameIndent, c.Name)
		if ok {
			p.write(2, "Container ID:\t%s\n", st.ContainerID)
		}
		p.write(2, "Image:\t%s\n", c.Image)
		if ok {
			p.write(2, "Image ID:\t%s\n", st.ImageID)
		}
		ports := make([]string, 0, len(c.Ports))
		for _, port := range c.Ports {
			proto := port.Protocol
			if proto == "" {
				proto = "TCP"
			}
			ports = append(ports, fmt.Sprintf("%d/%s", port.ContainerPort, proto))
		}
		if len(ports) > 1 {
			p.write(2, "Ports:\t%s\n", strings.Join(ports, ", "))
		} else {
			p.write(2, "Port:\t%s\n", orNone(strings.Join(ports, ", ")))
		}
		if len(c.Command) > 0 {
			p.write(2, "Command:\n")
			for _, s := range c.Command {
				for _, l := range strings.Split(s, "\n") {
					p.write(3, "%s\n", l)
				}
			}
		}
		if len(c.Args) > 0 {
			p.write(2, "Args:\n")
			for _, s := range c.Args {
				for _, l := range strings.Split(s, "\n") {
					p.write(3, "%s\n", l)
				}
			}
		}
		if ok {
			containerState(p, "State", st.State)
			if st.LastState.Terminated != nil {
				containerState(p, "Last State", st.LastState)
			}
			p.write(2, "Ready:\t%s\n", boolWord(st.Ready))
			p.write(2, "Restart Count:\t%d\n", st.RestartCount)
		}
		if len(c.Resources.Limits) > 0 {
			p.write(2, "Limits:\n")
			for _, k := range sortedKeys(c.Resources.Limits) {
				p.write(3, "%s:\t%s\n", k, c.Resources.Limits[k].String())
			}
		}
		if len(c.Resources.Requests) > 0 {
			p.write(2, "Requests:\n")
			for _, k := range sortedKeys(c.Resources.Requests) {
				p.write(3, "%s:\t%s\n", k, c.Resources.Requests[k].String())
			}
		}
		for _, pr := range []struct {
			name  string
			probe *api.Probe
		}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
			if pr.probe != nil {
				p.write(2, "%s:\t%s\n", pr.name, describeProbe(pr.probe))
			}
		}
		if len(c.EnvFrom) > 0 {
			envFrom(p, c.EnvFrom)
		}
		if len(c.Env) == 0 {
			p.write(2, "Environment:\t<none>\n")
		} else {
			p.write(2, "Environment:\n")
		}
		for _, e := range c.Env {
			if vf := e.ValueFrom; vf != nil && vf.SecretKeyRef != nil {
				r := vf.SecretKeyRef
				p.write(3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, r.Key, r.Name, api.Deref(r.Optional, false))
				continue
			}
			if vf := e.ValueFrom; vf != nil && vf.ConfigMapKeyRef != nil {
				r := vf.ConfigMapKeyRef
				p.write(3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, r.Key, r.Name, api.Deref(r.Optional, false))
				continue
			}
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil {
				for i, s := range strings.Split(e.Value, "\n") {
					if i == 0 {
						p.write(3, "%s:\t%s\n", e.Name, s)
					} else {
						p.write(3, "\t%s\n", s)
					}
				}
				continue
			}
			ref := e.ValueFrom.FieldRef
			apiVersion := ref.APIVersion
			if apiVersion == "" {
				apiVersion = "v1"
			}
			p.write(3, "%s:\t%s (%s:%s)\n", e.Name, fieldRefValue(pod, ref.FieldPath), apiVersion, ref.FieldPath)
		}
		if len(c.VolumeMounts) == 0 {
			p.write(2, "Mounts:\t<none>\n")
		} else {
			p.write(2, "Mounts:\n")
		}
		mounts := append([]api.VolumeMount(nil), c.VolumeMounts...)
		sort.SliceStable(mounts, func(i, j int) bool { return mounts[i].MountPath < mounts[j].MountPath })
		for _, m := range mounts {
			flags := []string{"rw"}
			if m.ReadOnly {
				flags[0] = "ro"
			}
			p.write(3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
		}
	}
}

// fieldRefValue resolves a downward-API field of a pod; empty for templates.
func fieldRefValue(pod *api.Pod, path string) string {
	if pod == nil {
		return ""
	}
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "metadata.uid":
		return pod.UID
	case "spec.nodeName":
		return pod.Spec.NodeName
	case "status.podIP":
		return pod.Status.PodIP
	case "status.hostIP":
		return pod.Status.HostIP
	}
	return ""
}

func containerState(p *prefixWriter, name string, s api.ContainerState) {
	switch {
	case s.Running != nil:
		p.write(2, "%s:\tRunning\n", name)
		p.write(3, "Started:\t%v\n", rfc1123z(s.Running.StartedAt.Time))
	case s.Waiting != nil:
		p.write(2, "%s:\tWaiting\n", name)
		if s.Waiting.Reason != "" {
			p.write(3, "Reason:\t%s\n", s.Waiting.Reason)
		}
	case s.Terminated != nil:
		t := s.Terminated
		p.write(2, "%s:\tTerminated\n", name)
		if t.Reason != "" {
			p.write(3, "Reason:\t%s\n", t.Reason)
		}
		if t.Message != "" {
			p.write(3, "Message:\t%s\n", t.Message)
		}
		p.write(3, "Exit Code:\t%d\n", t.ExitCode)
		if t.Signal > 0 {
			p.write(3, "Signal:\t%d\n", t.Signal)
		}
		p.write(3, "Started:\t%s\n", rfc1123z(t.StartedAt.Time))
		p.write(3, "Finished:\t%s\n", rfc1123z(t.FinishedAt.Time))
	default:
		p.write(2, "%s:\tWaiting\n", name)
	}
}

// describeProbe is kubectl's DescribeProbe for HTTP probes.
func describeProbe(pr *api.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d",
		pr.InitialDelaySeconds, pr.TimeoutSeconds, pr.PeriodSeconds, pr.SuccessThreshold, pr.FailureThreshold)
	if pr.HTTPGet == nil {
		return "unknown " + attrs
	}
	u := &url.URL{Scheme: strings.ToLower(pr.HTTPGet.Scheme), Path: pr.HTTPGet.Path}
	if port := pr.HTTPGet.Port.String(); port != "" {
		u.Host = net.JoinHostPort("", port)
	}
	return fmt.Sprintf("http-get %s %s", u.String(), attrs)
}

func volumes(p *prefixWriter, vs []api.Volume, space string) {
	if len(vs) == 0 {
		p.write(0, "%sVolumes:\t<none>\n", space)
		return
	}
	p.write(0, "%sVolumes:\n", space)
	nameIndent := ""
	if space != "" {
		nameIndent = " "
	}
	for _, v := range vs {
		p.write(1, "%s%v:\n", nameIndent, v.Name)
		switch {
		case v.EmptyDir != nil:
			limit := "<unset>"
			if v.EmptyDir.SizeLimit != nil && !v.EmptyDir.SizeLimit.IsZero() {
				limit = v.EmptyDir.SizeLimit.String()
			}
			p.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"+
				"    Medium:\t%v\n"+
				"    SizeLimit:\t%v\n", v.EmptyDir.Medium, limit)
		case v.Secret != nil:
			p.write(2, "Type:\tSecret (a volume populated by a Secret)\n"+
				"    SecretName:\t%v\n"+
				"    Optional:\t%v\n", v.Secret.SecretName, api.Deref(v.Secret.Optional, false))
		case v.ConfigMap != nil:
			p.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"+
				"    Name:\t%v\n"+
				"    Optional:\t%v\n", v.ConfigMap.Name, api.Deref(v.ConfigMap.Optional, false))
		default:
			p.write(2, "<unknown>\n")
		}
	}
}

// envFrom is kubectl's describeContainerEnvFrom.
func envFrom(p *prefixWriter, list []api.EnvFromSource) {
	p.write(2, "Environment Variables from:\n")
	for _, e := range list {
		from, name, optional := "", "", false
		switch {
		case e.ConfigMapRef != nil:
			from, name, optional = "ConfigMap", e.ConfigMapRef.Name, api.Deref(e.ConfigMapRef.Optional, false)
		case e.SecretRef != nil:
			from, name, optional = "Secret", e.SecretRef.Name, api.Deref(e.SecretRef.Optional, false)
		}
		if e.Prefix == "" {
			p.write(3, "%s\t%s\tOptional: %t\n", name, from, optional)
		} else {
			p.write(3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, from, e.Prefix, optional)
		}
	}
}

// podTemplate is kubectl's DescribePodTemplate.
func (d *describer) podTemplate(p *prefixWriter, t *api.PodTemplateSpec) {
	p.write(0, "Pod Template:\n")
	p.labelsMultiline("  Labels", t.Labels)
	if len(t.Annotations) > 0 {
		p.annotationsMultiline("  Annotations", t.Annotations)
	}
	d.containers(p, "Containers", t.Spec.Containers, nil, nil, "  ")
	volumes(p, t.Spec.Volumes, "  ")
	p.labelsMultiline("  Node-Selectors", t.Spec.NodeSelector)
}
