package api

// Namespace groups namespaced objects; deleting it deletes what it holds.
type Namespace struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       NamespaceSpec   `json:"spec,omitempty"`
	Status     NamespaceStatus `json:"status,omitempty"`
}

// NamespaceSpec holds the finalizers that must run before the namespace is removed.
type NamespaceSpec struct {
	Finalizers []string `json:"finalizers,omitempty"`
}

// NamespaceStatus is Active or Terminating.
type NamespaceStatus struct {
	Phase string `json:"phase,omitempty"`
}

// Namespace phases.
const (
	NamespaceActive      = "Active"
	NamespaceTerminating = "Terminating"
	// FinalizerKubernetes is the namespace finalizer the namespace controller removes once the
	// namespace is empty.
	FinalizerKubernetes = "kubernetes"
)

// Node is a runner: a machine that runs pods of Wasm modules.
type Node struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       NodeSpec   `json:"spec,omitempty"`
	Status     NodeStatus `json:"status,omitempty"`
}

// NodeSpec is what an administrator sets on a node.
type NodeSpec struct {
	// Unschedulable (cordon) keeps new pods off the node.
	Unschedulable bool `json:"unschedulable,omitempty"`
	// Taints repel pods that do not tolerate them.
	Taints []Taint `json:"taints,omitempty"`
}

// NodeStatus is what the runner reports.
type NodeStatus struct {
	Capacity    ResourceList    `json:"capacity,omitempty"`
	Allocatable ResourceList    `json:"allocatable,omitempty"`
	Conditions  []NodeCondition `json:"conditions,omitempty"`
	Addresses   []NodeAddress   `json:"addresses,omitempty"`
	NodeInfo    NodeSystemInfo  `json:"nodeInfo,omitempty"`
	// DaemonEndpoints are the ports the node's runner serves on its address (pods' logs).
	DaemonEndpoints NodeDaemonEndpoints `json:"daemonEndpoints,omitzero"`
}

// NodeDaemonEndpoints are the endpoints a node's agent serves, as Kubernetes shapes them.
type NodeDaemonEndpoints struct {
	KubeletEndpoint DaemonEndpoint `json:"kubeletEndpoint,omitzero"`
}

// DaemonEndpoint is one port of a node's agent; Kubernetes spells its field "Port".
type DaemonEndpoint struct {
	Port int32 `json:"Port"`
}

