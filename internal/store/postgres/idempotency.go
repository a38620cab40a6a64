package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/handinger/handinger/internal/store"
)

// replaySQL reads an idempotency key with the current state of the turn it
// names, and that turn's task and worker, in one statement.
var replaySQL = `SELECT k.request_hash, ` + qualified("u", turnColumns) + `, ` +
	qualified("t", taskColumns) + `, ` + qualified("w", workerColumns) + `
	FROM idempotency_keys k
	JOIN turns u ON u.id = k.turn_id
	JOIN tasks t ON t.org_id = u.org_id AND t.id = u.task_id
	JOIN workers w ON w.id = t.worker_id
	WHERE k.key_id = $1 AND k.key = $2`

// replay finds the turn an earlier call with p's idempotency key stored and
// returns its current state, or ErrIdempotencyMismatch when that call had
// another request hash. found is false when the key is not stored.
func (s *Store) replay(ctx context.Context, p store.CreateTurnParams) (res store.CreateTurnResult, found bool, err error) {
	var (
		hash   []byte
		turn   turnRow
		task   taskRow
		worker workerRow
	)
	dest := append([]any{&hash}, turn.dest()...)
	dest = append(dest, task.dest()...)
	dest = append(dest, worker.dest()...)
	err = s.pool.QueryRow(ctx, replaySQL, p.Principal.KeyID, p.IdempotencyKey).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, false, nil
	}
	if err != nil {
		return res, false, fmt.Errorf("replay idempotency key %q: %w", p.IdempotencyKey, err)
	}
	if !bytes.Equal(hash, p.RequestHash) {
		return res, true, fmt.Errorf("idempotency key %q: %w", p.IdempotencyKey, store.ErrIdempotencyMismatch)
	}
	return store.CreateTurnResult{
		Task: task.task(), Turn: turn.turn(), Worker: worker.worker(), Replayed: true,
	}, true, nil
}

// PurgeIdempotencyKeys deletes idempotency keys created before t.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, unixNano(before))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
