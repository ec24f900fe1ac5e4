// Package policy owns wasmkube's CEL environments: it compiles policy expressions once,
// type-checks them against the API's own types, bounds their cost, and evaluates them against
// prepared inputs (a pod or node is wrapped once; each field is converted the first time a
// policy reads it and kept). SchedulingEnv serves SchedulingPolicy filters and scores. An
// admission environment (ValidatingAdmissionPolicy's object, oldObject and request) will sit
// beside it, sharing what env.go and schema.go hold: Config, CompileError, ErrCostLimit, the
// cost estimator and the Go-to-CEL schema. The package does not decide which pods a policy
// applies to (podSelector), how scores are weighed, or how a failure is reported: that belongs
// to the scheduler and the API server.
//
// # Scheduling variables
//
//	Variable        CEL type              What it is
//	pod             api.Pod               the pod being scheduled, as the API serves it
//	node            scheduling.Node       a candidate node: every field of api.Node, plus requested
//	node.requested  scheduling.Requested  what the pods already placed on the node request:
//	                                      cpu (int, millicores), memory (int, bytes), pods (int)
//
// A filter is a bool expression, a score an int, uint or double expression:
//
//	filter: has(pod.metadata.labels.zone) ? node.metadata.labels.zone == pod.metadata.labels.zone : true
//	score:  double(node.status.allocatable.memory - node.requested.memory) / 1e9
//
// # How API objects look in CEL
//
// Field names are the JSON names, and every object has a type (listed below), so a misspelt
// field, `pod.metadata.lables`, is a compile error and not a silent false. The types are
// derived by reflection from the Go API structs and their json tags (schema.go says how), so a
// field added to the API is visible in policies without a change here; a Go type with no CEL
// mapping fails NewSchedulingEnv, and TestDocTypes fails until this table is regenerated.
//
// Quantities are ints. In a resource list (node.status.allocatable, node.status.capacity, a
// container's resources.requests and resources.limits) cpu is in millicores, memory in bytes,
// and pods a count: `node.status.allocatable.cpu` is 4000 for "4" and
// `node.status.allocatable.memory` is 8589934592 for "8Gi". A resource list has exactly the
// fields cpu, memory and pods; a resource missing from the list reads as 0. Any other
// quantity (emptyDir's sizeLimit) is an int in whole units, rounded up.
//
// An unset field reads as its type's zero value ("", 0, false, an empty list or map, an object
// whose fields are all unset, the Unix epoch for a timestamp), as in proto3; has() tells unset
// from zero. A field is set when it is non-zero: a non-empty string, list or map, a non-nil
// pointer, a struct that is not the Go zero value. Timestamps are CEL timestamps; an
// IntOrString (a probe's port) is dyn, an int or a string.
//
// Labels, annotations and nodeSelector are map(string, string). has(pod.metadata.labels.zone)
// and 'zone' in pod.metadata.labels test for a key; reading a missing key,
// node.metadata.labels.zone on a node without the label, is an evaluation error, which the
// scheduler treats as the node not passing. Write node.metadata.labels.?zone.orValue("") to
// read a key that may be absent.
//
// ObjectMeta's managedFields is not visible: it is server-side apply bookkeeping.
//
// # Cost
//
// Compile estimates the worst-case cost of one evaluation over every object the API can store
// and refuses an expression over Config.EstimatedCostLimit (10,000,000 cost units by default;
// about one unit per operation, string and collection operations by size). The estimate
// assumes no string, list or map is larger than a stored object (Config.MaxObjectBytes,
// 1.5 MiB), or larger than api.Validate allows where that is tighter (the Bound column below).
// Testing a key (has(), in) is cheap; a scan over a map or list is charged for the largest one
// a stored object could hold: one scan over a pod's containers (~1,900,000 for a resource
// check per container) or labels (~1,600,000) is accepted, a scan nested in another is not.
// The examples above are estimated at 19 and 10.
//
// At run time an evaluation stops with ErrCostLimit past Config.CostLimit (1,000,000 by
// default). Expressions without a comprehension whose estimate is within CostLimit are
// evaluated without cel's cost tracker, which could not stop them anyway, at half the time.
//
// # Types
//
// Generated from the Go API types by TestDocTypes (go test ./policy -run TestDocTypes -update);
// Bound is what the cost estimator assumes under the default Config, "-" meaning the
// object-size bound.
//
//	--- types ---
//	api.Pod
//	  kind        string          -
//	  apiVersion  string          -
//	  metadata    api.ObjectMeta
//	  spec        api.PodSpec
//	  status      api.PodStatus
//
//	api.ObjectMeta
//	  name                        string                    <= 253 bytes
//	  generateName                string                    <= 253 bytes
//	  namespace                   string                    <= 63 bytes
//	  uid                         string                    -
//	  resourceVersion             string                    -
//	  generation                  int
//	  creationTimestamp           timestamp
//	  deletionTimestamp           timestamp
//	  deletionGracePeriodSeconds  int
//	  labels                      map(string, string)       <= 262144 entries, keys <= 317 bytes, values <= 63 bytes
//	  annotations                 map(string, string)       <= 262144 entries, keys <= 317 bytes, values <= 262144 bytes
//	  ownerReferences             list(api.OwnerReference)  <= 32768 items
//	  finalizers                  list(string)              <= 524288 items
//	  selfLink                    string                    -
//
//	api.OwnerReference
//	  apiVersion          string  -
//	  kind                string  -
//	  name                string  -
//	  uid                 string  -
//	  controller          bool
//	  blockOwnerDeletion  bool
//
//	api.PodSpec
//	  containers                     list(api.Container)                 <= 120989 items
//	  volumes                        list(api.Volume)                    <= 120989 items
//	  restartPolicy                  string                              -
//	  terminationGracePeriodSeconds  int
//	  activeDeadlineSeconds          int
//	  nodeSelector                   map(string, string)                 <= 262144 entries
//	  nodeName                       string                              <= 253 bytes
//	  schedulerName                  string                              -
//	  hostname                       string                              -
//	  dnsPolicy                      string                              -
//	  tolerations                    list(api.Toleration)                <= 524288 items
//	  affinity                       api.Affinity
//	  topologySpreadConstraints      list(api.TopologySpreadConstraint)  <= 28597 items
//	  priorityClassName              string                              -
//	  priority                       int
//	  preemptionPolicy               string                              -
//
//	api.Container
//	  name             string                    <= 63 bytes
//	  image            string                    -
//	  command          list(string)              <= 524288 items
//	  args             list(string)              <= 524288 items
//	  workingDir       string                    -
//	  ports            list(api.ContainerPort)   <= 74898 items
//	  env              list(api.EnvVar)          <= 120989 items
//	  envFrom          list(api.EnvFromSource)   <= 524288 items
//	  resources        api.ResourceRequirements
//	  volumeMounts     list(api.VolumeMount)     <= 56173 items
//	  livenessProbe    api.Probe
//	  readinessProbe   api.Probe
//	  startupProbe     api.Probe
//	  imagePullPolicy  string                    -
//
//	api.ContainerPort
//	  name           string  -
//	  containerPort  int
//	  protocol       string  -
//
//	api.EnvVar
//	  name       string            -
//	  value      string            -
//	  valueFrom  api.EnvVarSource
//
//	api.EnvVarSource
//	  fieldRef         api.ObjectFieldSelector
//	  configMapKeyRef  api.ConfigMapKeySelector
//	  secretKeyRef     api.SecretKeySelector
//
//	api.ObjectFieldSelector
//	  apiVersion  string  -
//	  fieldPath   string  -
//
//	api.ConfigMapKeySelector
//	  name      string  -
//	  key       string  -
//	  optional  bool
//
//	api.SecretKeySelector
//	  name      string  -
//	  key       string  -
//	  optional  bool
//
//	api.EnvFromSource
//	  prefix        string                  -
//	  configMapRef  api.ConfigMapEnvSource
//	  secretRef     api.SecretEnvSource
//
//	api.ConfigMapEnvSource
//	  name      string  -
//	  optional  bool
//
//	api.SecretEnvSource
//	  name      string  -
//	  optional  bool
//
//	api.ResourceRequirements
//	  limits    api.ResourceList
//	  requests  api.ResourceList
//
//	api.ResourceList
//	  cpu     int
//	  memory  int
//	  pods    int
//
//	api.VolumeMount
//	  name       string  -
//	  mountPath  string  -
//	  readOnly   bool
//
//	api.Probe
//	  httpGet              api.HTTPGetAction
//	  initialDelaySeconds  int
//	  timeoutSeconds       int
//	  periodSeconds        int
//	  successThreshold     int
//	  failureThreshold     int
//
//	api.HTTPGetAction
//	  path         string                -
//	  port         dyn                   -
//	  scheme       string                -
//	  httpHeaders  list(api.HTTPHeader)  <= 65536 items
//
//	api.HTTPHeader
//	  name   string  -
//	  value  string  -
//
//	api.Volume
//	  name       string                     -
//	  emptyDir   api.EmptyDirVolumeSource
//	  configMap  api.ConfigMapVolumeSource
//	  secret     api.SecretVolumeSource
//
//	api.EmptyDirVolumeSource
//	  medium     string  -
//	  sizeLimit  int
//
//	api.ConfigMapVolumeSource
//	  name         string               -
//	  items        list(api.KeyToPath)  <= 71493 items
//	  defaultMode  int
//	  optional     bool
//
//	api.KeyToPath
//	  key   string  -
//	  path  string  -
//	  mode  int
//
//	api.SecretVolumeSource
//	  secretName   string               -
//	  items        list(api.KeyToPath)  <= 71493 items
//	  defaultMode  int
//	  optional     bool
//
//	api.Toleration
//	  key                string  -
//	  operator           string  -
//	  value              string  -
//	  effect             string  -
//	  tolerationSeconds  int
//
//	api.Affinity
//	  nodeAffinity     api.NodeAffinity
//	  podAffinity      api.PodAffinity
//	  podAntiAffinity  api.PodAntiAffinity
//
//	api.NodeAffinity
//	  requiredDuringSchedulingIgnoredDuringExecution   api.NodeSelector
//	  preferredDuringSchedulingIgnoredDuringExecution  list(api.PreferredSchedulingTerm)  <= 52428 items
//
//	api.NodeSelector
//	  nodeSelectorTerms  list(api.NodeSelectorTerm)  <= 524288 items
//
//	api.NodeSelectorTerm
//	  matchExpressions  list(api.NodeSelectorRequirement)  <= 60494 items
//	  matchFields       list(api.NodeSelectorRequirement)  <= 60494 items
//
//	api.NodeSelectorRequirement
//	  key       string        -
//	  operator  string        -
//	  values    list(string)  <= 524288 items
//
//	api.PreferredSchedulingTerm
//	  weight      int
//	  preference  api.NodeSelectorTerm
//
//	api.PodAffinity
//	  requiredDuringSchedulingIgnoredDuringExecution   list(api.PodAffinityTerm)          <= 78643 items
//	  preferredDuringSchedulingIgnoredDuringExecution  list(api.WeightedPodAffinityTerm)  <= 30247 items
//
//	api.PodAffinityTerm
//	  labelSelector  api.LabelSelector
//	  namespaces     list(string)       <= 524288 items
//	  topologyKey    string             -
//
//	api.LabelSelector
//	  matchLabels       map(string, string)                 <= 262144 entries
//	  matchExpressions  list(api.LabelSelectorRequirement)  <= 60494 items
//
//	api.LabelSelectorRequirement
//	  key       string        -
//	  operator  string        -
//	  values    list(string)  <= 524288 items
//
//	api.WeightedPodAffinityTerm
//	  weight           int
//	  podAffinityTerm  api.PodAffinityTerm
//
//	api.PodAntiAffinity
//	  requiredDuringSchedulingIgnoredDuringExecution   list(api.PodAffinityTerm)          <= 78643 items
//	  preferredDuringSchedulingIgnoredDuringExecution  list(api.WeightedPodAffinityTerm)  <= 30247 items
//
//	api.TopologySpreadConstraint
//	  maxSkew            int
//	  topologyKey        string             -
//	  whenUnsatisfiable  string             -
//	  labelSelector      api.LabelSelector
//
//	api.PodStatus
//	  phase              string                     -
//	  conditions         list(api.PodCondition)     <= 62914 items
//	  message            string                     -
//	  reason             string                     -
//	  nominatedNodeName  string                     -
//	  hostIP             string                     -
//	  podIP              string                     -
//	  podIPs             list(api.PodIP)            <= 142987 items
//	  startTime          timestamp
//	  containerStatuses  list(api.ContainerStatus)  <= 23475 items
//	  qosClass           string                     -
//
//	api.PodCondition
//	  type                string     -
//	  status              string     -
//	  lastProbeTime       timestamp
//	  lastTransitionTime  timestamp
//	  reason              string     -
//	  message             string     -
//
//	api.PodIP
//	  ip  string  -
//
//	api.ContainerStatus
//	  name          string              -
//	  state         api.ContainerState
//	  lastState     api.ContainerState
//	  ready         bool
//	  restartCount  int
//	  image         string              -
//	  imageID       string              -
//	  containerID   string              -
//	  started       bool
//
//	api.ContainerState
//	  waiting     api.ContainerStateWaiting
//	  running     api.ContainerStateRunning
//	  terminated  api.ContainerStateTerminated
//
//	api.ContainerStateWaiting
//	  reason   string  -
//	  message  string  -
//
//	api.ContainerStateRunning
//	  startedAt  timestamp
//
//	api.ContainerStateTerminated
//	  exitCode     int
//	  signal       int
//	  reason       string     -
//	  message      string     -
//	  startedAt    timestamp
//	  finishedAt   timestamp
//	  containerID  string     -
//
//	scheduling.Node
//	  kind        string                -
//	  apiVersion  string                -
//	  metadata    api.ObjectMeta
//	  spec        api.NodeSpec
//	  status      api.NodeStatus
//	  requested   scheduling.Requested
//
//	api.NodeSpec
//	  unschedulable  bool
//	  taints         list(api.Taint)  <= 65536 items
//
//	api.Taint
//	  key        string     -
//	  value      string     -
//	  effect     string     -
//	  timeAdded  timestamp
//
//	api.NodeStatus
//	  capacity         api.ResourceList
//	  allocatable      api.ResourceList
//	  conditions       list(api.NodeCondition)  <= 62914 items
//	  addresses        list(api.NodeAddress)    <= 60494 items
//	  nodeInfo         api.NodeSystemInfo
//	  daemonEndpoints  api.NodeDaemonEndpoints
//
//	api.NodeCondition
//	  type                string     -
//	  status              string     -
//	  lastHeartbeatTime   timestamp
//	  lastTransitionTime  timestamp
//	  reason              string     -
//	  message             string     -
//
//	api.NodeAddress
//	  type     string  -
//	  address  string  -
//
//	api.NodeSystemInfo
//	  machineID                string  -
//	  kernelVersion            string  -
//	  osImage                  string  -
//	  containerRuntimeVersion  string  -
//	  kubeletVersion           string  -
//	  operatingSystem          string  -
//	  architecture             string  -
//
//	api.NodeDaemonEndpoints
//	  kubeletEndpoint  api.DaemonEndpoint
//
//	api.DaemonEndpoint
//	  Port  int
//
//	scheduling.Requested
//	  cpu     int
//	  memory  int
//	  pods    int
//
//	--- end types ---
package policy
