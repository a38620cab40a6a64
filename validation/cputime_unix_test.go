//go:build unix

package validation_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used so far, all threads
// (garbage collection included). On a shared machine it varies far less
// than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
