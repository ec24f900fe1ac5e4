// Package node owns a runner's Node object and its Lease: NodeAgent registers the Node (or takes
// back the one a previous run left), renews the node's coordination.k8s.io Lease, and puts the
// Ready condition back when the node lifecycle controller marked it otherwise. The hollow nodes of
// runner/hollow and the real runner of runner/kubelet both use it.
package node
