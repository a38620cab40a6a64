//go:build !unix

package server

// defaultMaxConns is the connection cap where the descriptor limit is not
// read.
func defaultMaxConns() int { return 1000 }
