package clustertest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kubectls returns the kubectl binaries tests drive, by version: "path" (the kubectl on
// PATH) and "1.27" and "1.33" when installed beside the file it links to, as kubectl.1.27
// and kubectl.1.33. It skips t when there is no kubectl.
func Kubectls(t testing.TB) map[string]string {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	out := map[string]string{"path": kubectl}
	real, err := filepath.EvalSymlinks(kubectl)
	if err != nil {
		return out
	}
	for _, v := range []string{"1.27", "1.33"} {
		p := filepath.Join(filepath.Dir(real), "kubectl."+v)
		if _, err := os.Stat(p); err == nil {
			out[v] = p
		}
	}
	return out
}

// Kubectl runs one kubectl binary against a cluster, in a namespace, with a HOME (and so a
// discovery cache) of its own.
type Kubectl struct {
	Bin, Kubeconfig, Namespace, Home string
}

// Run runs kubectl with args (at most a minute) and returns its stdout and stderr.
func (k Kubectl) Run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	full := []string{"--kubeconfig", k.Kubeconfig}
	if k.Namespace != "" {
		full = append(full, "-n", k.Namespace)
	}
	cmd := exec.CommandContext(ctx, k.Bin, append(full, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+k.Home, "KUBECACHEDIR="+filepath.Join(k.Home, "cache"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// Must runs kubectl with args and returns its stdout, failing t if it fails.
func (k Kubectl) Must(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	out, errOut, err := k.Run(ctx, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}
