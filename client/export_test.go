package client

import (
	"context"
	"time"
)

// Test seams, compiled into the tests only.

// WithSleep replaces how a client waits: between attempts, and between the
// polls of Wait. f must return ctx's error when ctx has ended.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) { c.sleep = f }
}

// WithRandom replaces the jitter: f(n) must be in [0, n).
func WithRandom(f func(n int64) int64) Option {
	return func(c *config) { c.random = f }
}

// WithNow replaces the clock that HTTP-date Retry-After headers are read
// against.
func WithNow(f func() time.Time) Option {
	return func(c *config) { c.now = f }
}
