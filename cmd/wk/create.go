package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
	"github.com/wasmkube/wasmkube/control/client"
)

func newCreateCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create (deployment | namespace | configmap | secret) NAME",
		Short: "Create a resource from the command line",
		Long:  "Create a deployment, a namespace, a config map or a secret from flags, in the shape kubectl creates them. Use apply for manifests.",
	}
	dep := &cobra.Command{
		Use:     "deployment NAME --image=MODULE [--replicas=N] [--port=PORT]",
		Aliases: []string{"deploy"},
		Short:   "Create a deployment with the given name",
		Long: `Create a deployment with the given name, as kubectl does: the deployment, its selector and its
pod template carry the label app=NAME, and each --image becomes a container named after the
module.`,
		Example: `  wk create deployment hello --image=hello:v1 --replicas=2 --port=8080
  wk create deployment hello --image=hello:v1 --dry-run=client -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: clientAction(s, runCreateDeployment),
	}
	df := dep.Flags()
	df.StringSlice("image", nil, "the module(s) to run; one container per image (required)")
	df.Int32("replicas", 1, "number of replicas")
	df.Int32("port", -1, "the containerPort the first container serves on")
	addCreateOutputFlags(dep)

	ns := &cobra.Command{
		Use:     "namespace NAME",
		Aliases: []string{"ns"},
		Short:   "Create a namespace with the given name",
		Args:    cobra.ExactArgs(1),
		RunE:    clientAction(s, runCreateNamespace),
	}
	addCreateOutputFlags(ns)
	cmd.AddCommand(dep, ns, newCreateConfigMapCmd(s), newCreateSecretCmd(s))
	return cmd
}

func addCreateOutputFlags(cmd *cobra.Command) {
	cmd.Flags().StringP("output", "o", "", "output format: yaml, json or name")
	cmd.Flags().String("dry-run", "none", `"none", "client" (print the object without sending it) or "server" (the server checks it but stores nothing)`)
	cmd.Flags().String("field-manager", "wk-create", "the name of the manager that owns the created fields")
}

// containerName derives a container name from a module reference as kubectl does from an
// image (the last path element without tag or digest), then drops a .wasm suffix and makes
// the rest a DNS label.
func containerName(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	name, _, _ = strings.Cut(name, "@")
	name, _, _ = strings.Cut(name, ":")
	name = strings.TrimSuffix(strings.ToLower(name), ".wasm")
	name = invalidLabelChars.ReplaceAllString(name, "-")
	name = strings.Trim(name, "-")
	if len(name) > 63 {
		name = strings.Trim(name[:63], "-")
	}
	if name == "" {
		name = "app"
	}
	return name
}

var invalidLabelChars = regexp.MustCompile(`[^a-z0-9-]+`)

// createObject sends obj (or prints it with --dry-run=client) and prints the result: the
// object with -o yaml|json, else "kind/name VERB".
func createObject(ctx context.Context, sess *session, ri *api.ResourceInfo, ns string, obj api.Object, verb string) error {
	v := sess.v
	output := v.GetString("output")
	switch output {
	case "", "yaml", "json", "name":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,yaml", output)
	}
	dry := v.GetString("dry-run")
	switch dry {
	case "none", "client", "server":
	default:
		return fmt.Errorf(`invalid dry-run value (%s). Must be "none", "server", or "client"`, dry)
	}
	obj.GetTypeMeta().Kind, obj.GetTypeMeta().APIVersion = ri.Kind, ri.GroupVersion()
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %s: %w", ri.Singular, err)
	}
	name := obj.GetObjectMeta().Name
	if dry != "client" {
		if err := sess.connect(); err != nil {
			return err
		}
		q := map[string][]string{"fieldManager": {v.GetString("field-manager")}}
		if dry == "server" {
			q["dryRun"] = []string{"All"}
		}
		resp, err := sess.c.Do(ctx, client.Request{Method: http.MethodPost, Path: collectionPath(ri, ns), Body: body, Query: q})
		if err != nil {
			return err
		}
		body = resp.Body
	}
	suffix := ""
	switch dry {
	case "client":
		suffix = " (dry run)"
	case "server":
		suffix = " (server dry run)"
	}
	switch output {
	case "yaml", "json":
		return printObjects(sess.s.out, output, []json.RawMessage{body}, false, false)
	case "name":
		_, err = fmt.Fprintf(sess.s.out, "%s/%s\n", kindName(ri), name)
	default:
		_, err = fmt.Fprintf(sess.s.out, "%s/%s %s%s\n", kindName(ri), name, verb, suffix)
	}
	return err
}

// builtin finds a built-in resource by plural name; it needs no discovery.
func builtin(resource string) *api.ResourceInfo {
	for _, ri := range api.Resources() {
		if ri.Resource == resource {
			return &ri
		}
	}
	panic("wk: unknown built-in resource " + resource)
}

// namespaceOf settles the namespace of a create: -n, else the kubeconfig's, else default. A
// --dry-run=client object gets only an explicit -n, as kubectl prints it.
func namespaceOf(sess *session) string {
	if ns := sess.v.GetString("namespace"); ns != "" || sess.v.GetString("dry-run") == "client" {
		return ns
	}
	if err := sess.connect(); err == nil {
		return sess.ns
	}
	return api.NamespaceDefault
}

func runCreateDeployment(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	name := args[0]
	images := v.GetStringSlice("image")
	if len(images) == 0 {
		return errors.New("required flag(s) \"image\" not set")
	}
	replicas := int32(v.GetInt("replicas"))
	lbl := map[string]string{"app": name}
	var containers []api.Container
	seen := map[string]int{}
	for _, img := range images {
		cn := containerName(img)
		if n := seen[cn]; n > 0 {
			seen[cn]++
			cn = fmt.Sprintf("%s-%d", cn, n+1)
		} else {
			seen[cn] = 1
		}
		containers = append(containers, api.Container{Name: cn, Image: img})
	}
	if port := v.GetInt("port"); port >= 0 {
		containers[0].Ports = []api.ContainerPort{{ContainerPort: int32(port)}}
	}
	ns := namespaceOf(sess)
	dep := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
		Spec: api.DeploymentSpec{
			Replicas: &replicas,
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       api.PodSpec{Containers: containers},
			},
		},
	}
	return createObject(ctx, sess, builtin("deployments"), ns, dep, "created")
}

func runCreateNamespace(ctx context.Context, sess *session, args []string) error {
	return createObject(ctx, sess, builtin("namespaces"), "", &api.Namespace{ObjectMeta: api.ObjectMeta{Name: args[0]}}, "created")
}

func newRunCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run NAME --image=MODULE [--port=PORT] [--labels=k=v,...] [--env=K=V] [--restart=Always|OnFailure|Never] [-- ARG...]",
		Short: "Run a particular module in a pod",
		Long: `Create a bare pod running one module, labelled run=NAME (or with --labels). Arguments after
"--" become the container's args, or its command with --command.`,
		Example: `  wk run hello --image=hello:v1 --port=8080
  wk run job --image=file:///tmp/job.wasm --restart=Never -- --count=3`,
		Args: cobra.MinimumNArgs(1),
		RunE: clientAction(s, runRun),
	}
	f := cmd.Flags()
	f.String("image", "", "the module to run (required)")
	f.Int32("port", -1, "the port the container serves on")
	f.StringP("labels", "l", "", "comma separated labels for the pod (default run=NAME)")
	f.StringArray("env", nil, "environment variables to set in the container, K=V")
	f.String("restart", "Always", "the restart policy: Always, OnFailure or Never")
	f.Bool("command", false, "use the arguments after -- as the command instead of the args")
	addCreateOutputFlags(cmd)
	return cmd
}