// NodeCondition is one condition of a node; Ready is the one wasmkube sets.
type NodeCondition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	LastHeartbeatTime  Time            `json:"lastHeartbeatTime,omitzero"`
	LastTransitionTime Time            `json:"lastTransitionTime,omitzero"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
}

// NodeAddress is one address of a node (InternalIP, ExternalIP or Hostname).
type NodeAddress struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// NodeSystemInfo describes the runner software, shown by `get nodes -o wide`.
type NodeSystemInfo struct {
	MachineID               string `json:"machineID,omitempty"`
	KernelVersion           string `json:"kernelVersion,omitempty"`
	OSImage                 string `json:"osImage,omitempty"`
	ContainerRuntimeVersion string `json:"containerRuntimeVersion,omitempty"`
	KubeletVersion          string `json:"kubeletVersion,omitempty"`
	OperatingSystem         string `json:"operatingSystem,omitempty"`
	Architecture            string `json:"architecture,omitempty"`
}

// Node condition types and address types.
const (
	NodeReady          = "Ready"
	NodeInternalIP     = "InternalIP"
	NodeExternalIP     = "ExternalIP"
	NodeHostName       = "Hostname"
	LabelHostname      = "kubernetes.io/hostname"
	LabelOS            = "kubernetes.io/os"
	LabelArch          = "kubernetes.io/arch"
	LabelNodeRoleAgent = "node-role.kubernetes.io/"
)

// ResourceList maps a resource name (cpu, memory, pods) to a quantity.
type ResourceList map[string]Quantity

// Resource names wasmkube accounts for.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	ResourcePods   = "pods"
)

// Pod is a group of Wasm modules scheduled together on one node, sharing volumes and a loopback.
type Pod struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec   `json:"spec,omitempty"`
	Status     PodStatus `json:"status,omitempty"`
}

// PodSpec describes a pod's modules and how they run.
type PodSpec struct {
	Containers                    []Container       `json:"containers"`
	Volumes                       []Volume          `json:"volumes,omitempty"`
	RestartPolicy                 string            `json:"restartPolicy,omitempty"`
	TerminationGracePeriodSeconds *int64            `json:"terminationGracePeriodSeconds,omitempty"`
	ActiveDeadlineSeconds         *int64            `json:"activeDeadlineSeconds,omitempty"`
	NodeSelector                  map[string]string `json:"nodeSelector,omitempty"`
	NodeName                      string            `json:"nodeName,omitempty"`
	SchedulerName                 string            `json:"schedulerName,omitempty"`
	Hostname                      string            `json:"hostname,omitempty"`
	// DNSPolicy is accepted for Kubernetes compatibility (kubectl run sends it). wasmkube
	// implements ClusterFirst only: a guest's host names resolve to the cluster's Services
	// first, through the host.
	DNSPolicy string `json:"dnsPolicy,omitempty"`
	// Tolerations let the pod onto nodes with matching taints.
	Tolerations []Toleration `json:"tolerations,omitempty"`
	// Affinity holds node affinity and pod (anti-)affinity rules.
	Affinity *Affinity `json:"affinity,omitempty"`
	// TopologySpreadConstraints spread matching pods over topology domains.
	TopologySpreadConstraints []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	// PriorityClassName names a PriorityClass; the API server resolves it into Priority.
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// Priority orders pending pods (higher first); set by the API server from the class.
	Priority *int32 `json:"priority,omitempty"`
	// PreemptionPolicy says whether the pod, when it fits nowhere, may evict pods of lower
	// priority to make room (PreemptLowerPriority, the default for pods) or only waits
	// (PreemptNever).
	PreemptionPolicy *string `json:"preemptionPolicy,omitempty"`
}

// Preemption policies (PodSpec.PreemptionPolicy).
const (
	PreemptLowerPriority = "PreemptLowerPriority"
	PreemptNever         = "Never"
)

// PodPreemptionPolicy returns the pod's preemption policy (PreemptLowerPriority when unset).
func PodPreemptionPolicy(s *PodSpec) string {
	if s.PreemptionPolicy == nil || *s.PreemptionPolicy == "" {
		return PreemptLowerPriority
	}
	return *s.PreemptionPolicy
}

// DNSClusterFirst is the one DNS policy wasmkube implements.
const DNSClusterFirst = "ClusterFirst"

// Restart policies.
const (
	RestartAlways    = "Always"
	RestartOnFailure = "OnFailure"
	RestartNever     = "Never"
)

// Container is one Wasm module of a pod; Image names the module.
type Container struct {
	Name            string               `json:"name"`
	Image           string               `json:"image,omitempty"`
	Command         []string             `json:"command,omitempty"`
	Args            []string             `json:"args,omitempty"`
	WorkingDir      string               `json:"workingDir,omitempty"`
	Ports           []ContainerPort      `json:"ports,omitempty"`
	Env             []EnvVar             `json:"env,omitempty"`
	EnvFrom         []EnvFromSource      `json:"envFrom,omitempty"`
	Resources       ResourceRequirements `json:"resources,omitempty"`
	VolumeMounts    []VolumeMount        `json:"volumeMounts,omitempty"`
	LivenessProbe   *Probe               `json:"livenessProbe,omitempty"`
	ReadinessProbe  *Probe               `json:"readinessProbe,omitempty"`
	StartupProbe    *Probe               `json:"startupProbe,omitempty"`
	ImagePullPolicy string               `json:"imagePullPolicy,omitempty"`
}

// ContainerPort is a port a module serves on the pod loopback.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
}

// EnvVar is one environment variable of a module.
type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource takes a value from the pod's own fields (the downward API), or from a key of a
// ConfigMap or a Secret; exactly one is set.
type EnvVarSource struct {
	FieldRef        *ObjectFieldSelector  `json:"fieldRef,omitempty"`
	ConfigMapKeyRef *ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
	SecretKeyRef    *SecretKeySelector    `json:"secretKeyRef,omitempty"`
}

// ObjectFieldSelector names a field of the pod, such as metadata.name or spec.nodeName.
type ObjectFieldSelector struct {
	APIVersion string `json:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath"`
}

// ResourceRequirements are what a module asks for (requests, used to schedule) and may use at
// most (limits, enforced by the sandbox).
type ResourceRequirements struct {
	Limits   ResourceList `json:"limits,omitempty"`
	Requests ResourceList `json:"requests,omitempty"`
}

