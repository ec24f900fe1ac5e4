// Package loopback holds the loopback sample: frontend/ and backend/ are the two modules of
// one pod, loopback.yaml deploys them, and the test runs them together in a sandbox pod.
package loopback
