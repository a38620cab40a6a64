package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/handinger/handinger/store"
)

var (
	// claimSQL leases the oldest pending turn whose task has no earlier live
	// turn: a task's turns run one after another, in seq order.
	claimSQL = prepared(`UPDATE turns
	SET status = 'running', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
	WHERE position = (
		SELECT t.position FROM turns t
		WHERE t.status = 'pending' AND NOT EXISTS (
			SELECT 1 FROM turns e
			WHERE e.task_id = t.task_id AND e.seq < t.seq AND e.status IN ('pending', 'running'))
		ORDER BY t.position
		LIMIT 1)
	RETURNING ` + turnColumns)

	// taskWorkerSQL is the worker of a task.
	taskWorkerSQL = prepared(`SELECT ` + workerColumns + ` FROM workers
		WHERE id = (SELECT worker_id FROM tasks WHERE id = ?)`)

	heartbeatSQL = prepared(`UPDATE turns SET lease_expires_at = ? WHERE ` + fenced)

	finishSQL = prepared(`UPDATE turns SET
		status = ?, output_text = ?, input_tokens = ?, output_tokens = ?, credits = ?,
		duration_ms = ?, structured_output = ?, error_code = ?, error_message = ?,
		incomplete_reason = ?, completed_at = ?, lease_owner = NULL, lease_expires_at = NULL
		WHERE ` + fenced + ` RETURNING task_id, seq`)

	addTotalsSQL = prepared(`UPDATE tasks SET credits = credits + ?, duration_ms = duration_ms + ?
		WHERE id = ?`)

	releaseSQL = prepared(`UPDATE turns SET status = 'pending',
		attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL
		WHERE ` + fenced + ` RETURNING task_id, seq`)

	// setTaskStatusSQL sets a task's status (and completed_at) when seq is
	// its latest turn; an earlier turn never speaks for the task.
	setTaskStatusSQL = prepared(`UPDATE tasks SET status = ?, completed_at = ?
		WHERE id = ? AND turn_count = ?`)
)

// fenced is the condition every change to a claimed turn must meet: the
// claim is still owner's at attempt.
const fenced = `id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?`

// ClaimTurn leases the oldest runnable turn to owner until now+lease and
// marks it running. It returns nil, nil when nothing is runnable.
func (s *Store) ClaimTurn(ctx context.Context, owner string, now time.Time, lease time.Duration) (*store.Claim, error) {
	var claim *store.Claim
	err := s.writer().inTx(ctx, func(c conn) error {
		turn, err := scanTurn(c.QueryRowContext(ctx, claimSQL, owner, unixNano(now.Add(lease))))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, setTaskStatusSQL,
			string(store.StatusRunning), nil, turn.TaskID, turn.Seq); err != nil {
			return err
		}
		worker, err := scanWorker(c.QueryRowContext(ctx, taskWorkerSQL, turn.TaskID))
		if err != nil {
			return err
		}
		history, err := listTurns(ctx, c, turn.TaskID, turn.Seq)
		if err != nil {
			return err
		}
		claim = &store.Claim{Turn: turn, Worker: worker, History: history, Owner: owner, Attempt: turn.Attempts}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim turn: %w", err)
	}
	return claim, nil
}

// Heartbeat extends a held lease to until. ErrLeaseLost when the claim is no
// longer owner's at attempt.
func (s *Store) Heartbeat(ctx context.Context, turnID, owner string, attempt int, until time.Time) error {
	res, err := s.writer().ExecContext(ctx, heartbeatSQL, unixNano(until), turnID, owner, attempt)
	if err == nil {
		err = leaseHeld(res)
	}
	if err != nil {
		return fmt.Errorf("heartbeat turn %s: %w", turnID, err)
	}
	return nil
}

// leaseHeld turns a fenced update that changed nothing into ErrLeaseLost.
func leaseHeld(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrLeaseLost
	}
	return nil
}

