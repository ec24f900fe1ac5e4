package kubelet

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// Reasons of containers and events about ConfigMaps and Secrets, as the kubelet's.
const (
	// ReasonCreateContainerConfigError: a container's environment names a ConfigMap, a Secret or
	// a key that does not exist (and is not optional); the pod is tried again after back-off.
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	// ReasonFailedMount is the Warning event of a ConfigMap or Secret volume that cannot be
	// filled; the pod stays Pending, its containers ContainerCreating, and is tried again.
	ReasonFailedMount = "FailedMount"
	// ReasonFailed is the Warning event of a container that cannot be created.
	ReasonFailed = "Failed"
	// ReasonInvalidEnvironmentVariableNames is the Warning event of envFrom keys skipped because
	// they are not environment variable names.
	ReasonInvalidEnvironmentVariableNames = "InvalidEnvironmentVariableNames"
)

// configError is a reference of a container's environment that cannot be resolved yet.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// mountError is a ConfigMap or Secret volume that cannot be filled yet.
type mountError struct {
	volume string
	err    error
}

func (e *mountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.volume, e.err)
}
func (e *mountError) Unwrap() error { return e.err }

// projected is a ConfigMap or Secret volume of the pod, whose files follow their source.
type projected struct {
	vol   *api.Volume
	ref   objectRef
	files *sandbox.Files
	rv    string // resourceVersion of the source the files show; "" for none
}

func optional(b *bool) bool { return b != nil && *b }

// volumeSource returns the object a ConfigMap or Secret volume shows and whether it is optional.
func volumeSource(namespace string, v *api.Volume) (ref objectRef, opt, ok bool) {
	switch {
	case v.ConfigMap != nil:
		return objectRef{kind: kindConfigMap, namespace: namespace, name: v.ConfigMap.Name}, optional(v.ConfigMap.Optional), true
	case v.Secret != nil:
		return objectRef{kind: kindSecret, namespace: namespace, name: v.Secret.SecretName}, optional(v.Secret.Optional), true
	}
	return objectRef{}, false, false
}

// volumeFiles returns the files of a ConfigMap or Secret volume showing obj (nil: an optional
// source that does not exist), as the kubelet's configmap and secret volume plugins lay them
// out: every key, or only items, each at its path with its mode or the default mode.
func volumeFiles(v *api.Volume, obj api.Object) ([]sandbox.File, error) {
	data := map[string][]byte{}
	var items []api.KeyToPath
	var defaultMode *int32
	var opt bool
	missing := "configmap references non-existent config key: %s"
	switch {
	case v.ConfigMap != nil:
		items, defaultMode, opt = v.ConfigMap.Items, v.ConfigMap.DefaultMode, optional(v.ConfigMap.Optional)
		if cm, _ := obj.(*api.ConfigMap); cm != nil {
			for k, s := range cm.Data {
				data[k] = []byte(s)
			}
			for k, b := range cm.BinaryData {
				data[k] = b
			}
		}
	case v.Secret != nil:
		items, defaultMode, opt = v.Secret.Items, v.Secret.DefaultMode, optional(v.Secret.Optional)
		missing = "references non-existent secret key: %s"
		if s, _ := obj.(*api.Secret); s != nil {
			data = s.Data
		}
	default:
		return nil, fmt.Errorf("volume %s is neither a configMap nor a secret", v.Name)
	}
	mode := api.DefaultVolumeMode
	if defaultMode != nil {
		mode = *defaultMode
	}
	if len(items) == 0 {
		for _, k := range slices.Sorted(maps.Keys(data)) {
			items = append(items, api.KeyToPath{Key: k, Path: k})
		}
	}
	files := make([]sandbox.File, 0, len(items))
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			if opt {
				continue
			}
			return nil, fmt.Errorf(missing, it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		if m < 0 || m > 0o777 {
			return nil, fmt.Errorf("volume %s: key %s: mode %#o: want 0 to 0777", v.Name, it.Key, m)
		}
		p := it.Path
		if p == "" {
			p = it.Key
		}
		p = path.Clean(p)
		// Two items with one path: the last is written, as the kubelet's payload map keeps it.
		files = slices.DeleteFunc(files, func(f sandbox.File) bool { return f.Path == p })
		files = append(files, sandbox.File{Path: p, Data: b, Mode: fs.FileMode(m)})
	}
	return files, nil
}

