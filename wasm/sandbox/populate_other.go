//go:build !(linux && (amd64 || arm64))

package sandbox

// populate does nothing where memory is not mapped lazily by this package.
func populate([]byte) {}
