// Package proxy owns the Service proxy every runner runs: it watches Services, Endpoints and
// Nodes, keeps a routing table of each Service's ready endpoints, opens the front doors of
// NodePort and LoadBalancer Services (HTTP/1.1 and cleartext HTTP/2 over TCP, HTTP/3 over UDP,
// on the same port number), resolves the Service names guests call (Outbound), balances
// requests over ready endpoints and counts them on a Prometheus registry of its own.
//
// Endpoints on this runner's node are called in process through Config.Local; endpoints on
// other nodes through the proxy of the runner that hosts them, over QUIC with mutual TLS
// (runner/proxy/peer). A request that provably never reached a pod (the pod is gone, the peer
// was never reached, or the peer answered that the pod is not there) is retried on another
// endpoint whatever its method; other failures are retried only for idempotent requests whose
// body can be replayed.
//
// It does not decide which pods are ready (the endpoints controller does), allocate node
// ports or load balancer addresses (the API server and the load balancer controller do), or
// publish its peer port on the Node (the runner does, from PeerPort).
package proxy