// projectVolumes fills p's ConfigMap and Secret volumes from their sources; a *mountError names
// the first that cannot be filled.
func (w *worker) projectVolumes(ctx context.Context, p *api.Pod) (map[string]*projected, error) {
	out := map[string]*projected{}
	for i := range p.Spec.Volumes {
		v := &p.Spec.Volumes[i]
		ref, opt, ok := volumeSource(p.Namespace, v)
		if !ok {
			continue
		}
		pv := &projected{vol: v, ref: ref}
		files, rv, err := w.sourceFiles(ctx, pv, opt)
		if err == nil {
			pv.files, err = sandbox.NewFiles(files)
		}
		if err != nil {
			return nil, &mountError{volume: v.Name, err: err}
		}
		pv.rv = rv
		out[v.Name] = pv
	}
	return out, nil
}

// sourceFiles returns the files pv shows now and the resourceVersion of their source.
func (w *worker) sourceFiles(ctx context.Context, pv *projected, opt bool) ([]sandbox.File, string, error) {
	obj, err := w.r.configs.get(ctx, pv.ref)
	if err != nil && !(opt && isNotFound(err)) {
		return nil, "", err
	}
	files, err := volumeFiles(pv.vol, obj)
	if err != nil {
		return nil, "", err
	}
	rv := ""
	if obj != nil {
		rv = obj.GetObjectMeta().ResourceVersion
	}
	return files, rv, nil
}

// refreshVolumes gives the running pod's volumes that show ref their source's new contents, at
// once for each volume. A source that is gone or lacks a key leaves the files as they were, with
// a FailedMount event, as the kubelet leaves a volume it cannot set up again.
func (w *worker) refreshVolumes(ctx context.Context, ref objectRef) {
	for _, pv := range w.projected {
		if pv.ref != ref {
			continue
		}
		_, opt, _ := volumeSource(ref.namespace, pv.vol)
		files, rv, err := w.sourceFiles(ctx, pv, opt)
		if err == nil && rv == pv.rv {
			continue
		}
		if err == nil {
			err = pv.files.Set(files)
		}
		if err != nil {
			if ctx.Err() == nil {
				w.r.events.Eventf(w.currentPod(), api.EventWarning, ReasonFailedMount, "%v",
					&mountError{volume: pv.vol.Name, err: err})
			}
			continue
		}
		pv.rv = rv
	}
}

// configChanged handles a change of a ConfigMap or Secret the pod uses: a running pod's volumes
// follow it; a pod waiting for it is tried again now rather than after its back-off.
func (w *worker) configChanged(ref objectRef) {
	ctx := w.r.runCtx
	if w.sb != nil {
		w.refreshVolumes(ctx, ref)
		return
	}
	if w.configWait && ctx.Err() == nil {
		if w.retry != nil {
			w.retry.Stop()
		}
		w.tryStart(ctx)
	}
}