// VolumeMount mounts a pod volume into a module's WASI filesystem.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Volume is a pod volume: an emptyDir, or the keys of a ConfigMap or a Secret as files;
// exactly one source is set.
type Volume struct {
	Name      string                 `json:"name"`
	EmptyDir  *EmptyDirVolumeSource  `json:"emptyDir,omitempty"`
	ConfigMap *ConfigMapVolumeSource `json:"configMap,omitempty"`
	Secret    *SecretVolumeSource    `json:"secret,omitempty"`
}

// EmptyDirVolumeSource is a scratch directory that lives as long as the pod; medium Memory keeps
// it in process.
type EmptyDirVolumeSource struct {
	Medium    string    `json:"medium,omitempty"`
	SizeLimit *Quantity `json:"sizeLimit,omitempty"`
}

// Probe checks a module's health over the pod loopback.
type Probe struct {
	HTTPGet             *HTTPGetAction `json:"httpGet,omitempty"`
	InitialDelaySeconds int32          `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds      int32          `json:"timeoutSeconds,omitempty"`
	PeriodSeconds       int32          `json:"periodSeconds,omitempty"`
	SuccessThreshold    int32          `json:"successThreshold,omitempty"`
	FailureThreshold    int32          `json:"failureThreshold,omitempty"`
}

// HTTPGetAction is an HTTP GET to a port of the module.
type HTTPGetAction struct {
	Path        string       `json:"path,omitempty"`
	Port        IntOrString  `json:"port"`
	Scheme      string       `json:"scheme,omitempty"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is one header of a probe request.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PodStatus is what the runner reports about a pod.
type PodStatus struct {
	Phase             string            `json:"phase,omitempty"`
	Conditions        []PodCondition    `json:"conditions,omitempty"`
	Message           string            `json:"message,omitempty"`
	Reason            string            `json:"reason,omitempty"`
	NominatedNodeName string            `json:"nominatedNodeName,omitempty"`
	HostIP            string            `json:"hostIP,omitempty"`
	PodIP             string            `json:"podIP,omitempty"`
	PodIPs            []PodIP           `json:"podIPs,omitempty"`
	StartTime         *Time             `json:"startTime,omitzero"`
	ContainerStatuses []ContainerStatus `json:"containerStatuses,omitempty"`
	QOSClass          string            `json:"qosClass,omitempty"`
}

// PodIP is one address of a pod.
type PodIP struct {
	IP string `json:"ip"`
}

// Pod phases.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"
)

// Pod condition types.
const (
	PodScheduled    = "PodScheduled"
	PodInitialized  = "Initialized"
	PodReady        = "Ready"
	ContainersReady = "ContainersReady"
	// DisruptionTarget marks a pod about to be deleted by the system (reason
	// PreemptionByScheduler, DeletionByTaintManager, ...), as in Kubernetes.
	DisruptionTarget = "DisruptionTarget"
)

// PodCondition is one condition of a pod.
type PodCondition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	LastProbeTime      Time            `json:"lastProbeTime,omitzero"`
	LastTransitionTime Time            `json:"lastTransitionTime,omitzero"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
}

// ContainerStatus is the state of one module of a pod.
type ContainerStatus struct {
	Name         string         `json:"name"`
	State        ContainerState `json:"state,omitempty"`
	LastState    ContainerState `json:"lastState,omitempty"`
	Ready        bool           `json:"ready"`
	RestartCount int32          `json:"restartCount"`
	Image        string         `json:"image"`
	ImageID      string         `json:"imageID"`
	ContainerID  string         `json:"containerID,omitempty"`
	Started      *bool          `json:"started,omitempty"`
}

// ContainerState is exactly one of waiting, running or terminated.
type ContainerState struct {
	Waiting    *ContainerStateWaiting    `json:"waiting,omitempty"`
	Running    *ContainerStateRunning    `json:"running,omitempty"`
	Terminated *ContainerStateTerminated `json:"terminated,omitempty"`
}

// ContainerStateWaiting says why a module is not running yet (ImagePullBackOff, CrashLoopBackOff).
type ContainerStateWaiting struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// ContainerStateRunning says since when a module runs.
type ContainerStateRunning struct {
	StartedAt Time `json:"startedAt,omitzero"`
}

// ContainerStateTerminated says how a module ended.
type ContainerStateTerminated struct {
	ExitCode    int32  `json:"exitCode"`
	Signal      int32  `json:"signal,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Message     string `json:"message,omitempty"`
	StartedAt   Time   `json:"startedAt,omitzero"`
	FinishedAt  Time   `json:"finishedAt,omitzero"`
	ContainerID string `json:"containerID,omitempty"`
}

