package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/handinger/handinger/internal/store"
)

var (
	// claimSQL leases up to ?1 runnable turns to owner ?4 until ?5, in one
	// statement, taking organizations in turn within the allowances of
	// store.Share: ?2 is a JSON object of the allowances of the
	// organizations the claimer holds turns of, ?3 that of the others.
	//
	// o lists the organizations with a pending turn, one index probe each
	// (turns_pending_org), however long their queues; allowed keeps those
	// with room, with their allowance. For each of them, the array of its
	// oldest runnable turns, at most store.RoundShare of the claim: pending,
	// with no earlier live turn of their task, so at most one turn per
	// task, the first live one (a task's turns run one after another, in
	// seq order). An element's index in its array is its rank in its
	// organization's queue; the claim keeps those within the allowance and
	// takes ?1 by rank, then acceptance. The subquery sees the state before
	// the statement changes a row. RETURNING order is unspecified, hence the
	// position.
	claimSQL = prepared(`UPDATE turns
	SET status = 'running', lease_owner = ?4, lease_expires_at = ?5, attempts = attempts + 1
	WHERE status = 'pending' AND position IN (
		WITH RECURSIVE o(id) AS (
			SELECT (SELECT min(org_id) FROM turns WHERE status = 'pending')
			UNION ALL
			SELECT (SELECT min(t.org_id) FROM turns t WHERE t.status = 'pending' AND t.org_id > o.id)
			FROM o WHERE o.id IS NOT NULL
		), allowed AS (
			SELECT id, n FROM (
				SELECT o.id, min(?1, coalesce((SELECT h.value FROM json_each(?2) h WHERE h.key = o.id), ?3)) AS n
				FROM o WHERE o.id IS NOT NULL)
			WHERE n > 0
		), k AS (SELECT count(*) AS k FROM allowed)
		SELECT j.value FROM allowed a, json_each((SELECT json_group_array(position) FROM (
			SELECT t.position FROM turns t
			WHERE t.org_id = a.id AND t.status = 'pending' AND NOT EXISTS (
				SELECT 1 FROM turns e
				WHERE e.org_id = t.org_id AND e.task_id = t.task_id AND e.seq < t.seq
				AND e.status IN ('pending', 'running'))
			ORDER BY t.position
			LIMIT (SELECT CASE WHEN k <= 1 THEN ?1 ELSE (?1 + k - 1) / k END FROM k)))) j
		WHERE j.key < a.n
		ORDER BY j.key, j.value
		LIMIT ?1)
	RETURNING position, ` + turnColumns)

	// The statements that complete a claim take the claimed turns as a
	// JSON array of their positions, the turns' rowids: one statement for
	// all the turns, integers that need no escaping, and lookups by rowid.

	// runningTasksSQL gives the tasks of the claimed turns the status
	// running, those whose latest turn is the claimed one: a task with a
	// later turn waiting stays pending.
	runningTasksSQL = prepared(`UPDATE tasks SET status = 'running', completed_at = NULL
		FROM turns c
		WHERE c.position IN (SELECT value FROM json_each(?))
		AND tasks.org_id = c.org_id AND tasks.id = c.task_id AND tasks.turn_count = c.seq`)

	// claimWorkersSQL is the worker of each claimed turn's task, by the
	// turn's position.
	claimWorkersSQL = prepared(`SELECT c.position, ` + qualified("w", workerColumns) + `
		FROM turns c JOIN tasks t ON t.org_id = c.org_id AND t.id = c.task_id JOIN workers w ON w.id = t.worker_id
		WHERE c.position IN (SELECT value FROM json_each(?))`)

	// historiesSQL is, for each claimed turn, the earlier turns of its
	// task, by the claimed turn's position, in seq order.
	historiesSQL = prepared(`SELECT c.position, ` + qualified("h", turnColumns) + `
		FROM turns c JOIN turns h ON h.org_id = c.org_id AND h.task_id = c.task_id AND h.seq < c.seq
		WHERE c.position IN (SELECT value FROM json_each(?))
		ORDER BY c.position, h.seq`)

	heartbeatSQL = prepared(`UPDATE turns SET lease_expires_at = ? WHERE ` + fenced)

	// finishTaskSQL adds a claimed turn's totals to its task and, when the
	// turn is the task's latest, gives the task its status and completion
	// time; it changes nothing unless the claim is held. It runs before
	// finishSQL, which ends the claim.
	finishTaskSQL = prepared(`UPDATE tasks SET
		credits = credits + ?1, duration_ms = duration_ms + ?2,
		status = iif(turn_count = t.seq, ?3, status),
		completed_at = iif(turn_count = t.seq, ?4, completed_at)
		FROM (SELECT org_id, task_id, seq FROM turns WHERE ` + fencedNumbered + `) t
		WHERE tasks.org_id = t.org_id AND tasks.id = t.task_id`)

	finishSQL = prepared(`UPDATE turns SET
		status = ?, output_text = ?, input_tokens = ?, output_tokens = ?, credits = ?,
		duration_ms = ?, structured_output = ?, error_code = ?, error_message = ?,
		incomplete_reason = ?, completed_at = ?, lease_owner = NULL, lease_expires_at = NULL
		WHERE ` + fenced)

	releaseSQL = prepared(`UPDATE turns SET status = 'pending',
		attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL
		WHERE ` + fenced + ` RETURNING org_id, task_id, seq`)

	// setTaskStatusSQL sets a task's status (and completed_at) when seq is
	// its latest turn; an earlier turn never speaks for the task.
	setTaskStatusSQL = prepared(`UPDATE tasks SET status = ?, completed_at = ?
		WHERE org_id = ? AND id = ? AND turn_count = ?`)
)

