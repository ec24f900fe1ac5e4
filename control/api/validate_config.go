package api

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/wasmkube/wasmkube/control/api/labels"
)

// MaxSecretSize is Kubernetes' limit on the total bytes of a Secret's data, and of a
// ConfigMap's data and binaryData together (1 MiB).
const MaxSecretSize = 1 << 20

// Well-known keys of the typed Secrets, as Kubernetes names them.
const (
	ServiceAccountNameKey = "kubernetes.io/service-account.name"
	DockerConfigKey       = ".dockercfg"
	DockerConfigJSONKey   = ".dockerconfigjson"
	BasicAuthUsernameKey  = "username"
	BasicAuthPasswordKey  = "password"
	SSHAuthPrivateKey     = "ssh-privatekey"
	TLSCertKey            = "tls.crt"
	TLSPrivateKeyKey      = "tls.key"
)

// fileModeErrorMsg is Kubernetes' message for a volume file mode out of range.
const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

const immutableMsg = "field is immutable when `immutable` is set"

func tooLongBytes(p Path, limit int) *FieldError {
	return &FieldError{Type: FieldValueTooLong, Field: string(p), Detail: fmt.Sprintf("must have at most %d bytes", limit)}
}

// validateConfigMap is Kubernetes' ValidateConfigMap, and ValidateConfigMapUpdate when old
// is set.
func validateConfigMap(c, old *ConfigMap) FieldErrors {
	errs := validateMeta(&c.ObjectMeta, true, labels.IsDNS1123Subdomain)
	if old != nil && isTrue(old.Immutable) {
		if !isTrue(c.Immutable) {
			errs = append(errs, Forbidden("immutable", immutableMsg))
		}
		if !sameStrings(c.Data, old.Data) {
			errs = append(errs, Forbidden("data", immutableMsg))
		}
		if !sameBytes(c.BinaryData, old.BinaryData) {
			errs = append(errs, Forbidden("binaryData", immutableMsg))
		}
	}
	size := 0
	for _, k := range sortedKeys(c.Data) {
		for _, msg := range labels.IsConfigMapKey(k) {
			errs = append(errs, InvalidValue(Path("data").Key(k), k, msg))
		}
		if _, dup := c.BinaryData[k]; dup {
			errs = append(errs, InvalidValue(Path("data").Key(k), k, "duplicate of key present in binaryData"))
		}
		size += len(c.Data[k])
	}
	for _, k := range sortedKeys(c.BinaryData) {
		for _, msg := range labels.IsConfigMapKey(k) {
			errs = append(errs, InvalidValue(Path("binaryData").Key(k), k, msg))
		}
		size += len(c.BinaryData[k])
	}
	if size > MaxSecretSize {
		errs = append(errs, tooLongBytes("", MaxSecretSize))
	}
	return errs
}

