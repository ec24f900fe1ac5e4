package apiserver

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// kubectl's typed clients (kubectl create deployment, create namespace, create service)
// send Kubernetes' protobuf encoding: the magic "k8s\x00" and a runtime.Unknown holding
// the object. protoToJSON turns such a body into the JSON the rest of the server decodes,
// with the field numbers of Kubernetes' generated.proto for the fields wasmkube
// implements. Protobuf cannot tell a zero value from an absent one, and Kubernetes writes
// every non-pointer field, so zero values of fields wasmkube does not implement are
// dropped; a non-zero one is reported as an unknown field (422), as in JSON. Responses are
// always JSON, which every client accepts.

const protobufType = "application/vnd.kubernetes.protobuf"

const protoMagic = "k8s\x00"

type pkind uint8

const (
	pString pkind = iota
	pInt
	pBool
	pMsg       // a message of type msg
	pInline    // a message of type msg whose fields JSON inlines into the parent
	pMapString // map<string, string>
	pMapQty    // map<string, Quantity>
	pMapBytes  // map<string, bytes>: base64 values in JSON
	pQty       // resource.Quantity: its string
	pIntStr    // intstr.IntOrString
	pTime      // metav1.Time
	pBytes     // bytes: base64 in JSON
	pRawJSON   // a message whose field 1 holds JSON text (metav1.FieldsV1)
)

type pfield struct {
	name     string
	kind     pkind
	msg      string
	repeated bool
	// ptr marks an int that Kubernetes' Go type holds by pointer: protobuf sends it when
	// set, so a zero is a value (a file mode of 0), not an absent field.
	ptr bool
}

