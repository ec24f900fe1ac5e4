package kubelet

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/wasm/sandbox"
)

// TestVolumeFiles lays out ConfigMap and Secret volumes as the kubelet's volume plugins do.
func TestVolumeFiles(t *testing.T) {
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "app", Namespace: "default"},
		Data: map[string]string{"a": "A", "b.conf": "B"}, BinaryData: map[string][]byte{"bin": {0, 1}}}
	sec := &api.Secret{ObjectMeta: api.ObjectMeta{Name: "creds", Namespace: "default"},
		Data: map[string][]byte{"token": []byte("t\xff")}}
	mode := func(m int32) *int32 { return &m }
	cmVol := func(src api.ConfigMapVolumeSource) *api.Volume { return &api.Volume{Name: "v", ConfigMap: &src} }
	for _, tt := range []struct {
		name string
		vol  *api.Volume
		obj  api.Object
		want string // path:mode:data, sorted, or the error
	}{
		{"every key, default mode", cmVol(api.ConfigMapVolumeSource{}), cm, "a:644:A b.conf:644:B bin:644:\x00\x01"},
		{"defaultMode", cmVol(api.ConfigMapVolumeSource{DefaultMode: mode(0o400)}), cm, "a:400:A b.conf:400:B bin:400:\x00\x01"},
		{"items with paths and modes", cmVol(api.ConfigMapVolumeSource{DefaultMode: mode(0o640), Items: []api.KeyToPath{
			{Key: "b.conf", Path: "etc/app/b.conf", Mode: mode(0o600)}, {Key: "bin", Path: "data/bin"}}}), cm,
			"data/bin:640:\x00\x01 etc/app/b.conf:600:B"},
		{"two items, one path: the last wins", cmVol(api.ConfigMapVolumeSource{Items: []api.KeyToPath{
			{Key: "a", Path: "x"}, {Key: "b.conf", Path: "./x"}}}), cm, "x:644:B"},
		{"missing item", cmVol(api.ConfigMapVolumeSource{Items: []api.KeyToPath{{Key: "nope", Path: "x"}}}), cm,
			"configmap references non-existent config key: nope"},
		{"missing item, optional", cmVol(api.ConfigMapVolumeSource{Optional: api.Ptr(true),
			Items: []api.KeyToPath{{Key: "nope", Path: "x"}, {Key: "a", Path: "y"}}}), cm, "y:644:A"},
		{"optional source missing", cmVol(api.ConfigMapVolumeSource{Optional: api.Ptr(true)}), nil, ""},
		{"secret bytes", &api.Volume{Name: "s", Secret: &api.SecretVolumeSource{SecretName: "creds"}}, sec, "token:644:t\xff"},
		{"missing secret item", &api.Volume{Name: "s", Secret: &api.SecretVolumeSource{SecretName: "creds",
			Items: []api.KeyToPath{{Key: "k", Path: "k"}}}}, sec, "references non-existent secret key: k"},
		{"bad mode", cmVol(api.ConfigMapVolumeSource{DefaultMode: mode(0o1777)}), cm, "mode 01777: want 0 to 0777"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files, err := volumeFiles(tt.vol, tt.obj)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				var parts []string
				for _, f := range files {
					parts = append(parts, fmt.Sprintf("%s:%o:%s", f.Path, f.Mode, f.Data))
				}
				slices.Sort(parts)
				got = strings.Join(parts, " ")
				// The sandbox takes the layout as it is.
				sf, err := sandbox.NewFiles(files)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					if st, err := fs.Stat(sf, f.Path); err != nil || st.Mode() != f.Mode {
						t.Errorf("stat %s = %v, %v; want mode %o", f.Path, st, err, f.Mode)
					}
				}
			}
			if !strings.Contains(got, tt.want) || (tt.want == "" && got != "") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodRefs(t *testing.T) {
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "ns"}, Spec: api.PodSpec{
		Containers: []api.Container{{
			EnvFrom: []api.EnvFromSource{{ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "a"}}},
				{SecretRef: &api.SecretEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "a"}}}},
			Env: []api.EnvVar{{Name: "X", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{
				LocalObjectReference: api.LocalObjectReference{Name: "a"}, Key: "k"}}},
				{Name: "Y", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{
					LocalObjectReference: api.LocalObjectReference{Name: "b"}, Key: "k"}}},
				{Name: "Z", Value: "z"}},
		}},
		Volumes: []api.Volume{{Name: "v", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "c"}}},
			{Name: "w", Secret: &api.SecretVolumeSource{SecretName: "b"}}, {Name: "e", EmptyDir: &api.EmptyDirVolumeSource{}}},
	}}
	want := []objectRef{{kindConfigMap, "ns", "a"}, {kindSecret, "ns", "a"}, {kindSecret, "ns", "b"}, {kindConfigMap, "ns", "c"}}
	if got := podRefs(p); !slices.Equal(got, want) {
		t.Errorf("podRefs = %v, want %v", got, want)
	}
}
