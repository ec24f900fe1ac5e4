//go:build !((linux || darwin) && (amd64 || arm64))

package sandbox

// reserve does not map memory on this platform: linear memory is a Go slice.
func reserve(uint64) ([]byte, bool) { return nil, false }

func unreserve([]byte) {}
