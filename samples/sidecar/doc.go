// Package sidecar holds the sidecar sample: web/ serves HTTP and writes an access log into a
// shared emptyDir, shipper/ follows it and prints it; sidecar.yaml deploys them as one pod,
// and the test runs them together in a sandbox pod.
package sidecar
