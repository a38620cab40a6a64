package memory

import (
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
