//go:build !linux

package scheduler

import "time"

func threadCPU() time.Duration { return 0 }
