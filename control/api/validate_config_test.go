package api

import (
	"strings"
	"testing"
)

func TestDefaultSecret(t *testing.T) {
	s := &Secret{Data: map[string][]byte{"a": []byte("old"), "b": []byte("keep")}, StringData: map[string]string{"a": "new", "c": "added"}}
	Default(s)
	if s.StringData != nil || s.Type != SecretTypeOpaque || string(s.Data["a"]) != "new" || string(s.Data["b"]) != "keep" || string(s.Data["c"]) != "added" {
		t.Fatalf("defaulted secret = %+v", s)
	}
	only := &Secret{StringData: map[string]string{"x": "y"}, Type: SecretTypeBasicAuth}
	Default(only)
	Default(only)
	if string(only.Data["x"]) != "y" || only.Type != SecretTypeBasicAuth || only.StringData != nil {
		t.Fatalf("stringData alone = %+v", only)
	}
}

func TestDefaultVolumeModes(t *testing.T) {
	mode := int32(0o400)
	s := PodSpec{Containers: []Container{{Name: "a", Image: "a:1"}}, Volumes: []Volume{
		{Name: "c", ConfigMap: &ConfigMapVolumeSource{LocalObjectReference: LocalObjectReference{Name: "c"}}},
		{Name: "s", Secret: &SecretVolumeSource{SecretName: "s", DefaultMode: &mode}},
		{Name: "e", EmptyDir: &EmptyDirVolumeSource{}},
	}}
	DefaultPodSpec(&s)
	if m := s.Volumes[0].ConfigMap.DefaultMode; m == nil || *m != DefaultVolumeMode {
		t.Fatalf("configMap defaultMode %v", m)
	}
	if m := s.Volumes[1].Secret.DefaultMode; *m != 0o400 {
		t.Fatalf("secret defaultMode %o, want the given 0400", *m)
	}
}

// TestConfigMapImmutableEmpty: an empty map and an absent one are the same data, as they
// are once stored (JSON omits both).
func TestConfigMapImmutableEmpty(t *testing.T) {
	old := &ConfigMap{ObjectMeta: ObjectMeta{Name: "c"}, Immutable: Ptr(true)}
	now := &ConfigMap{ObjectMeta: ObjectMeta{Name: "c"}, Immutable: Ptr(true), Data: map[string]string{}, BinaryData: map[string][]byte{}}
	if errs := Validate(now, old); len(errs) > 0 {
		t.Fatalf("errors %v", errs)
	}
	now.Data["a"] = "b"
	errs := Validate(now, old)
	if len(errs) != 1 || errs[0].Field != "data" || !strings.Contains(errs[0].Error(), "field is immutable when `immutable` is set") {
		t.Fatalf("errors %v", errs)
	}
}

// TestValidateConfigSizes: the 1 MiB limit counts the bytes of values, data and binaryData
// together for a ConfigMap.
func TestValidateConfigSizes(t *testing.T) {
	half := strings.Repeat("x", MaxSecretSize/2)
	at := &ConfigMap{ObjectMeta: ObjectMeta{Name: "c"}, Data: map[string]string{"a": half}, BinaryData: map[string][]byte{"b": []byte(half)}}
	if errs := Validate(at, nil); len(errs) > 0 {
		t.Fatalf("exactly 1 MiB: %v", errs)
	}
	at.Data["c"] = "x"
	if errs := Validate(at, nil); len(errs) != 1 || errs[0].Error() != ": Too long: must have at most 1048576 bytes" {
		t.Fatalf("over 1 MiB: %v", errs)
	}
	s := &Secret{ObjectMeta: ObjectMeta{Name: "s"}, Type: SecretTypeOpaque, Data: map[string][]byte{"a": []byte(half), "b": []byte(half + "x")}}
	if errs := Validate(s, nil); len(errs) != 1 || errs[0].Error() != "data: Too long: must have at most 1048576 bytes" {
		t.Fatalf("secret over 1 MiB: %v", errs)
	}
}