// protoSchema maps message names to their fields by number.
func protoSchema() map[string]map[int]pfield {
	str := func(n string) pfield { return pfield{name: n, kind: pString} }
	strs := func(n string) pfield { return pfield{name: n, kind: pString, repeated: true} }
	num := func(n string) pfield { return pfield{name: n, kind: pInt} }
	mode := func(n string) pfield { return pfield{name: n, kind: pInt, ptr: true} }
	boolean := func(n string) pfield { return pfield{name: n, kind: pBool} }
	msg := func(n, m string) pfield { return pfield{name: n, kind: pMsg, msg: m} }
	msgs := func(n, m string) pfield { return pfield{name: n, kind: pMsg, msg: m, repeated: true} }
	localRef := pfield{name: "localObjectReference", kind: pInline, msg: "LocalObjectReference"}
	return map[string]map[int]pfield{
		"TypeMeta": {1: str("apiVersion"), 2: str("kind")},
		"ObjectMeta": {1: str("name"), 2: str("generateName"), 3: str("namespace"), 4: str("selfLink"),
			5: str("uid"), 6: str("resourceVersion"), 7: num("generation"), 8: {name: "creationTimestamp", kind: pTime},
			9: {name: "deletionTimestamp", kind: pTime}, 10: num("deletionGracePeriodSeconds"),
			11: {name: "labels", kind: pMapString}, 12: {name: "annotations", kind: pMapString},
			13: msgs("ownerReferences", "OwnerReference"), 14: strs("finalizers"), 17: msgs("managedFields", "ManagedFieldsEntry")},
		"ManagedFieldsEntry": {1: str("manager"), 2: str("operation"), 3: str("apiVersion"), 4: {name: "time", kind: pTime},
			6: str("fieldsType"), 7: {name: "fieldsV1", kind: pRawJSON}, 8: str("subresource")},
		"OwnerReference": {1: str("kind"), 3: str("name"), 4: str("uid"), 5: str("apiVersion"),
			6: boolean("controller"), 7: boolean("blockOwnerDeletion")},
		"LabelSelector":            {1: {name: "matchLabels", kind: pMapString}, 2: msgs("matchExpressions", "LabelSelectorRequirement")},
		"LabelSelectorRequirement": {1: str("key"), 2: str("operator"), 3: strs("values")},

		"Namespace":       {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "NamespaceSpec"), 3: msg("status", "NamespaceStatus")},
		"NamespaceSpec":   {1: strs("finalizers")},
		"NamespaceStatus": {1: str("phase")},

		"Pod":             {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "PodSpec"), 3: msg("status", "PodStatus")},
		"PodStatus":       {1: str("phase")},
		"PodTemplateSpec": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "PodSpec")},
		"PodSpec": {1: msgs("volumes", "Volume"), 2: msgs("containers", "Container"), 3: str("restartPolicy"),
			4: num("terminationGracePeriodSeconds"), 5: num("activeDeadlineSeconds"), 6: str("dnsPolicy"),
			7: {name: "nodeSelector", kind: pMapString}, 10: str("nodeName"), 16: str("hostname"), 19: str("schedulerName")},
		"Container": {1: str("name"), 2: str("image"), 3: strs("command"), 4: strs("args"), 5: str("workingDir"),
			6: msgs("ports", "ContainerPort"), 7: msgs("env", "EnvVar"), 8: msg("resources", "ResourceRequirements"),
			9: msgs("volumeMounts", "VolumeMount"), 10: msg("livenessProbe", "Probe"), 11: msg("readinessProbe", "Probe"),
			14: str("imagePullPolicy"), 19: msgs("envFrom", "EnvFromSource"), 22: msg("startupProbe", "Probe")},
		"ContainerPort": {1: str("name"), 3: num("containerPort"), 4: str("protocol")},
		"EnvVar":        {1: str("name"), 2: str("value"), 3: msg("valueFrom", "EnvVarSource")},
		"EnvVarSource": {1: msg("fieldRef", "ObjectFieldSelector"), 3: msg("configMapKeyRef", "ConfigMapKeySelector"),
			4: msg("secretKeyRef", "SecretKeySelector")},
		"LocalObjectReference": {1: str("name")},
		"ConfigMapKeySelector": {1: localRef, 2: str("key"), 3: boolean("optional")},
		"SecretKeySelector":    {1: localRef, 2: str("key"), 3: boolean("optional")},
		"EnvFromSource":        {1: str("prefix"), 2: msg("configMapRef", "ConfigMapEnvSource"), 3: msg("secretRef", "SecretEnvSource")},
		"ConfigMapEnvSource":   {1: localRef, 2: boolean("optional")},
		"SecretEnvSource":      {1: localRef, 2: boolean("optional")},
		"ObjectFieldSelector":  {1: str("apiVersion"), 2: str("fieldPath")},
		"ResourceRequirements": {1: {name: "limits", kind: pMapQty}, 2: {name: "requests", kind: pMapQty}},
		"VolumeMount":          {1: str("name"), 2: boolean("readOnly"), 3: str("mountPath")},
		"Volume":               {1: str("name"), 2: {name: "volumeSource", kind: pInline, msg: "VolumeSource"}},
		"VolumeSource": {2: msg("emptyDir", "EmptyDirVolumeSource"), 6: msg("secret", "SecretVolumeSource"),
			19: msg("configMap", "ConfigMapVolumeSource")},
		"SecretVolumeSource": {1: str("secretName"), 2: msgs("items", "KeyToPath"), 3: mode("defaultMode"), 4: boolean("optional")},
		"ConfigMapVolumeSource": {1: localRef, 2: msgs("items", "KeyToPath"), 3: mode("defaultMode"),
			4: boolean("optional")},
		"KeyToPath":            {1: str("key"), 2: str("path"), 3: mode("mode")},
		"EmptyDirVolumeSource": {1: str("medium"), 2: {name: "sizeLimit", kind: pQty}},
		"Probe": {1: {name: "handler", kind: pInline, msg: "ProbeHandler"}, 2: num("initialDelaySeconds"),
			3: num("timeoutSeconds"), 4: num("periodSeconds"), 5: num("successThreshold"), 6: num("failureThreshold")},
		"ProbeHandler":  {2: msg("httpGet", "HTTPGetAction")},
		"HTTPGetAction": {1: str("path"), 2: {name: "port", kind: pIntStr}, 4: str("scheme"), 5: msgs("httpHeaders", "HTTPHeader")},
		"HTTPHeader":    {1: str("name"), 2: str("value")},

		"Service": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "ServiceSpec"), 3: msg("status", "ServiceStatus")},
		"ServiceSpec": {1: msgs("ports", "ServicePort"), 2: {name: "selector", kind: pMapString}, 3: str("clusterIP"),
			4: str("type"), 5: strs("externalIPs"), 18: strs("clusterIPs")},
		"ServicePort":   {1: str("name"), 2: str("protocol"), 3: num("port"), 4: {name: "targetPort", kind: pIntStr}, 5: num("nodePort")},
		"ServiceStatus": {},

		"Deployment": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "DeploymentSpec"), 3: msg("status", "DeploymentStatus")},
		"DeploymentSpec": {1: num("replicas"), 2: msg("selector", "LabelSelector"), 3: msg("template", "PodTemplateSpec"),
			4: msg("strategy", "DeploymentStrategy"), 5: num("minReadySeconds"), 6: num("revisionHistoryLimit"),
			7: boolean("paused"), 9: num("progressDeadlineSeconds")},
		"DeploymentStrategy":      {1: str("type"), 2: msg("rollingUpdate", "RollingUpdateDeployment")},
		"RollingUpdateDeployment": {1: {name: "maxUnavailable", kind: pIntStr}, 2: {name: "maxSurge", kind: pIntStr}},
		"DeploymentStatus":        {},
		"ReplicaSet":              {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "ReplicaSetSpec"), 3: msg("status", "ReplicaSetStatus")},
		"ReplicaSetSpec": {1: num("replicas"), 2: msg("selector", "LabelSelector"), 3: msg("template", "PodTemplateSpec"),
			4: num("minReadySeconds")},
		"ReplicaSetStatus": {},
		"DaemonSet":        {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "DaemonSetSpec"), 3: msg("status", "DaemonSetStatus")},
		"DaemonSetSpec": {1: msg("selector", "LabelSelector"), 2: msg("template", "PodTemplateSpec"),
			3: msg("updateStrategy", "DaemonSetUpdateStrategy"), 4: num("minReadySeconds"), 6: num("revisionHistoryLimit")},
		"DaemonSetUpdateStrategy": {1: str("type"), 2: msg("rollingUpdate", "RollingUpdateDaemonSet")},
		"RollingUpdateDaemonSet":  {1: {name: "maxUnavailable", kind: pIntStr}, 2: {name: "maxSurge", kind: pIntStr}},
		"DaemonSetStatus":         {},

		"Job": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "JobSpec"), 3: msg("status", "JobStatus")},
		"JobSpec": {1: num("parallelism"), 2: num("completions"), 3: num("activeDeadlineSeconds"),
			4: msg("selector", "LabelSelector"), 5: boolean("manualSelector"), 6: msg("template", "PodTemplateSpec"),
			7: num("backoffLimit"), 8: num("ttlSecondsAfterFinished"), 10: boolean("suspend")},
		"JobStatus": {},
		"CronJob":   {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "CronJobSpec"), 3: msg("status", "CronJobStatus")},
		"CronJobSpec": {1: str("schedule"), 2: {name: "startingDeadlineSeconds", kind: pInt, ptr: true}, 3: str("concurrencyPolicy"),
			4: boolean("suspend"), 5: msg("jobTemplate", "JobTemplateSpec"), 6: num("successfulJobsHistoryLimit"),
			7: num("failedJobsHistoryLimit"), 8: str("timeZone")},
		"JobTemplateSpec": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "JobSpec")},
		"CronJobStatus":   {},

		"CertificateSigningRequest": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "CertificateSigningRequestSpec"),
			3: msg("status", "CertificateSigningRequestStatus")},
		"CertificateSigningRequestSpec": {1: {name: "request", kind: pBytes}, 2: str("username"), 3: str("uid"),
			4: strs("groups"), 5: strs("usages"), 7: str("signerName"), 8: num("expirationSeconds")},
		"CertificateSigningRequestStatus": {1: msgs("conditions", "CertificateSigningRequestCondition"),
			2: {name: "certificate", kind: pBytes}},
		"CertificateSigningRequestCondition": {1: str("type"), 2: str("reason"), 3: str("message"),
			4: {name: "lastUpdateTime", kind: pTime}, 5: {name: "lastTransitionTime", kind: pTime}, 6: str("status")},

		"PriorityClass": {1: msg("metadata", "ObjectMeta"), 2: num("value"), 3: boolean("globalDefault"),
			4: str("description"), 5: str("preemptionPolicy")},

		"ConfigMap": {1: msg("metadata", "ObjectMeta"), 2: {name: "data", kind: pMapString},
			3: {name: "binaryData", kind: pMapBytes}, 4: boolean("immutable")},
		"Secret": {1: msg("metadata", "ObjectMeta"), 2: {name: "data", kind: pMapBytes}, 3: str("type"),
			4: {name: "stringData", kind: pMapString}, 5: boolean("immutable")},

		"SelfSubjectAccessReview": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "SelfSubjectAccessReviewSpec"),
			3: msg("status", "SubjectAccessReviewStatus")},
		"SelfSubjectAccessReviewSpec": {1: msg("resourceAttributes", "ResourceAttributes"),
			2: msg("nonResourceAttributes", "NonResourceAttributes")},
		"ResourceAttributes": {1: str("namespace"), 2: str("verb"), 3: str("group"), 4: str("version"), 5: str("resource"),
			6: str("subresource"), 7: str("name"), 8: msg("fieldSelector", "SelectorAttributes"), 9: msg("labelSelector", "SelectorAttributes")},
		"SelectorAttributes":        {1: str("rawSelector")},
		"NonResourceAttributes":     {1: str("path"), 2: str("verb")},
		"SubjectAccessReviewStatus": {},
		"SelfSubjectRulesReview": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "SelfSubjectRulesReviewSpec"),
			3: msg("status", "SubjectRulesReviewStatus")},
		"SelfSubjectRulesReviewSpec": {1: str("namespace")},
		"SubjectRulesReviewStatus":   {},
		"SelfSubjectReview":          {1: msg("metadata", "ObjectMeta"), 2: msg("status", "SelfSubjectReviewStatus")},
		"SelfSubjectReviewStatus":    {},

		"DeleteOptions": {1: {name: "gracePeriodSeconds", kind: pInt, ptr: true}, 2: msg("preconditions", "Preconditions"),
			3: boolean("orphanDependents"), 4: str("propagationPolicy"), 5: strs("dryRun")},
		"Preconditions": {1: str("uid"), 2: str("resourceVersion")},
		"Eviction":      {1: msg("metadata", "ObjectMeta"), 2: msg("deleteOptions", "DeleteOptions")},
		"PodDisruptionBudget": {1: msg("metadata", "ObjectMeta"), 2: msg("spec", "PodDisruptionBudgetSpec"),
			3: msg("status", "PodDisruptionBudgetStatus")},
		"PodDisruptionBudgetSpec": {1: {name: "minAvailable", kind: pIntStr}, 2: msg("selector", "LabelSelector"),
			3: {name: "maxUnavailable", kind: pIntStr}, 4: str("unhealthyPodEvictionPolicy")},
		"PodDisruptionBudgetStatus": {1: num("observedGeneration"), 3: num("disruptionsAllowed"), 4: num("currentHealthy"),
			5: num("desiredHealthy"), 6: num("expectedPods"), 7: msgs("conditions", "Condition")},
		"Condition": {1: str("type"), 2: str("status"), 3: num("observedGeneration"), 4: {name: "lastTransitionTime", kind: pTime},
			5: str("reason"), 6: str("message")},
	}
}

