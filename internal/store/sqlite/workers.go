package sqlite

import (
	"context"
	"database/sql"

	"github.com/handinger/handinger/internal/store"
)

const workerColumns = `id, org_id, created_by_user_id, instructions, created_at`

var (
	getWorkerSQL = prepared(`SELECT ` + workerColumns + ` FROM workers WHERE id = ? AND org_id = ?`)

	insertWorkerSQL = prepared(`INSERT INTO workers
		(id, org_id, created_by_user_id, instructions, created_at)
		VALUES (?, ?, ?, ?, ?)`)
)

func scanWorker(sc scanner) (store.Worker, error) {
	var (
		w         store.Worker
		createdBy sql.NullString
		createdAt int64
	)
	if err := sc.Scan(&w.ID, &w.OrgID, &createdBy, &w.Instructions, &createdAt); err != nil {
		return store.Worker{}, err
	}
	w.CreatedByUserID = createdBy.String
	w.CreatedAt = fromUnixNano(createdAt)
	return w, nil
}

// getWorker returns a worker of org; sql.ErrNoRows when none.
func getWorker(ctx context.Context, c conn, orgID, workerID string) (store.Worker, error) {
	return scanWorker(c.QueryRowContext(ctx, getWorkerSQL, workerID, orgID))
}

// insertWorker stores w.
func insertWorker(ctx context.Context, c conn, w store.Worker) error {
	_, err := c.ExecContext(ctx, insertWorkerSQL,
		w.ID, w.OrgID, nullString(w.CreatedByUserID), w.Instructions, unixNano(w.CreatedAt))
	return err
}
