package printer

import "github.com/wasmkube/wasmkube/control/api"

// Column descriptions are Kubernetes' own (the API's field documentation, as its server puts in
// every Table), so a client that shows them sees what it would see against Kubernetes.
const (
	descName = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
	descAge  = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"

	descContainers = "Names of each container in the template."
	descImages     = "Images referenced by each container in the template."

	descPodReady          = "The aggregate readiness state of this pod for accepting traffic."
	descPodStatus         = "The aggregate status of the containers in this pod."
	descPodRestarts       = "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."
	descPodIP             = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."
	descPodNode           = "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements."
	descPodNominatedNode  = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled."
	descPodReadinessGates = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"

	descDeploymentReady     = "Number of the pod with ready state"
	descDeploymentUpToDate  = "Total number of non-terminated pods targeted by this deployment that have the desired template spec."
	descDeploymentAvailable = "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."
	descDeploymentSelector  = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."

	descReplicaSetDesired  = "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"
	descReplicaSetCurrent  = "Replicas is the most recently oberved number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"
	descReplicaSetReady    = "The number of ready replicas for this replica set."
	descReplicaSetSelector = "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"

	descServiceType        = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"
	descServiceClusterIP   = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
	descServiceExternalIPs = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system."
	descServicePorts       = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
	descServiceSelector    = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/"

	descEndpoints = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service."

	descNodeStatus           = "The status of the node"
	descNodeRoles            = "The roles of the node"
	descNodeVersion          = "Kubelet Version reported by the node."
	descNodeAddresses        = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP)."
	descNodeOSImage          = "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."
	descNodeKernelVersion    = "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."
	descNodeContainerRuntime = "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."

	descNamespaceStatus = "The status of the namespace"

	descEventLastSeen  = "The time at which the most recent occurrence of this event was recorded."
	descEventType      = "Type of this event (Normal, Warning), new types could be added in the future"
	descEventReason    = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."
	descEventObject    = "The object that this event is about."
	descEventSubobject = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object."
	descEventSource    = "The component reporting this event. Should be a short machine understandable string."
	descEventMessage   = "A human-readable description of the status of this operation."
	descEventFirstSeen = "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"
	descEventCount     = "The number of times this event has occurred."

	descLeaseHolder = "holderIdentity contains the identity of the holder of a current lease."
)

// Column types and the name format, as Kubernetes writes them.
const (
	typeString  = "string"
	typeInteger = "integer"
	formatName  = "name"
)

// col builds a column definition; priority 1 columns show only with -o wide.
func col(name, typ, desc string, priority int32) api.TableColumnDefinition {
	return api.TableColumnDefinition{Name: name, Type: typ, Description: desc, Priority: priority}
}

func nameCol() api.TableColumnDefinition {
	return api.TableColumnDefinition{Name: "Name", Type: typeString, Format: formatName, Description: descName}
}

func ageCol() api.TableColumnDefinition { return col("Age", typeString, descAge, 0) }

// Each function returns a fresh slice, so a caller may keep or change the table it is put in.

// defaultColumns is what kubectl prints for a kind it has no printer for: Name and Age.
func defaultColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(), ageCol()}
}

func podColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{
		nameCol(),
		col("Ready", typeString, descPodReady, 0),
		col("Status", typeString, descPodStatus, 0),
		col("Restarts", typeString, descPodRestarts, 0),
		ageCol(),
		col("IP", typeString, descPodIP, 1),
		col("Node", typeString, descPodNode, 1),
		col("Nominated Node", typeString, descPodNominatedNode, 1),
		col("Readiness Gates", typeString, descPodReadinessGates, 1),
	}
}

func deploymentColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{
		nameCol(),
		col("Ready", typeString, descDeploymentReady, 0),
		col("Up-to-date", typeString, descDeploymentUpToDate, 0),
		col("Available", typeString, descDeploymentAvailable, 0),
		ageCol(),
		col("Containers", typeString, descContainers, 1),
		col("Images", typeString, descImages, 1),
		col("Selector", typeString, descDeploymentSelector, 1),
	}
}

func replicaSetColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{
		nameCol(),
		col("Desired", typeInteger, descReplicaSetDesired, 0),
		col("Current", typeInteger, descReplicaSetCurrent, 0),
		col("Ready", typeInteger, descReplicaSetReady, 0),
		ageCol(),
		col("Containers", typeString, descContainers, 1),
		col("Images", typeString, descImages, 1),
		col("Selector", typeString, descReplicaSetSelector, 1),
	}
}

func serviceColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{
		nameCol(),
		col("Type", typeString, descServiceType, 0),
		col("Cluster-IP", typeString, descServiceClusterIP, 0),
		col("External-IP", typeString, descServiceExternalIPs, 0),
		col("Port(s)", typeString, descServicePorts, 0),
		ageCol(),
		col("Selector", typeString, descServiceSelector, 1),
	}
}

func endpointsColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(), col("Endpoints", typeString, descEndpoints, 0), ageCol()}
}

func nodeColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{
		nameCol(),
		col("Status", typeString, descNodeStatus, 0),
		col("Roles", typeString, descNodeRoles, 0),
		ageCol(),
		col("Version", typeString, descNodeVersion, 0),
		col("Internal-IP", typeString, descNodeAddresses, 1),
		col("External-IP", typeString, descNodeAddresses, 1),
		col("OS-Image", typeString, descNodeOSImage, 1),
		col("Kernel-Version", typeString, descNodeKernelVersion, 1),
		col("Container-Runtime", typeString, descNodeContainerRuntime, 1),
	}
}

func namespaceColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(), col("Status", typeString, descNamespaceStatus, 0), ageCol()}
}

// eventColumns are core/v1 events' columns in Kubernetes' order: the wide ones interleave.
func eventColumns() []api.TableColumnDefinition {
	name := nameCol()
	name.Priority = 1
	return []api.TableColumnDefinition{
		col("Last Seen", typeString, descEventLastSeen, 0),
		col("Type", typeString, descEventType, 0),
		col("Reason", typeString, descEventReason, 0),
		col("Object", typeString, descEventObject, 0),
		col("Subobject", typeString, descEventSubobject, 1),
		col("Source", typeString, descEventSource, 1),
		col("Message", typeString, descEventMessage, 0),
		col("First Seen", typeString, descEventFirstSeen, 1),
		col("Count", typeString, descEventCount, 1),
		name,
	}
}

func leaseColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(), col("Holder", typeString, descLeaseHolder, 0), ageCol()}
}
