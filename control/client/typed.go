package client

import "github.com/wasmkube/wasmkube/control/api"

// Pods is typed access to core/v1 pods.
func Pods(c *Client) *Resource[*api.Pod] { return For[*api.Pod](c, "pods") }

// Nodes is typed access to core/v1 nodes (cluster-scoped).
func Nodes(c *Client) *Resource[*api.Node] { return For[*api.Node](c, "nodes") }

// Services is typed access to core/v1 services.
func Services(c *Client) *Resource[*api.Service] { return For[*api.Service](c, "services") }

// Endpoints is typed access to core/v1 endpoints.
func Endpoints(c *Client) *Resource[*api.Endpoints] { return For[*api.Endpoints](c, "endpoints") }

// Events is typed access to core/v1 events.
func Events(c *Client) *Resource[*api.Event] { return For[*api.Event](c, "events") }

// Namespaces is typed access to core/v1 namespaces (cluster-scoped).
func Namespaces(c *Client) *Resource[*api.Namespace] {
	return For[*api.Namespace](c, "namespaces")
}

// Deployments is typed access to apps/v1 deployments.
func Deployments(c *Client) *Resource[*api.Deployment] {
	return For[*api.Deployment](c, "deployments")
}

// ReplicaSets is typed access to apps/v1 replicasets.
func ReplicaSets(c *Client) *Resource[*api.ReplicaSet] {
	return For[*api.ReplicaSet](c, "replicasets")
}

// Leases is typed access to coordination.k8s.io/v1 leases.
func Leases(c *Client) *Resource[*api.Lease] { return For[*api.Lease](c, "leases") }
