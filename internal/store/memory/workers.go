package memory

import (
	"context"
	"fmt"

	"github.com/handinger/handinger/internal/store"
)

// worker returns a worker of org. Worker holds no pointers, so the copy
// returned shares nothing with the stored one.
func (s *Store) worker(orgID, workerID string) (store.Worker, bool) {
	w, ok := s.workers[workerID]
	if !ok || w.OrgID != orgID {
		return store.Worker{}, false
	}
	return w, true
}

// GetWorker returns a worker of org. ErrNotFound when none.
func (s *Store) GetWorker(ctx context.Context, orgID, workerID string) (store.Worker, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		return store.Worker{}, fmt.Errorf("get worker %s: %w", workerID, err)
	}
	w, ok := s.worker(orgID, workerID)
	if !ok {
		return store.Worker{}, fmt.Errorf("get worker %s: %w", workerID, store.ErrNotFound)
	}
	return w, nil
}
