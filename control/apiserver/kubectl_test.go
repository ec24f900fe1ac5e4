package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const helloDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  labels:
    app: hello
spec:
  replicas: 1
  selector:
    matchLabels:
      app: hello
  template:
    metadata:
      labels:
        app: hello
    spec:
      containers:
      - name: hello
        image: hello:1
        ports:
        - containerPort: 8080
`

// classPod is a pod of the PriorityClass batch-low.
const classPod = `apiVersion: v1
kind: Pod
metadata:
  name: low
spec:
  priorityClassName: batch-low
  containers:
  - name: app
    image: app:1
`

// TestKubectl drives the server with an unmodified kubectl, if one is on PATH.
func TestKubectl(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	e := start(t)
	dir := t.TempDir()
	kubeconfig := e.api.Kubeconfig(t)
	manifest := filepath.Join(dir, "hello.yaml")
	if err := os.WriteFile(manifest, []byte(helloDeployment), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, fails bool, args ...string) (string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "KUBECACHEDIR="+filepath.Join(dir, "cache"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); (err != nil) != fails {
			t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	lowPod := filepath.Join(dir, "low.yaml")
	if err := os.WriteFile(lowPod, []byte(classPod), 0o600); err != nil {
		t.Fatal(err)
	}
	stated := filepath.Join(dir, "stated.yaml")
	if err := os.WriteFile(stated, []byte(strings.Replace(classPod, "name: low", "name: stated", 1)+"  preemptionPolicy: PreemptLowerPriority\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(helloDeployment, "replicas: 1", "replicass: 1", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("misspelt field", func(t *testing.T) {
		_, stderr := run(t, true, "apply", "-f", bad)
		if want := `The Deployment "hello" is invalid: spec.replicass: Unknown field`; !strings.Contains(stderr, want) {
			t.Fatalf("stderr %q lacks %q", stderr, want)
		}
	})
	steps := []struct {
		name   string
		args   []string
		stdout []string // substrings, in order
		stderr string   // substring; "" means stderr must be empty
	}{
		{"version", []string{"version"}, []string{"Server Version: v1.32.0+wasmkube"}, ""},
		{"api-resources", []string{"api-resources"}, []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND",
			"namespaces", "ns", "v1", "false", "Namespace", "pods", "po", "v1", "true", "Pod",
			"deployments", "deploy", "apps/v1", "true", "Deployment", "leases", "coordination.k8s.io/v1", "true", "Lease"}, ""},
		{"get every kind", []string{"get", "nodes,events,endpoints,leases,replicasets", "-A"}, nil, "No resources found"},
		{"get namespaces", []string{"get", "ns"}, []string{"NAME", "STATUS", "AGE", "default", "Active", "kube-node-lease", "kube-public", "kube-system"}, ""},
		{"apply", []string{"apply", "-f", manifest}, []string{"deployment.apps/hello created"}, ""},
		{"apply unchanged", []string{"apply", "-f", manifest}, []string{"deployment.apps/hello unchanged"}, ""},
		{"get wide", []string{"get", "deploy", "-o", "wide"},
			[]string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR", "hello", "0/1", "hello:1", "app=hello"}, ""},
		{"get pods in all namespaces", []string{"get", "pods", "-A"}, nil, "No resources found"},
		{"scale", []string{"scale", "deploy", "hello", "--replicas=3"}, []string{"deployment.apps/hello scaled"}, ""},
		{"replicas", []string{"get", "deploy", "hello", "-o", "jsonpath={.spec.replicas}"}, []string{"3"}, ""},
		// kubectl scale took spec.replicas: taking it back is a conflict unless forced.
		{"server-side apply", []string{"apply", "--server-side", "--force-conflicts", "-f", manifest}, []string{"deployment.apps/hello serverside-applied"}, ""},
		{"replicas applied", []string{"get", "deploy", "hello", "-o", "jsonpath={.spec.replicas}"}, []string{"1"}, ""},
		{"describe", []string{"describe", "deploy", "hello"}, []string{"Name:", "hello", "Replicas:", "1 desired"}, ""},
		{"label", []string{"label", "deploy", "hello", "tier=web"}, []string{"deployment.apps/hello labeled"}, ""},
		{"selector", []string{"get", "deploy", "-l", "tier=web", "-o", "name"}, []string{"deployment.apps/hello"}, ""},
		{"get all", []string{"get", "all"}, []string{"deployment.apps/hello"}, ""},
		{"patch", []string{"patch", "deploy", "hello", "-p", `{"spec":{"replicas":2}}`}, []string{"deployment.apps/hello patched"}, ""},
		{"json patch", []string{"patch", "deploy", "hello", "--type=json", "-p", `[{"op":"replace","path":"/spec/replicas","value":4}]`}, []string{"deployment.apps/hello patched"}, ""},
		{"get yaml", []string{"get", "deploy", "hello", "-o", "yaml"}, []string{"resourceVersion:", "replicas: 4"}, ""},
		{"expose", []string{"expose", "deploy", "hello", "--port=80", "--type=NodePort"}, []string{"service/hello exposed"}, ""},
		{"get svc", []string{"get", "svc"}, []string{"NAME", "TYPE", "CLUSTER-IP", "hello", "NodePort", "10.43.", "80:3"}, ""},
		{"delete", []string{"delete", "deploy", "hello"}, []string{`deployment.apps "hello" deleted`}, ""},
		{"gone", []string{"get", "deploy"}, nil, "No resources found in default namespace."},
		// kubectl's typed clients send protobuf.
		{"create namespace", []string{"create", "namespace", "team"}, []string{"namespace/team created"}, ""},
		{"create deployment", []string{"create", "deployment", "made", "--image=made:1", "--replicas=2", "--port=8080", "-n", "team"},
			[]string{"deployment.apps/made created"}, ""},
		{"created deployment", []string{"get", "deploy", "made", "-n", "team", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}"},
			[]string{"2 made:1 8080"}, ""},
		{"create service", []string{"create", "service", "nodeport", "made", "--tcp=80:8080", "-n", "team"}, []string{"service/made created"}, ""},
		{"created service", []string{"get", "svc", "made", "-n", "team", "-o", "jsonpath={.spec.type} {.spec.ports[0].targetPort}"}, []string{"NodePort 8080"}, ""},
		// wasmkube has no authorization: the self reviews say every user may do everything.
		{"auth can-i", []string{"auth", "can-i", "delete", "deployments", "-n", "team"}, []string{"yes"}, ""},
		{"auth can-i --list", []string{"auth", "can-i", "--list"}, []string{"Resources", "*.*", "[*]"}, ""},
		{"auth whoami", []string{"auth", "whoami"}, []string{"Username", "admin", "Groups", "system:authenticated"}, ""},
		{"create job", []string{"create", "job", "once", "--image=once:1", "-n", "team"}, []string{"job.batch/once created"}, ""},
		{"created job", []string{"get", "job", "once", "-n", "team", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.restartPolicy}"},
			[]string{"once:1 Never"}, ""},
		// Priority admission copies the class's preemptionPolicy into its pods.
		{"create priorityclass", []string{"create", "priorityclass", "batch-low", "--value=10", "--preemption-policy=Never", "--description=batch"},
			[]string{"priorityclass.scheduling.k8s.io/batch-low created"}, ""},
		{"get priorityclass", []string{"get", "pc", "batch-low"}, []string{"NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY",
			"batch-low", "10", "false", "Never"}, ""},
		{"pod of the class", []string{"apply", "-f", lowPod}, []string{"pod/low created"}, ""},
		{"pod's priority", []string{"get", "pod", "low", "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}"}, []string{"10 Never"}, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			stdout, stderr := run(t, false, s.args...)
			rest := stdout
			for _, want := range s.stdout {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", want, stdout)
				}
				rest = rest[i+len(want):]
			}
			if s.stderr == "" && stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			if !strings.Contains(stderr, s.stderr) {
				t.Errorf("stderr lacks %q: %s", s.stderr, stderr)
			}
		})
	}
	t.Run("pod stating another preemptionPolicy", func(t *testing.T) {
		_, stderr := run(t, true, "apply", "-f", stated)
		want := `pods "stated" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name`
		if !strings.Contains(stderr, want) {
			t.Fatalf("stderr %q lacks %q", stderr, want)
		}
	})
	t.Run("preemptionPolicy is immutable", func(t *testing.T) {
		_, stderr := run(t, true, "patch", "pc", "batch-low", "-p", `{"preemptionPolicy":"PreemptLowerPriority"}`)
		if want := `preemptionPolicy: Invalid value: "PreemptLowerPriority": field is immutable`; !strings.Contains(stderr, want) {
			t.Fatalf("stderr %q lacks %q", stderr, want)
		}
	})
}

// TestKubectlWatch runs kubectl get -w and sees a pod appear as a new row.
func TestKubectlWatch(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	e := start(t)
	e.createPod("first", nil)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", e.api.Kubeconfig(t), "get", "pods", "-w")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for line := range lines {
		if strings.HasPrefix(line, "first ") {
			// kubectl has listed; the next pod comes through its watch.
			e.createPod("watched", nil)
		}
		if strings.HasPrefix(line, "watched ") && strings.Contains(line, "Pending") {
			return
		}
	}
	t.Fatalf("kubectl get -w ended without a row for the pod; stderr: %s", stderr.String())
}
