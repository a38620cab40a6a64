package postgres

import (
	"context"
	"fmt"

	"github.com/handinger/handinger/internal/store"
)

const workerColumns = `id, org_id, created_by_user_id, instructions, created_at`

// workerRow receives the workerColumns of a row.
type workerRow struct {
	w         store.Worker
	createdBy *string
	createdAt int64
}

// dest returns the scan destinations of workerColumns, in order.
func (r *workerRow) dest() []any {
	return []any{&r.w.ID, &r.w.OrgID, &r.createdBy, &r.w.Instructions, &r.createdAt}
}

// worker returns the scanned worker.
func (r *workerRow) worker() store.Worker {
	w := r.w
	if r.createdBy != nil {
		w.CreatedByUserID = *r.createdBy
	}
	w.CreatedAt = fromUnixNano(r.createdAt)
	return w
}

// getWorker returns a worker of org. ErrNotFound when none.
func (s *Store) getWorker(ctx context.Context, orgID, workerID string) (store.Worker, error) {
	var r workerRow
	err := s.pool.QueryRow(ctx, `SELECT `+workerColumns+` FROM workers WHERE id = $1 AND org_id = $2`,
		workerID, orgID).Scan(r.dest()...)
	if err != nil {
		return store.Worker{}, fmt.Errorf("get worker %s: %w", workerID, translate(err))
	}
	return r.worker(), nil
}