func runRun(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	name := args[0]
	image := v.GetString("image")
	if image == "" {
		return errors.New("required flag(s) \"image\" not set")
	}
	if errs := labels.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("invalid pod name %q: %s", name, strings.Join(errs, "; "))
	}
	restart := v.GetString("restart")
	switch restart {
	case api.RestartAlways, api.RestartOnFailure, api.RestartNever:
	default:
		return fmt.Errorf("invalid restart policy: %s", restart)
	}
	lbl := map[string]string{"run": name}
	if s := v.GetString("labels"); s != "" {
		lbl = map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("invalid label spec: %s", kv)
			}
			lbl[k] = val
		}
	}
	c := api.Container{Name: name, Image: image}
	if port := v.GetInt("port"); port >= 0 {
		c.Ports = []api.ContainerPort{{ContainerPort: int32(port)}}
	}
	for _, kv := range v.GetStringSlice("env") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid env: %s", kv)
		}
		c.Env = append(c.Env, api.EnvVar{Name: k, Value: val})
	}
	if rest := args[1:]; len(rest) > 0 {
		if v.GetBool("command") {
			c.Command = rest
		} else {
			c.Args = rest
		}
	}
	ns := namespaceOf(sess)
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
		Spec:       api.PodSpec{Containers: []api.Container{c}, RestartPolicy: restart},
	}
	return createObject(ctx, sess, builtin("pods"), ns, pod, "created")
}

func newExposeCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "expose (deployment | replicaset | pod | service) NAME [--port=PORT] [--target-port=PORT] [--type=TYPE] [--name=NAME]",
		Short: "Expose a deployment, replica set, pod or service as a new service",
		Long: `Expose a workload as a new service: its selector is the workload's selector (or a pod's
labels), its ports are --port or, without it, the ports the workload's containers declare.`,
		Example: `  wk expose deployment hello --port=80 --target-port=8080 --type=NodePort`,
		Args:    cobra.RangeArgs(1, 2),
		RunE:    clientAction(s, runExpose),
	}
	f := cmd.Flags()
	f.String("port", "", "the port the service serves on (default: the workload's container ports)")
	f.String("target-port", "", "the container port (number or name) traffic is sent to (default: the pod template's container port when it declares exactly one, else --port)")
	f.String("type", "", "the service type: ClusterIP (default), NodePort or LoadBalancer")
	f.String("name", "", "the name of the new service (default: the exposed object's)")
	f.String("protocol", "", "the protocol of the port (default TCP)")
	f.StringP("labels", "l", "", "labels for the service (default: the exposed object's)")
	f.String("selector", "", "a key=value,... selector for the service instead of the object's")
	addCreateOutputFlags(cmd)
	return cmd
}