// protoDecoder converts protobuf messages to JSON-shaped maps, collecting the paths of
// fields it does not know.
type protoDecoder struct {
	schema  map[string]map[int]pfield
	unknown api.FieldErrors
}

var errProto = errors.New("malformed protobuf")

// protoToJSON converts a Kubernetes protobuf body of one of kinds to JSON.
func protoToJSON(body []byte, kinds map[string]bool) ([]byte, error) {
	if !bytes.HasPrefix(body, []byte(protoMagic)) {
		return nil, api.BadRequest("the protobuf body does not start with the Kubernetes magic number")
	}
	d := &protoDecoder{schema: protoSchema()}
	var tm map[string]any
	var raw []byte
	err := eachField(body[len(protoMagic):], func(num int, wire int, v uint64, b []byte) error {
		switch {
		case num == 1 && wire == 2:
			m, err := d.message(b, "TypeMeta", "")
			tm = m
			return err
		case num == 2 && wire == 2:
			raw = b
		}
		return nil
	})
	if err != nil {
		return nil, api.BadRequest(fmt.Sprintf("decode protobuf body: %v", err))
	}
	kind, _ := tm["kind"].(string)
	if _, ok := d.schema[kind]; !ok || !kinds[kind] {
		return nil, api.NewStatusError(415, api.ReasonUnsupportedMedia,
			fmt.Sprintf("the body of the request was in protobuf for kind %q, which this server does not decode from protobuf: send application/json", kind))
	}
	obj, err := d.message(raw, kind, "")
	if err != nil {
		return nil, api.BadRequest(fmt.Sprintf("decode protobuf %s: %v", kind, err))
	}
	if len(d.unknown) > 0 {
		return nil, api.Invalid(api.GroupKind{Kind: kind}, "", d.unknown)
	}
	obj["kind"], obj["apiVersion"] = kind, tm["apiVersion"]
	return json.Marshal(obj)
}

