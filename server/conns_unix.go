//go:build unix

package server

import "syscall"

// defaultMaxConns is the cap for this process: its file descriptor limit
// less an eighth (at least 64) for the database, logs and files.
func defaultMaxConns() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == 0 {
		return 1000
	}
	n := int(min(lim.Cur, 1<<20))
	return max(n-max(64, n/8), 16)
}