func runExpose(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	if err := sess.connect(); err != nil {
		return err
	}
	reqs, err := parseTypeArgs(ctx, sess, args)
	if err != nil {
		return err
	}
	if len(reqs) != 1 || len(reqs[0].names) != 1 {
		return errors.New("expose needs exactly one resource: TYPE NAME or TYPE/NAME")
	}
	ri, name := reqs[0].ri, reqs[0].names[0]
	raw, err := client.Dynamic(sess.c, ri, sess.ns).Get(ctx, name)
	if err != nil {
		return err
	}
	var selector, objLabels map[string]string
	var ports []api.ContainerPort
	var svcPorts []api.ServicePort
	switch ri.GroupKind() {
	case api.GroupKind{Group: "apps", Kind: "Deployment"}, api.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		var w struct {
			Metadata api.ObjectMeta `json:"metadata"`
			Spec     struct {
				Selector *api.LabelSelector  `json:"selector"`
				Template api.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("decode %s %s: %w", ri.Singular, name, err)
		}
		if w.Spec.Selector == nil || len(w.Spec.Selector.MatchExpressions) > 0 {
			return errors.New("couldn't retrieve selectors via --selector flag or introspection: the selector has match expressions, which a service selector cannot express")
		}
		selector, objLabels = w.Spec.Selector.MatchLabels, w.Metadata.Labels
		for _, c := range w.Spec.Template.Spec.Containers {
			ports = append(ports, c.Ports...)
		}
	case api.GroupKind{Kind: "Pod"}:
		var p api.Pod
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("decode pod %s: %w", name, err)
		}
		selector, objLabels = p.Labels, p.Labels
		for _, c := range p.Spec.Containers {
			ports = append(ports, c.Ports...)
		}
	case api.GroupKind{Kind: "Service"}:
		var s api.Service
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("decode service %s: %w", name, err)
		}
		selector, objLabels = s.Spec.Selector, s.Labels
		svcPorts = s.Spec.Ports
	default:
		return fmt.Errorf("cannot expose a %s", ri.Kind)
	}
	if s := v.GetString("selector"); s != "" {
		selector = map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("invalid selector %q: expected key=value pairs", s)
			}
			selector[k] = val
		}
	}
	if len(selector) == 0 {
		return errors.New("couldn't retrieve selectors via --selector flag or introspection")
	}
	if s := v.GetString("labels"); s != "" {
		objLabels = map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("invalid label spec: %s", kv)
			}
			objLabels[k] = val
		}
	}
	protocol := v.GetString("protocol")
	target := v.GetString("target-port")
	var out []api.ServicePort
	if p := v.GetString("port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid port %q: must be a number between 1 and 65535", p)
		}
		out = []api.ServicePort{{Port: int32(n), Protocol: protocol}}
		// A Wasm module binds no socket: it serves the ports its container declares. With
		// one declared port, --port alone reaches it (kubectl would send to --port itself,
		// where nothing serves).
		if target == "" && len(ports) == 1 {
			out[0].TargetPort = api.FromInt(ports[0].ContainerPort)
		}
	} else {
		for _, cp := range ports {
			proto := protocol
			if proto == "" {
				proto = cp.Protocol
			}
			out = append(out, api.ServicePort{Port: cp.ContainerPort, Protocol: proto})
		}
		for _, sp := range svcPorts {
			out = append(out, api.ServicePort{Port: sp.Port, Protocol: sp.Protocol, TargetPort: sp.TargetPort})
		}
		if len(out) == 0 {
			return errors.New("couldn't find port via --port flag or introspection")
		}
	}
	for i := range out {
		if len(out) > 1 {
			out[i].Name = fmt.Sprintf("port-%d", i+1)
		}
		switch {
		case target != "":
			if n, err := strconv.Atoi(target); err == nil {
				out[i].TargetPort = api.FromInt(int32(n))
			} else {
				out[i].TargetPort = api.FromString(target)
			}
		case out[i].TargetPort.IsZero():
			out[i].TargetPort = api.FromInt(out[i].Port)
		}
	}
	svcName := v.GetString("name")
	if svcName == "" {
		svcName = name
	}
	svc := &api.Service{
		ObjectMeta: api.ObjectMeta{Name: svcName, Namespace: sess.ns, Labels: objLabels},
		Spec:       api.ServiceSpec{Selector: selector, Ports: out, Type: v.GetString("type")},
	}
	switch svc.Spec.Type {
	case "", api.ServiceClusterIP, api.ServiceNodePort, api.ServiceLoadBalancer:
	default:
		return fmt.Errorf("invalid service type %q: wasmkube supports ClusterIP, NodePort and LoadBalancer", svc.Spec.Type)
	}
	return createObject(ctx, sess, builtin("services"), sess.ns, svc, "exposed")
}