// eachField calls f for every field of a protobuf message: varints and fixed values in v,
// length-delimited ones in b.
func eachField(data []byte, f func(num, wire int, v uint64, b []byte) error) error {
	for len(data) > 0 {
		tag, n := binary.Uvarint(data)
		if n <= 0 {
			return errProto
		}
		data = data[n:]
		num, wire := int(tag>>3), int(tag&7)
		var v uint64
		var b []byte
		switch wire {
		case 0:
			v, n = binary.Uvarint(data)
			if n <= 0 {
				return errProto
			}
			data = data[n:]
		case 1:
			if len(data) < 8 {
				return errProto
			}
			v, data = binary.LittleEndian.Uint64(data), data[8:]
		case 2:
			l, n := binary.Uvarint(data)
			if n <= 0 || uint64(len(data)-n) < l {
				return errProto
			}
			b, data = data[n:n+int(l)], data[n+int(l):]
		case 5:
			if len(data) < 4 {
				return errProto
			}
			v, data = uint64(binary.LittleEndian.Uint32(data)), data[4:]
		default:
			return errProto
		}
		if err := f(num, wire, v, b); err != nil {
			return err
		}
	}
	return nil
}

// isZeroProto reports whether b, read as a message, holds only zero values.
func isZeroProto(b []byte) bool {
	zero := true
	err := eachField(b, func(_, wire int, v uint64, sub []byte) error {
		if (wire != 2 && v != 0) || (wire == 2 && len(sub) > 0 && !isZeroProto(sub)) {
			zero = false
		}
		return nil
	})
	return err == nil && zero
}

