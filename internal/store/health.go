package store

import (
	"errors"
	"sync"
	"time"
)

// writeFailureMemory is how long a failed write keeps a store unready when
// no write succeeds after it.
const writeFailureMemory = 30 * time.Second

// WriteHealth remembers whether a store's latest write failed for want of
// the database (ErrUnavailable: full, locked, read-only), so that its Ping,
// which reads, also tells that writes fail. A nil *WriteHealth records
// nothing. The zero value is healthy and ready to use.
type WriteHealth struct {
	mu     sync.Mutex
	err    error
	failed time.Time
}

// Record notes the outcome of a write and returns err unchanged: a success
// (nil) clears an earlier failure; ErrUnavailable is remembered; other
// errors (a caller's mistake, a lost lease) say nothing of the database.
func (h *WriteHealth) Record(err error) error {
	if h == nil {
		return err
	}
	switch {
	case err == nil:
		h.mu.Lock()
		h.err = nil
		h.mu.Unlock()
	case errors.Is(err, ErrUnavailable):
		h.mu.Lock()
		h.err, h.failed = err, time.Now()
		h.mu.Unlock()
	}
	return err
}

// Err is the latest write's failure when it failed less than 30 s ago and
// no write succeeded since; nil otherwise.
func (h *WriteHealth) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil || time.Since(h.failed) > writeFailureMemory {
		return nil
	}
	return h.err
}
