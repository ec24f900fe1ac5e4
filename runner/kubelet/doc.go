// Package kubelet owns the real runner's node agent, the kubelet of wasmkube: it registers its
// Node and renews its Lease (through runner/node), watches the pods bound to it, and runs each in
// a wasm/sandbox Pod. It owns everything the sandbox leaves to it: resolving images to modules
// (file:// paths, and registry names through a ModuleSource), restart policies with exponential
// back-off, readiness and liveness probes over the pod loopback, activeDeadlineSeconds, graceful
// deletion and the final delete, the pod's status as Kubernetes words it, and the containers' logs
// on disk, which it serves as an apiserver.LogSource in process or over HTTPS to the API server.
//
// # One worker per pod
//
// Each pod bound to the node has one worker goroutine, keyed by namespace/name and tied to the
// pod's UID, that owns the pod's sandbox, its probes and its status; events (an instance's exit, a
// probe's result, a back-off timer) are posted to it and handled one at a time, so its state needs
// no lock. The status is written whenever it changes.
//
// # ConfigMaps and Secrets
//
// Containers get ConfigMaps and Secrets as the kubelet gives them: env valueFrom and envFrom
// (envFrom first, env winning; keys that are not variable names skipped with an
// InvalidEnvironmentVariableNames event), and configMap and secret volumes, read-only, held in
// memory (sandbox.Files). A missing reference that is not optional keeps the pod waiting
// (CreateContainerConfigError for env, ContainerCreating with FailedMount events for a volume) and
// it is tried again after back-off, or at once when the object appears. Each object a pod uses is
// watched on its own (fieldSelector metadata.name) while a pod of the node uses it, as the
// kubelet's watch-based manager; while the pod runs, its volumes follow their sources' changes,
// each swapped whole, and its env does not. Immutable objects are not watched once seen.
//
// # A restarted runner
//
// A runner that starts finds the pods bound to its node in the informer's first list. Their
// instances died with the previous process, so each is started again; a container the pod's
// status shows as started counts one more restart, with lastState saying why.
package kubelet
