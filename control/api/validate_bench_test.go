package api

import "testing"

// BenchmarkValidatePod measures Default and Validate of a pod with env values, a downward
// API variable and an emptyDir volume: the work every pod create does before storage.
func BenchmarkValidatePod(b *testing.B) {
	pod := func() *Pod {
		return &Pod{ObjectMeta: ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec: PodSpec{Containers: []Container{{Name: "web", Image: "web:v1",
				Ports: []ContainerPort{{ContainerPort: 8080}},
				Env: []EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"},
					{Name: "POD", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				VolumeMounts: []VolumeMount{{Name: "data", MountPath: "/data"}}}},
				Volumes: []Volume{{Name: "data", EmptyDir: &EmptyDirVolumeSource{}}}}}
	}
	b.ReportAllocs()
	for b.Loop() {
		p := pod()
		Default(p)
		if errs := Validate(p, nil); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