// fenced is the condition every change to a claimed turn must meet: the
// claim is still owner's at attempt. fencedNumbered is the same for
// statements that number their parameters, as ?5, ?6 and ?7.
const (
	fenced         = `id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?`
	fencedNumbered = `id = ?5 AND status = 'running' AND lease_owner = ?6 AND attempts = ?7`
)

// ClaimTurns leases up to max runnable turns, at most one of any task and
// organizations in turn within share, to owner until now+lease and marks
// them running, in one transaction. The claims are in acceptance order;
// none when nothing is runnable.
func (s *Store) ClaimTurns(ctx context.Context, owner string, now time.Time, lease time.Duration, max int, share store.Share) ([]store.Claim, error) {
	claims, err := s.claimTurns(ctx, owner, now, lease, max, share)
	if err != nil {
		return nil, fmt.Errorf("claim %d turns: %w", max, err)
	}
	return claims, nil
}

// claimTurns runs a claim in four statements whatever the number of turns:
// the claim, the tasks' status, their workers, and the histories of the
// turns that have any.
func (s *Store) claimTurns(ctx context.Context, owner string, now time.Time, lease time.Duration, max int, share store.Share) ([]store.Claim, error) {
	if max <= 0 { // SQLite reads a negative LIMIT as no limit
		return nil, nil
	}
	var claims []store.Claim
	err := s.writer().inTx(ctx, func(c conn) error {
		claimed, err := claim(ctx, c, owner, unixNano(now.Add(lease)), max, share)
		if err != nil || len(claimed) == 0 {
			return err
		}
		var all, followUps []int64 // positions; followUps: of the turns with a history
		for _, t := range claimed {
			all = append(all, t.pos)
			if t.claim.Turn.Seq > 1 {
				followUps = append(followUps, t.pos)
			}
		}
		if _, err := c.ExecContext(ctx, runningTasksSQL, jsonArray(all)); err != nil {
			return err
		}
		workers, err := claimWorkers(ctx, c, jsonArray(all))
		if err != nil {
			return err
		}
		var histories map[int64][]store.Turn // nil: no claimed turn has a history
		if len(followUps) > 0 {
			if histories, err = claimHistories(ctx, c, jsonArray(followUps)); err != nil {
				return err
			}
		}
		claims = make([]store.Claim, len(claimed))
		for i, t := range claimed {
			w, ok := workers[t.pos]
			if !ok { // the foreign keys forbid it
				return fmt.Errorf("task %s of turn %s has no worker", t.claim.Turn.TaskID, t.claim.Turn.ID)
			}
			claims[i] = t.claim
			claims[i].Worker = w
			if claims[i].History = histories[t.pos]; claims[i].History == nil {
				claims[i].History = []store.Turn{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// claimed is a turn claimSQL claimed, with its position.
type claimed struct {
	pos   int64
	claim store.Claim // without its worker and history yet
}

// claim runs claimSQL and returns the claimed turns in acceptance order.
func claim(ctx context.Context, c conn, owner string, until int64, max int, share store.Share) ([]claimed, error) {
	allowances, err := json.Marshal(share.HeldAllowances(max))
	if err != nil {
		return nil, err
	}
	rows, err := c.QueryContext(ctx, claimSQL, max, string(allowances), share.Allowance("", max), owner, until)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var turns []claimed
	for rows.Next() {
		var pos int64
		turn, err := scanTurn(withPrefix{rows, &pos})
		if err != nil {
			return nil, err
		}
		turns = append(turns, claimed{pos, store.Claim{Turn: turn, Owner: owner, Attempt: turn.Attempts}})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(turns, func(a, b claimed) int { return cmp.Compare(a.pos, b.pos) })
	return turns, nil
}

// withPrefix is a scanner for rows with one more column in front: that one
// goes to first, the others where the caller of Scan asks.
type withPrefix struct {
	sc    scanner
	first any
}

func (w withPrefix) Scan(dest ...any) error {
	return w.sc.Scan(append([]any{w.first}, dest...)...)
}

// claimWorkers runs claimWorkersSQL: the worker of each claimed turn, by
// the turn's position.
func claimWorkers(ctx context.Context, c conn, positions string) (map[int64]store.Worker, error) {
	rows, err := c.QueryContext(ctx, claimWorkersSQL, positions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	workers := map[int64]store.Worker{}
	for rows.Next() {
		var pos int64
		w, err := scanWorker(withPrefix{rows, &pos})
		if err != nil {
			return nil, err
		}
		workers[pos] = w
	}
	return workers, rows.Err()
}

// claimHistories runs historiesSQL: the history of each claimed turn, by
// the turn's position.
func claimHistories(ctx context.Context, c conn, positions string) (map[int64][]store.Turn, error) {
	rows, err := c.QueryContext(ctx, historiesSQL, positions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	histories := map[int64][]store.Turn{}
	for rows.Next() {
		var pos int64
		t, err := scanTurn(withPrefix{rows, &pos})
		if err != nil {
			return nil, err
		}
		histories[pos] = append(histories[pos], t)
	}
	return histories, rows.Err()
}

// jsonArray writes integers as a JSON array, to pass a list to json_each as
// one parameter.
func jsonArray(ns []int64) string {
	b := make([]byte, 0, 2+len(ns)*8)
	b = append(b, '[')
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, n, 10)
	}
	return string(append(b, ']'))
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

// FinishTurns records the ends of several claimed turns and updates their
// tasks, in one transaction, as FinishTurn would one after another. errs[i]
// is the error of p[i] alone: ErrLeaseLost when its claim is no longer
// held. When err is set, nothing was recorded.
func (s *Store) FinishTurns(ctx context.Context, p []store.FinishTurnParams) (errs []error, err error) {
	errs, err = s.finishTurns(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("finish %d turns: %w", len(p), err)
	}
	return errs, nil
}

func (s *Store) finishTurns(ctx context.Context, ps []store.FinishTurnParams) ([]error, error) {
	errs := make([]error, len(ps))
	valid := 0
	for i, p := range ps {
		if !p.Status.Terminal() {
			errs[i] = fmt.Errorf("finish turn %s: status %q is not terminal", p.TurnID, p.Status)
		} else {
			valid++
		}
	}
	if valid == 0 {
		return errs, nil
	}
	err := s.writer().inTx(ctx, func(c conn) error {
		for i, p := range ps {
			if errs[i] != nil {
				continue
			}
			held, err := finishTurn(ctx, c, p)
			if err != nil {
				return err
			}
			if !held {
				errs[i] = fmt.Errorf("finish turn %s: %w", p.TurnID, store.ErrLeaseLost)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// finishTurn records the end of a claimed turn and updates its task, in
// c's transaction. held is false, and nothing changed, when the claim is no
// longer p.Owner's at p.Attempt. It uses no RETURNING clause: each costs
// SQLite an ephemeral table.
func finishTurn(ctx context.Context, c conn, p store.FinishTurnParams) (held bool, err error) {
	res, err := c.ExecContext(ctx, finishTaskSQL, p.Credits, p.DurationMs, string(p.Status), unixNano(p.Now),
		p.TurnID, p.Owner, p.Attempt)
	if err != nil {
		return false, err
	}
	if err := leaseHeld(res); errors.Is(err, store.ErrLeaseLost) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	res, err = c.ExecContext(ctx, finishSQL,
		string(p.Status), p.OutputText, p.InputTokens, p.OutputTokens, p.Credits,
		p.DurationMs, nullBytes(p.StructuredOutput), p.ErrorCode, p.ErrorMessage,
		p.IncompleteReason, unixNano(p.Now), p.TurnID, p.Owner, p.Attempt)
	if err != nil {
		return false, err
	}
	if err := leaseHeld(res); err != nil { // finishTaskSQL saw the claim held
		return false, fmt.Errorf("turn %s changed under its finish: %w", p.TurnID, err)
	}
	return true, nil
}

// ReleaseTurn puts a claimed turn back to pending without counting the
// attempt. ErrLeaseLost when the claim is no longer owner's at attempt.
func (s *Store) ReleaseTurn(ctx context.Context, turnID, owner string, attempt int) error {
	err := s.writer().inTx(ctx, func(c conn) error {
		var (
			orgID, taskID string
			seq           int
		)
		err := c.QueryRowContext(ctx, releaseSQL, turnID, owner, attempt).Scan(&orgID, &taskID, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, setTaskStatusSQL, string(store.StatusPending), nil, orgID, taskID, seq)
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
			RETURNING id, org_id, task_id, seq`, unixNano(now), maxAttempts)
		if err != nil {
			return err
		}
		res.Requeued, err = reap(ctx, c, store.StatusPending, nil, `UPDATE turns SET
			status = 'pending', lease_owner = NULL, lease_expires_at = NULL
			WHERE status = 'running' AND lease_expires_at < ?
			RETURNING id, org_id, task_id, seq`, unixNano(now))
		return err
	})
	if err != nil {
		return store.ReapResult{}, fmt.Errorf("reap expired leases: %w", err)
	}
	return res, nil
}

// reap runs one reaping update that returns (id, org_id, task_id, seq) rows, then
// gives each latest turn's task its new status and completion time.
func reap(ctx context.Context, c conn, status store.Status, completedAt any, query string, args ...any) ([]string, error) {
	type reaped struct {
		id, orgID, taskID string
		seq               int
	}
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var turns []reaped
	for rows.Next() {
		var r reaped
		if err := rows.Scan(&r.id, &r.orgID, &r.taskID, &r.seq); err != nil {
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
		if _, err := c.ExecContext(ctx, setTaskStatusSQL, string(status), completedAt, r.orgID, r.taskID, r.seq); err != nil {
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
