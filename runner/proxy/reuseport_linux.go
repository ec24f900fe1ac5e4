//go:build linux && !(mips || mipsle || mips64 || mips64le)

package proxy

import (
	"net"
	"syscall"
)

// soReusePort is SO_REUSEPORT on Linux (but MIPS), which syscall does not name.
const soReusePort = 0xf

// listenConfig returns how to bind a front door; shared addresses get SO_REUSEPORT so that
// several runners of one machine can serve the same load balancer address.
func listenConfig(shared bool) *net.ListenConfig {
	if !shared {
		return &net.ListenConfig{}
	}
	return &net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
}