// Binding assigns a pod to a node (the pods/binding subresource).
type Binding struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Target     ObjectReference `json:"target"`
}

// ObjectReference points at another object.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	FieldPath       string `json:"fieldPath,omitempty"`
}

// Service is a stable front for a set of pods chosen by a label selector.
type Service struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       ServiceSpec   `json:"spec,omitempty"`
	Status     ServiceStatus `json:"status,omitempty"`
}

// ServiceSpec describes a service's ports, selector and type.
type ServiceSpec struct {
	Type        string            `json:"type,omitempty"`
	Selector    map[string]string `json:"selector,omitempty"`
	Ports       []ServicePort     `json:"ports,omitempty"`
	ClusterIP   string            `json:"clusterIP,omitempty"`
	ClusterIPs  []string          `json:"clusterIPs,omitempty"`
	ExternalIPs []string          `json:"externalIPs,omitempty"`
}

// Service types.
const (
	ServiceClusterIP    = "ClusterIP"
	ServiceNodePort     = "NodePort"
	ServiceLoadBalancer = "LoadBalancer"
)

// ServicePort maps a service port to a pod port (targetPort: a number or a port name).
type ServicePort struct {
	Name       string      `json:"name,omitempty"`
	Protocol   string      `json:"protocol,omitempty"`
	Port       int32       `json:"port"`
	TargetPort IntOrString `json:"targetPort,omitempty"`
	NodePort   int32       `json:"nodePort,omitempty"`
}

// ServiceStatus holds the load balancer addresses of a LoadBalancer service.
type ServiceStatus struct {
	LoadBalancer LoadBalancerStatus `json:"loadBalancer,omitempty"`
}

// LoadBalancerStatus lists a load balancer's addresses.
type LoadBalancerStatus struct {
	Ingress []LoadBalancerIngress `json:"ingress,omitempty"`
}

// LoadBalancerIngress is one load balancer address.
type LoadBalancerIngress struct {
	IP       string `json:"ip,omitempty"`
	Hostname string `json:"hostname,omitempty"`
}

// Endpoints lists the ready and not-ready pods behind a service.
type Endpoints struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Subsets    []EndpointSubset `json:"subsets,omitempty"`
}

// EndpointSubset is a set of addresses sharing a set of ports.
type EndpointSubset struct {
	Addresses         []EndpointAddress `json:"addresses,omitempty"`
	NotReadyAddresses []EndpointAddress `json:"notReadyAddresses,omitempty"`
	Ports             []EndpointPort    `json:"ports,omitempty"`
}

// EndpointAddress is one pod behind a service.
type EndpointAddress struct {
	IP        string           `json:"ip"`
	Hostname  string           `json:"hostname,omitempty"`
	NodeName  *string          `json:"nodeName,omitempty"`
	TargetRef *ObjectReference `json:"targetRef,omitempty"`
}

// EndpointPort is a port of the pods behind a service.
type EndpointPort struct {
	Name     string `json:"name,omitempty"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol,omitempty"`
}

// Event records something that happened to an object.
type Event struct {
	TypeMeta            `json:",inline"`
	ObjectMeta          `json:"metadata,omitempty"`
	InvolvedObject      ObjectReference `json:"involvedObject"`
	Reason              string          `json:"reason,omitempty"`
	Message             string          `json:"message,omitempty"`
	Source              EventSource     `json:"source,omitempty"`
	FirstTimestamp      Time            `json:"firstTimestamp,omitzero"`
	LastTimestamp       Time            `json:"lastTimestamp,omitzero"`
	Count               int32           `json:"count,omitempty"`
	Type                string          `json:"type,omitempty"`
	EventTime           MicroTime       `json:"eventTime,omitzero"`
	Action              string          `json:"action,omitempty"`
	ReportingController string          `json:"reportingComponent,omitempty"`
	ReportingInstance   string          `json:"reportingInstance,omitempty"`
}

// EventSource names the component that reported an event.
type EventSource struct {
	Component string `json:"component,omitempty"`
	Host      string `json:"host,omitempty"`
}

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)
