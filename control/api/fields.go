package api

import "fmt"

// FieldSet returns the fields a field selector may test on obj, as Kubernetes defines them per
// kind (metadata.name and metadata.namespace for all; spec.nodeName and status.phase for pods;
// involvedObject.* for events; ...). Selecting on any other field is a 400.
func FieldSet(obj Object) map[string]string {
	m := obj.GetObjectMeta()
	f := map[string]string{"metadata.name": m.Name, "metadata.namespace": m.Namespace}
	switch o := obj.(type) {
	case *Pod:
		f["spec.nodeName"] = o.Spec.NodeName
		f["spec.restartPolicy"] = o.Spec.RestartPolicy
		f["spec.schedulerName"] = o.Spec.SchedulerName
		f["status.phase"] = o.Status.Phase
		f["status.podIP"] = o.Status.PodIP
		f["status.nominatedNodeName"] = o.Status.NominatedNodeName
	case *Node:
		f["spec.unschedulable"] = fmt.Sprint(o.Spec.Unschedulable)
	case *Namespace:
		f["status.phase"] = o.Status.Phase
	case *Event:
		f["involvedObject.kind"] = o.InvolvedObject.Kind
		f["involvedObject.namespace"] = o.InvolvedObject.Namespace
		f["involvedObject.name"] = o.InvolvedObject.Name
		f["involvedObject.uid"] = o.InvolvedObject.UID
		f["involvedObject.apiVersion"] = o.InvolvedObject.APIVersion
		f["involvedObject.resourceVersion"] = o.InvolvedObject.ResourceVersion
		f["involvedObject.fieldPath"] = o.InvolvedObject.FieldPath
		f["reason"] = o.Reason
		f["source"] = o.Source.Component
		f["type"] = o.Type
		f["reportingComponent"] = o.ReportingController
	case *ReplicaSet:
		f["status.replicas"] = fmt.Sprint(o.Status.Replicas)
	case *Service:
		f["spec.type"] = o.Spec.Type
		f["spec.clusterIP"] = o.Spec.ClusterIP
	}
	return f
}
