// Package notify carries the server's wake-ups: "a turn ended" to the create
// calls waiting for it, and "there is work" to the runners. Local works inside
// one process (the SQLite backend); a backend shared by several replicas
// provides a Bus that crosses processes (PostgreSQL LISTEN/NOTIFY).
package notify

import (
	"context"
	"sync"
)

// Bus delivers wake-ups. A wake-up only says "look again": receivers always
// re-read the store, so a lost or duplicated wake-up costs latency, never
// correctness.
type Bus interface {
	// TurnDone announces that a turn reached a terminal status (or went back
	// to the queue), waking its waiters.
	TurnDone(ctx context.Context, turnID string) error
	// WaitTurn subscribes to TurnDone for one turn. The channel receives at
	// most one value; call cancel when done waiting.
	WaitTurn(turnID string) (done <-chan struct{}, cancel func())
	// Runnable announces that a turn may have become claimable.
	Runnable(ctx context.Context) error
	// RunnableC is where runners wait for work. Signals coalesce.
	RunnableC() <-chan struct{}
}

// Local is a Bus for one process.
type Local struct {
	mu       sync.Mutex
	waiters  map[string][]chan struct{}
	runnable chan struct{}
}

var _ Bus = (*Local)(nil)

// NewLocal returns an in-process Bus.
func NewLocal() *Local {
	return &Local{waiters: make(map[string][]chan struct{}), runnable: make(chan struct{}, 1)}
}

// TurnDone wakes every waiter of turnID.
func (l *Local) TurnDone(_ context.Context, turnID string) error {
	l.Deliver(turnID)
	return nil
}

// Deliver wakes every waiter of turnID; cross-process buses call it when a
// notification arrives from elsewhere.
func (l *Local) Deliver(turnID string) {
	l.mu.Lock()
	chans := l.waiters[turnID]
	delete(l.waiters, turnID)
	l.mu.Unlock()
	for _, c := range chans {
		c <- struct{}{} // buffered, capacity 1, sent once
	}
}

// DeliverAll wakes every waiter of every turn; a cross-process bus calls it
// after a gap in which notifications may have been lost.
func (l *Local) DeliverAll() {
	l.mu.Lock()
	all := l.waiters
	l.waiters = make(map[string][]chan struct{})
	l.mu.Unlock()
	for _, chans := range all {
		for _, c := range chans {
			c <- struct{}{}
		}
	}
}

// WaitTurn subscribes to the end of turnID.
func (l *Local) WaitTurn(turnID string) (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	l.mu.Lock()
	l.waiters[turnID] = append(l.waiters[turnID], c)
	l.mu.Unlock()
	return c, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		list := l.waiters[turnID]
		for i, w := range list {
			if w == c {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(l.waiters, turnID)
		} else {
			l.waiters[turnID] = list
		}
	}
}

// Runnable signals the runners; signals coalesce.
func (l *Local) Runnable(_ context.Context) error {
	l.Wake()
	return nil
}

// Wake signals the runners without a context.
func (l *Local) Wake() {
	select {
	case l.runnable <- struct{}{}:
	default:
	}
}

// RunnableC is where runners wait.
func (l *Local) RunnableC() <-chan struct{} { return l.runnable }
