package memory

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// idemKey scopes an idempotency key to the API key that sent it.
type idemKey struct {
	keyID string // Principal.KeyID
	key   string
}

// idemEntry is what a keyed create call stored.
type idemEntry struct {
	requestHash []byte // nil when the call had none
	turnID      string
	createdAt   time.Time
}

// replay finds the turn an earlier call with p's idempotency key stored and
// returns its current state. found is false when the key is new.
func (s *Store) replay(p store.CreateTurnParams) (res store.CreateTurnResult, found bool, err error) {
	e, ok := s.idem[idemKey{p.Principal.KeyID, p.IdempotencyKey}]
	if !ok {
		return res, false, nil
	}
	if !bytes.Equal(e.requestHash, p.RequestHash) {
		return res, false, fmt.Errorf("idempotency key %q: %w", p.IdempotencyKey, store.ErrIdempotencyMismatch)
	}
	r := s.turns[e.turnID]
	return store.CreateTurnResult{
		Task:     r.task.out(),
		Turn:     r.out(),
		Worker:   s.workers[r.task.row.WorkerID],
		Replayed: true,
	}, true, nil
}

func (s *Store) saveIdempotencyKey(p store.CreateTurnParams) {
	var hash []byte
	if len(p.RequestHash) > 0 {
		hash = bytes.Clone(p.RequestHash)
	}
	s.idem[idemKey{p.Principal.KeyID, p.IdempotencyKey}] = idemEntry{
		requestHash: hash, turnID: p.TurnID, createdAt: utc(p.Now),
	}
}

// PurgeIdempotencyKeys deletes idempotency keys created before t.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	n := 0
	for k, e := range s.idem {
		if e.createdAt.Before(before) {
			delete(s.idem, k)
			n++
		}
	}
	return n, nil
}
