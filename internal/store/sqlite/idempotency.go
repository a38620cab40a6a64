package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/handinger/handinger/internal/store"
)

var (
	getIdempotencyKeySQL = prepared(`SELECT request_hash, turn_id FROM idempotency_keys
		WHERE key_id = ? AND key = ?`)

	insertIdempotencyKeySQL = prepared(`INSERT INTO idempotency_keys
		(key_id, key, request_hash, turn_id, created_at) VALUES (?, ?, ?, ?, ?)`)
)

// replay finds the turn an earlier call with p's idempotency key stored and
// returns its current state. found is false when the key is new.
func replay(ctx context.Context, c conn, p store.CreateTurnParams) (res store.CreateTurnResult, found bool, err error) {
	var (
		hash   []byte
		turnID string
	)
	err = c.QueryRowContext(ctx, getIdempotencyKeySQL, p.Principal.KeyID, p.IdempotencyKey).Scan(&hash, &turnID)
	if errors.Is(err, sql.ErrNoRows) {
		return res, false, nil
	}
	if err != nil {
		return res, false, err
	}
	if !bytes.Equal(hash, p.RequestHash) {
		return res, false, fmt.Errorf("idempotency key %q: %w", p.IdempotencyKey, store.ErrIdempotencyMismatch)
	}
	if res.Turn, err = getTurn(ctx, c, turnID); err != nil {
		return res, false, err
	}
	if res.Task, err = getTask(ctx, c, res.Turn.OrgID, res.Turn.TaskID); err != nil {
		return res, false, err
	}
	if res.Worker, err = getWorker(ctx, c, res.Task.OrgID, res.Task.WorkerID); err != nil {
		return res, false, err
	}
	res.Replayed = true
	return res, true, nil
}

func saveIdempotencyKey(ctx context.Context, c conn, p store.CreateTurnParams) error {
	_, err := c.ExecContext(ctx, insertIdempotencyKeySQL,
		p.Principal.KeyID, p.IdempotencyKey, nullBytes(p.RequestHash), p.TurnID, unixNano(p.Now))
	return err
}

// PurgeIdempotencyKeys deletes idempotency keys created before t.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, unixNano(before))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return int(n), nil
}
