// Package controller owns the loop every wasmkube controller runs in, as Kubernetes'
// kube-controller-manager does: informers feed keys into a rate-limited queue, N workers call a
// Reconciler for each key, and a key that fails is retried with back-off. It also holds the small
// pure helpers the controllers share (pod readiness and availability, owner references, claiming
// objects by selector, expectations, deep copies).
//
// It does not decide what should exist: each controller package (replicaset, deployment, gc,
// endpoints, nodelifecycle, namespace) owns that as a pure function of a snapshot. The manager
// subpackage starts them all.
package controller
