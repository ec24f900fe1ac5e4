//go:build !linux || mips || mipsle || mips64 || mips64le

package proxy

import "net"

// listenConfig returns how to bind a front door. Outside Linux no SO_REUSEPORT is set: a
// load balancer address can be served by one runner of a machine only.
func listenConfig(shared bool) *net.ListenConfig { return &net.ListenConfig{} }