func (d *protoDecoder) message(data []byte, name, path string) (map[string]any, error) {
	fields := d.schema[name]
	out := map[string]any{}
	err := eachField(data, func(num, wire int, v uint64, b []byte) error {
		f, ok := fields[num]
		if !ok {
			if (wire == 2 && len(b) > 0 && !isZeroProto(b)) || (wire != 2 && v != 0) {
				d.unknown = append(d.unknown, api.UnknownField(api.Path(path).Child(fmt.Sprintf("<protobuf field %d of %s>", num, name))))
			}
			return nil
		}
		p := string(api.Path(path).Child(f.name))
		val, keep, err := d.value(f, wire, v, b, p)
		if err != nil || !keep {
			return err
		}
		switch {
		case f.kind == pInline:
			for k, x := range val.(map[string]any) {
				out[k] = x
			}
		case f.repeated:
			list, _ := out[f.name].([]any)
			out[f.name] = append(list, val)
		case f.kind == pMapString || f.kind == pMapQty || f.kind == pMapBytes:
			m, _ := out[f.name].(map[string]any)
			if m == nil {
				m = map[string]any{}
				out[f.name] = m
			}
			kv := val.([2]any)
			m[kv[0].(string)] = kv[1]
		default:
			out[f.name] = val
		}
		return nil
	})
	return out, err
}