// containerEnv returns a container's environment ("NAME=value", later entries winning) and its
// variables for $(NAME) references, as the kubelet's makeEnvironmentVariables: every valid key
// of the envFrom sources first, after their prefix (keys that are not variable names are
// skipped, with an InvalidEnvironmentVariableNames event), then env, which wins. An env value
// sees the envFrom variables and the env entries before it. A missing ConfigMap, Secret or key
// that is not optional is a *configError.
func (w *worker) containerEnv(ctx context.Context, p *api.Pod, spec *api.Container) ([]string, map[string]string, error) {
	vars := map[string]string{}
	var env []string
	for _, ef := range spec.EnvFrom {
		var data map[string]string
		var ref objectRef
		var opt bool
		switch {
		case ef.ConfigMapRef != nil:
			ref = objectRef{kind: kindConfigMap, namespace: p.Namespace, name: ef.ConfigMapRef.Name}
			opt = optional(ef.ConfigMapRef.Optional)
		case ef.SecretRef != nil:
			ref = objectRef{kind: kindSecret, namespace: p.Namespace, name: ef.SecretRef.Name}
			opt = optional(ef.SecretRef.Optional)
		default:
			continue
		}
		obj, err := w.r.configs.get(ctx, ref)
		if err != nil {
			if opt && isNotFound(err) {
				continue
			}
			return nil, nil, &configError{err}
		}
		switch o := obj.(type) {
		case *api.ConfigMap:
			data = o.Data
		case *api.Secret:
			data = make(map[string]string, len(o.Data))
			for k, b := range o.Data {
				data[k] = string(b)
			}
		}
		var invalid []string
		for _, k := range slices.Sorted(maps.Keys(data)) {
			name := ef.Prefix + k
			if len(labels.IsEnvVarName(name)) != 0 {
				invalid = append(invalid, name)
				continue
			}
			vars[name] = data[k]
			env = append(env, name+"="+data[k])
		}
		if len(invalid) > 0 {
			kind := "configMap"
			if ref.kind == kindSecret {
				kind = "secret"
			}
			w.r.events.Eventf(p, api.EventWarning, ReasonInvalidEnvironmentVariableNames,
				"Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
				strings.Join(invalid, ", "), kind, p.Namespace, ref.name)
		}
	}
	for _, e := range spec.Env {
		v := expandVars(e.Value, varMapping(vars)) // an env value sees the entries before it
		if e.Value == "" && e.ValueFrom != nil {
			var err error
			var ok bool
			if v, ok, err = w.envValueFrom(ctx, p, e.ValueFrom); err != nil {
				if _, isConfig := err.(*configError); isConfig {
					return nil, nil, err
				}
				return nil, nil, fmt.Errorf("%w: container %s: env %s: %w", errPodConfig, spec.Name, e.Name, err)
			}
			if !ok {
				continue // an optional source or key that does not exist: no variable, as the kubelet
			}
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env, vars, nil
}

// envValueFrom resolves an env entry's valueFrom; ok is false for an optional ConfigMap, Secret
// or key that does not exist.
func (w *worker) envValueFrom(ctx context.Context, p *api.Pod, src *api.EnvVarSource) (v string, ok bool, err error) {
	switch {
	case src.FieldRef != nil:
		v, err = w.fieldRef(p, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		r := src.ConfigMapKeyRef
		obj, err := w.r.configs.get(ctx, objectRef{kind: kindConfigMap, namespace: p.Namespace, name: r.Name})
		if err != nil {
			if optional(r.Optional) && isNotFound(err) {
				return "", false, nil
			}
			return "", false, &configError{err}
		}
		v, ok = obj.(*api.ConfigMap).Data[r.Key]
		if !ok && !optional(r.Optional) {
			return "", false, &configError{fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", r.Key, p.Namespace, r.Name)}
		}
		return v, ok, nil
	case src.SecretKeyRef != nil:
		r := src.SecretKeyRef
		obj, err := w.r.configs.get(ctx, objectRef{kind: kindSecret, namespace: p.Namespace, name: r.Name})
		if err != nil {
			if optional(r.Optional) && isNotFound(err) {
				return "", false, nil
			}
			return "", false, &configError{err}
		}
		b, ok := obj.(*api.Secret).Data[r.Key]
		if !ok && !optional(r.Optional) {
			return "", false, &configError{fmt.Errorf("couldn't find key %s in Secret %s/%s", r.Key, p.Namespace, r.Name)}
		}
		return string(b), ok, nil
	}
	return "", true, nil
}
