// Package pki owns the cluster's identity material: the cluster CA, the
// certificates it issues (the API server's serving certificate, client and
// node identities), the bearer tokens (admin and join), and kubeconfig files
// that carry them to clients such as wk and kubectl.
//
// It does not serve anything, authenticate requests or decide who may do
// what: the API server uses ServerTLSConfig and TokenEqual, the CLI uses
// ResolvePath, LoadKubeconfig and Credentials.TLSConfig. Everything here is
// a function of its inputs and the files it is pointed at; time comes in as a
// parameter, so certificate lifetimes are testable without sleeping.
package pki
