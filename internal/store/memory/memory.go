// Package memory implements store.Store in process memory: Go maps behind
// one read-write mutex, nothing on disk, everything lost when the process
// exits. It serves development (--db memory:) and benchmarks that measure the
// layers above the store without disk I/O, so it keeps the semantics of the
// SQLite backend exactly, down to the unique and foreign keys of its schema.
//
// Each write holds the write lock for its whole call, which makes the call
// one transaction: it checks everything that could refuse it before it
// changes anything, so a refused call leaves no trace. Reads share the read
// lock. Nothing returned aliases stored state: times, pointers and byte
// slices are copied out, and every time is returned in UTC.
package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// ErrClosed is returned, wrapped, by every call after Close.
var ErrClosed = errors.New("memory store is closed")

// Store is a store.Store held in memory. It is safe for concurrent use.
type Store struct {
	mu     sync.RWMutex
	closed bool

	orgs     map[string]struct{}
	users    map[string]string          // user id → org id
	keys     map[string]store.Principal // by string(hash)
	keyIDs   map[string]struct{}
	workers  map[string]store.Worker
	tasks    map[taskKey]*task  // a task id is its organization's own
	orgTasks map[string][]*task // each organization's tasks in position order
	turns    map[string]*turn
	idem     map[idemKey]idemEntry

	runnable map[string]*runQueue // by organization: pending turns whose earlier turns all ended
	running  map[*turn]struct{}   // turns under a lease
	pending  map[string]int       // by organization: pending turns, runnable or waiting

	lastTaskPos int64 // Task.Position of the latest task
	lastTurnPos int64 // acceptance order of the latest turn
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		orgs:     map[string]struct{}{},
		users:    map[string]string{},
		keys:     map[string]store.Principal{},
		keyIDs:   map[string]struct{}{},
		workers:  map[string]store.Worker{},
		tasks:    map[taskKey]*task{},
		orgTasks: map[string][]*task{},
		turns:    map[string]*turn{},
		idem:     map[idemKey]idemEntry{},
		running:  map[*turn]struct{}{},
		runnable: map[string]*runQueue{},
		pending:  map[string]int{},
	}
}

// usable says why a call cannot go on: the store is closed or ctx is done.
// The caller holds the lock.
func (s *Store) usable(ctx context.Context) error {
	if s.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// Ping checks that the store is open.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("ping memory store: %w", err)
	}
	return nil
}

// Close drops everything stored; later calls fail with ErrClosed. Closing
// twice is not an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.orgs, s.users, s.keys, s.keyIDs = nil, nil, nil, nil
	s.workers, s.tasks, s.orgTasks, s.turns, s.idem = nil, nil, nil, nil, nil
	s.runnable, s.running, s.pending = nil, nil, nil
	return nil
}

// conflict is the error of a unique key the call would violate, the SQLite
// backend's unique constraint.
func conflict(what, id string) error {
	return fmt.Errorf("%s %s exists: %w", what, id, store.ErrConflict)
}

// utc is how a time is stored: in UTC without a monotonic reading, so that
// comparisons use the wall clock, as the SQLite backend's do.
func utc(t time.Time) time.Time { return t.UTC() }

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