// validateSecret is Kubernetes' ValidateSecret, and ValidateSecretUpdate when old is set.
// StringData has been merged into Data before (Default does it), as Kubernetes does when it
// converts the request.
func validateSecret(s, old *Secret) FieldErrors {
	errs := validateMeta(&s.ObjectMeta, true, labels.IsDNS1123Subdomain)
	if old != nil {
		if s.Type != old.Type {
			errs = append(errs, InvalidValue("type", s.Type, "field is immutable"))
		}
		if isTrue(old.Immutable) {
			if !isTrue(s.Immutable) {
				errs = append(errs, Forbidden("immutable", immutableMsg))
			}
			if !sameBytes(s.Data, old.Data) {
				errs = append(errs, Forbidden("data", immutableMsg))
			}
		}
	}
	data := Path("data")
	size := 0
	for _, k := range sortedKeys(s.Data) {
		for _, msg := range labels.IsConfigMapKey(k) {
			errs = append(errs, InvalidValue(data.Key(k), k, msg))
		}
		size += len(s.Data[k])
	}
	if size > MaxSecretSize {
		errs = append(errs, tooLongBytes(data, MaxSecretSize))
	}
	has := func(k string) bool { _, ok := s.Data[k]; return ok }
	validJSON := func(k string) {
		if !has(k) {
			errs = append(errs, Required(data.Key(k), ""))
		} else if err := json.Unmarshal(s.Data[k], &map[string]any{}); err != nil {
			errs = append(errs, InvalidValue(data.Key(k), "<secret contents redacted>", err.Error()))
		}
	}
	switch s.Type {
	case SecretTypeServiceAccountToken:
		if s.Annotations[ServiceAccountNameKey] == "" {
			errs = append(errs, Required(Path("metadata").Child("annotations").Key(ServiceAccountNameKey), ""))
		}
	case SecretTypeDockercfg:
		validJSON(DockerConfigKey)
	case SecretTypeDockerConfigJSON:
		validJSON(DockerConfigJSONKey)
	case SecretTypeBasicAuth:
		if !has(BasicAuthUsernameKey) && !has(BasicAuthPasswordKey) {
			errs = append(errs, Required(data.Key(BasicAuthUsernameKey), ""), Required(data.Key(BasicAuthPasswordKey), ""))
		}
	case SecretTypeSSHAuth:
		if len(s.Data[SSHAuthPrivateKey]) == 0 {
			errs = append(errs, Required(data.Key(SSHAuthPrivateKey), ""))
		}
	case SecretTypeTLS:
		if !has(TLSCertKey) {
			errs = append(errs, Required(data.Key(TLSCertKey), ""))
		}
		if !has(TLSPrivateKeyKey) {
			errs = append(errs, Required(data.Key(TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// mergeStringData folds a Secret's write-only stringData into data (its keys win) and
// drops it, as Kubernetes' conversion of a v1 Secret does.
func mergeStringData(s *Secret) {
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// validateEnvVarSource is Kubernetes' validateEnvVarValueFrom: exactly one source, and no
// value beside it. ep is the env var; paths are built only for errors, as every pod create
// runs this.
func validateEnvVarSource(e EnvVar, ep Path) FieldErrors {
	var errs FieldErrors
	src, n := e.ValueFrom, 0
	if f := src.FieldRef; f != nil {
		n++
		if !hasString(downwardFields, f.FieldPath) {
			errs = append(errs, NotSupported(ep.childs("valueFrom", "fieldRef", "fieldPath"), f.FieldPath, downwardFields))
		}
	}
	if r := src.ConfigMapKeyRef; r != nil {
		n++
		errs = append(errs, validateKeySelector(r.Name, r.Key, ep.childs("valueFrom", "configMapKeyRef"))...)
	}
	if r := src.SecretKeyRef; r != nil {
		n++
		errs = append(errs, validateKeySelector(r.Name, r.Key, ep.childs("valueFrom", "secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, InvalidValue(ep.Child("valueFrom"), "", "must specify one of: `fieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case e.Value != "":
		errs = append(errs, InvalidValue(ep.Child("valueFrom"), "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, InvalidValue(ep.Child("valueFrom"), "", "may not have more than one field specified at a time"))
	}
	return errs
}

func validateKeySelector(name, key string, p Path) FieldErrors {
	errs := validateRefName(name, p.Child("name"))
	if key == "" {
		errs = append(errs, Required(p.Child("key"), ""))
	}
	for _, msg := range labels.IsConfigMapKey(key) {
		if key != "" {
			errs = append(errs, InvalidValue(p.Child("key"), key, msg))
		}
	}
	return errs
}

// validateRefName checks the name of a referenced ConfigMap or Secret: required, and a DNS
// subdomain as the names of both kinds are.
func validateRefName(name string, p Path) FieldErrors {
	if name == "" {
		return FieldErrors{Required(p, "")}
	}
	var errs FieldErrors
	for _, msg := range labels.IsDNS1123Subdomain(name) {
		errs = append(errs, InvalidValue(p, name, msg))
	}
	return errs
}

// validateEnvFrom is Kubernetes' ValidateEnvFrom. p is the container's envFrom.
func validateEnvFrom(list []EnvFromSource, p Path) FieldErrors {
	var errs FieldErrors
	for i, ef := range list {
		ip := p.Index(i)
		if ef.Prefix != "" {
			for _, msg := range labels.IsEnvVarName(ef.Prefix) {
				errs = append(errs, InvalidValue(ip.Child("prefix"), ef.Prefix, msg))
			}
		}
		n := 0
		if r := ef.ConfigMapRef; r != nil {
			n++
			errs = append(errs, validateRefName(r.Name, ip.childs("configMapRef", "name"))...)
		}
		if r := ef.SecretRef; r != nil {
			n++
			errs = append(errs, validateRefName(r.Name, ip.childs("secretRef", "name"))...)
		}
		switch {
		case n == 0:
			errs = append(errs, InvalidValue(ip, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, InvalidValue(ip, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateVolumeSource is Kubernetes' validateVolumeSource for the sources wasmkube serves:
// exactly one of emptyDir, secret and configMap. p is the volume.
func validateVolumeSource(v *Volume, p Path) FieldErrors {
	var errs FieldErrors
	n := 0
	if v.EmptyDir != nil {
		n++
		if m := v.EmptyDir.Medium; m != "" && m != "Memory" {
			errs = append(errs, NotSupported(p.childs("emptyDir", "medium"), m, []string{"", "Memory"}))
		}
	}
	if s := v.Secret; s != nil {
		sp := p.Child("secret")
		if n > 0 {
			errs = append(errs, Forbidden(sp, "may not specify more than 1 volume type"))
		} else {
			n++
			if s.SecretName == "" {
				errs = append(errs, Required(sp.Child("secretName"), ""))
			}
			errs = append(errs, validateFileModes(s.DefaultMode, s.Items, sp)...)
		}
	}
	if c := v.ConfigMap; c != nil {
		cp := p.Child("configMap")
		if n > 0 {
			errs = append(errs, Forbidden(cp, "may not specify more than 1 volume type"))
		} else {
			n++
			if c.Name == "" {
				errs = append(errs, Required(cp.Child("name"), ""))
			}
			errs = append(errs, validateFileModes(c.DefaultMode, c.Items, cp)...)
		}
	}
	if n == 0 {
		errs = append(errs, Required(p, "must specify a volume type (wasmkube supports emptyDir, configMap and secret)"))
	}
	return errs
}

// validateFileModes checks a configMap or secret volume's defaultMode and items, as
// Kubernetes' validateKeyToPath does. Two items may share a path, as in Kubernetes, where
// the kubelet writes the last.
func validateFileModes(defaultMode *int32, items []KeyToPath, p Path) FieldErrors {
	var errs FieldErrors
	if m := defaultMode; m != nil && (*m < 0 || *m > 0o777) {
		errs = append(errs, InvalidValue(p.Child("defaultMode"), *m, fileModeErrorMsg))
	}
	for i, kp := range items {
		ip := p.Child("items").Index(i)
		if kp.Key == "" {
			errs = append(errs, Required(ip.Child("key"), ""))
		}
		pp := ip.Child("path")
		if kp.Path == "" {
			errs = append(errs, Required(pp, ""))
		}
		errs = append(errs, validateLocalNonReservedPath(kp.Path, pp)...)
		if m := kp.Mode; m != nil && (*m < 0 || *m > 0o777) {
			errs = append(errs, InvalidValue(ip.Child("mode"), *m, fileModeErrorMsg))
		}
	}
	return errs
}

// validateLocalNonReservedPath is Kubernetes' check of a path inside a volume: relative,
// with no '..' element, and not starting with '..'.
func validateLocalNonReservedPath(target string, p Path) FieldErrors {
	var errs FieldErrors
	if path.IsAbs(target) {
		errs = append(errs, InvalidValue(p, target, "must be a relative path"))
	}
	for _, item := range strings.Split(target, "/") {
		if item == ".." {
			errs = append(errs, InvalidValue(p, target, "must not contain '..'"))
			break
		}
	}
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, InvalidValue(p, target, "must not start with '..'"))
	}
	return errs
}

// defaultVolumeModes sets the defaultMode of configMap and secret volumes, as Kubernetes
// does.
func defaultVolumeModes(vols []Volume) {
	for i := range vols {
		if c := vols[i].ConfigMap; c != nil && c.DefaultMode == nil {
			c.DefaultMode = Ptr(DefaultVolumeMode)
		}
		if s := vols[i].Secret; s != nil && s.DefaultMode == nil {
			s.DefaultMode = Ptr(DefaultVolumeMode)
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameBytes(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}

// sortedKeys returns m's keys in order, so errors come in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