// FinishTurn records the end of a claimed turn and updates its task.
// ErrLeaseLost when the claim is no longer owner's at attempt.
func (s *Store) FinishTurn(ctx context.Context, p store.FinishTurnParams) error {
	if !p.Status.Terminal() {
		return fmt.Errorf("finish turn %s: status %q is not terminal", p.TurnID, p.Status)
	}
	err := s.writer().inTx(ctx, func(c conn) error {
		var (
			taskID string
			seq    int
		)
		err := c.QueryRowContext(ctx, finishSQL,
			string(p.Status), p.OutputText, p.InputTokens, p.OutputTokens, p.Credits,
			p.DurationMs, nullBytes(p.StructuredOutput), p.ErrorCode, p.ErrorMessage,
			p.IncompleteReason, unixNano(p.Now), p.TurnID, p.Owner, p.Attempt).Scan(&taskID, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, addTotalsSQL, p.Credits, p.DurationMs, taskID); err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, setTaskStatusSQL, string(p.Status), unixNano(p.Now), taskID, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish turn %s: %w", p.TurnID, err)
	}
	return nil
}

// ReleaseTurn puts a claimed turn back to pending without counting the
// attempt. ErrLeaseLost when the claim is no longer owner's at attempt.
func (s *Store) ReleaseTurn(ctx context.Context, turnID, owner string, attempt int) error {
	err := s.writer().inTx(ctx, func(c conn) error {
		var (
			taskID string
			seq    int
		)
		err := c.QueryRowContext(ctx, releaseSQL, turnID, owner, attempt).Scan(&taskID, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, setTaskStatusSQL, string(store.StatusPending), nil, taskID, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("release turn %s: %w", turnID, err)
	}
	return nil
}

// ReapExpired requeues running turns whose lease ended before now, or ends
// them in error when they used maxAttempts.
func (s *Store) ReapExpired(ctx context.Context, now time.Time, maxAttempts int) (store.ReapResult, error) {
	var res store.ReapResult
	err := s.writer().inTx(ctx, func(c conn) error {
		var err error
		res.Failed, err = reap(ctx, c, store.StatusError, unixNano(now), `UPDATE turns SET
			status = 'error', error_code = 'attempts_exhausted',
			error_message = 'the runner''s lease expired on each of the turn''s ' || attempts || ' attempts',
			completed_at = ?1, lease_owner = NULL, lease_expires_at = NULL
			WHERE status = 'running' AND lease_expires_at < ?1 AND attempts >= ?2
			RETURNING id, task_id, seq`, unixNano(now), maxAttempts)
		if err != nil {
			return err
		}
		res.Requeued, err = reap(ctx, c, store.StatusPending, nil, `UPDATE turns SET
			status = 'pending', lease_owner = NULL, lease_expires_at = NULL
			WHERE status = 'running' AND lease_expires_at < ?
			RETURNING id, task_id, seq`, unixNano(now))
		return err
	})
	if err != nil {
		return store.ReapResult{}, fmt.Errorf("reap expired leases: %w", err)
	}
	return res, nil
}

// reap runs one reaping update that returns (id, task_id, seq) rows, then
// gives each latest turn's task its new status and completion time.
func reap(ctx context.Context, c conn, status store.Status, completedAt any, query string, args ...any) ([]string, error) {
	type reaped struct {
		id, taskID string
		seq        int
	}
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var turns []reaped
	for rows.Next() {
		var r reaped
		if err := rows.Scan(&r.id, &r.taskID, &r.seq); err != nil {
			rows.Close()
			return nil, err
		}
		turns = append(turns, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range turns {
		if _, err := c.ExecContext(ctx, setTaskStatusSQL, string(status), completedAt, r.taskID, r.seq); err != nil {
			return nil, err
		}
		ids = append(ids, r.id)
	}
	return ids, nil
}

// QueueStats counts pending and running turns.
func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	var st store.QueueStats
	err := s.r.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE status = 'pending'),
		count(*) FILTER (WHERE status = 'running')
		FROM turns WHERE status IN ('pending', 'running')`).Scan(&st.Pending, &st.Running)
	if err != nil {
		return store.QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}