// value decodes one field; keep is false for a zero value that JSON would omit.
func (d *protoDecoder) value(f pfield, wire int, v uint64, b []byte, path string) (any, bool, error) {
	want := 2
	if f.kind == pInt || f.kind == pBool {
		want = 0
	}
	if wire != want {
		return nil, false, fmt.Errorf("%s: wire type %d, want %d: %w", path, wire, want, errProto)
	}
	switch f.kind {
	case pString:
		return string(b), len(b) > 0 || f.repeated, nil
	case pBytes:
		return base64.StdEncoding.EncodeToString(b), len(b) > 0, nil
	case pRawJSON:
		var raw []byte
		err := eachField(b, func(num, _ int, _ uint64, sb []byte) error {
			if num == 1 {
				raw = sb
			}
			return nil
		})
		if err == nil && len(raw) > 0 && !json.Valid(raw) {
			err = fmt.Errorf("%s: not JSON: %w", path, errProto)
		}
		return json.RawMessage(raw), len(raw) > 0, err
	case pInt:
		return int64(v), v != 0 || f.repeated || f.ptr, nil
	case pBool:
		return v != 0, v != 0, nil
	case pMsg, pInline:
		m, err := d.message(b, f.msg, path)
		return m, true, err
	case pQty:
		s, err := d.quantity(b)
		return s, s != "", err
	case pIntStr:
		var typ, iv uint64
		var sv string
		err := eachField(b, func(num, _ int, v uint64, sb []byte) error {
			switch num {
			case 1:
				typ = v
			case 2:
				iv = v
			case 3:
				sv = string(sb)
			}
			return nil
		})
		if typ == 1 {
			return sv, true, err
		}
		return int64(int32(iv)), true, err
	case pTime:
		var secs int64
		var nanos uint64
		err := eachField(b, func(num, _ int, v uint64, _ []byte) error {
			if num == 1 {
				secs = int64(v)
			} else if num == 2 {
				nanos = v
			}
			return nil
		})
		if secs == math.MinInt64 || secs <= -62135596800 || (secs == 0 && nanos == 0) {
			return nil, false, err // the zero time
		}
		return time.Unix(secs, int64(nanos)).UTC().Format(time.RFC3339), true, err
	case pMapString, pMapQty, pMapBytes:
		var key string
		var val any
		err := eachField(b, func(num, _ int, _ uint64, sb []byte) error {
			switch num {
			case 1:
				key = string(sb)
			case 2:
				switch f.kind {
				case pMapQty:
					val, _ = d.quantity(sb)
				case pMapBytes:
					val = base64.StdEncoding.EncodeToString(sb)
				default:
					val = string(sb)
				}
			}
			return nil
		})
		if val == nil {
			val = ""
		}
		return [2]any{key, val}, true, err
	}
	return nil, false, nil
}

// quantity reads a resource.Quantity message: its string is field 1.
func (d *protoDecoder) quantity(b []byte) (string, error) {
	var s string
	err := eachField(b, func(num, _ int, _ uint64, sb []byte) error {
		if num == 1 {
			s = string(sb)
		}
		return nil
	})
	return s, err
}
