package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/handinger/handinger/internal/store"
)

// claimSQL claims up to $3 turns for owner $1 until $2, in one statement
// and one round trip, and returns them with their workers and histories.
// The organizations take turns, within the allowances of store.Share: $6 is
// the allowance of an organization the claimer holds nothing of (PerOrg, or
// $3), $4 and $5 those of the organizations it holds turns of.
//
// orgs lists the organizations with a pending turn, one index probe each
// (turns_pending_org), and allowed keeps those with room, each with the
// most turns this claim takes of it (store.RoundShare).
//
// candidates walks each organization's pending turns in position order and
// keeps those whose task has no earlier live turn (OFFSET 0 keeps that
// check a lookup per candidate on turns_live, instead of an anti-join the
// planner may choose over the whole index): in any snapshot that is at most
// one turn per task, its first live one, so one claim never takes two turns
// of a task. FOR UPDATE SKIP LOCKED makes concurrent claimers, in any
// process, pass over the turns another is taking instead of waiting for
// them; PostgreSQL checks the status again on the newest version of each
// row it locks, so a turn claimed (or finished) since the snapshot is
// dropped, not claimed twice. Two turns of a task never run at once
// whatever the snapshot: an earlier turn's end is final, so a snapshot that
// shows it ended is right, and one that shows it live holds the later turn
// back. chosen ranks the candidates by their place in their organization's
// queue, then by acceptance, and keeps $3; the few it leaves were locked
// for the statement only.
//
// claimed marks the turns running and counts the attempt, the fencing
// token; running_tasks gives their tasks the status running when the
// claimed turn is the task's latest. The SELECT returns, in position order,
// a row per claimed turn (kind 0, with its worker) followed by its history,
// the task's earlier turns in seq order (kind 1, worker columns empty).
var claimSQL = `WITH RECURSIVE orgs(id) AS (
	SELECT (SELECT min(org_id) FROM turns WHERE status = 'pending')
	UNION ALL
	SELECT (SELECT min(t.org_id) FROM turns t WHERE t.status = 'pending' AND t.org_id > orgs.id)
	FROM orgs WHERE orgs.id IS NOT NULL
), room AS (
	SELECT o.id, least($3, coalesce(h.allowance, $6)) AS n
	FROM orgs o LEFT JOIN unnest($4::text[], $5::int[]) AS h(org, allowance) ON h.org = o.id
	WHERE o.id IS NOT NULL
), allowed AS (
	SELECT id, least(n, CASE WHEN count(*) OVER () <= 1 THEN $3 ELSE ($3 + count(*) OVER () - 1) / count(*) OVER () END) AS n
	FROM room WHERE n > 0
), candidates AS (
	SELECT c.id, c.org_id, c.position FROM allowed a CROSS JOIN LATERAL (
		SELECT c.id, c.org_id, c.position FROM turns c
		WHERE c.org_id = a.id AND c.status = 'pending' AND NOT EXISTS (
			SELECT 1 FROM turns e
			WHERE e.org_id = c.org_id AND e.task_id = c.task_id AND e.seq < c.seq
				AND e.status IN ('pending', 'running')
			OFFSET 0)
		ORDER BY c.position
		LIMIT a.n
		FOR UPDATE OF c SKIP LOCKED) c
), chosen AS (
	SELECT id FROM (
		SELECT id, position, row_number() OVER (PARTITION BY org_id ORDER BY position) AS rank FROM candidates
	) r
	ORDER BY rank, position
	LIMIT $3
), claimed AS (
	UPDATE turns u SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempts = u.attempts + 1
	FROM chosen WHERE u.id = chosen.id AND u.status = 'pending'
	RETURNING u.position, ` + qualified("u", turnColumns) + `
), running_tasks AS (
	UPDATE tasks t SET status = 'running', completed_at = NULL
	FROM claimed WHERE t.org_id = claimed.org_id AND t.id = claimed.task_id AND t.turn_count = claimed.seq
)
SELECT c.position, 0 AS kind, c.seq AS ord, ` + qualified("c", turnColumns) + `, ` + qualified("w", workerColumns) + `
FROM claimed c JOIN tasks t ON t.org_id = c.org_id AND t.id = c.task_id JOIN workers w ON w.id = t.worker_id
UNION ALL
SELECT c.position, 1, h.seq, ` + qualified("h", turnColumns) + `, '', '', NULL, '', 0::bigint
FROM claimed c JOIN turns h ON h.org_id = c.org_id AND h.task_id = c.task_id AND h.seq < c.seq
ORDER BY 1, 2, 3`

// planned runs a statement as an unnamed prepared statement, which
// PostgreSQL plans at every execution with its parameters and the tables'
// current size. The queue's batch statements use it: a cached generic plan
// made while the tables were small (a hash anti-join or a sequential scan
// over turns) stays in use as they grow, and without autovacuum's ANALYZE
// nothing replaces it; planning a batch statement anew costs little next to
// the batch. Statements that look rows up by primary key keep pgx's cached
// statements.
const planned = pgx.QueryExecModeExec

// ClaimTurns leases up to max runnable turns, at most one of any task and
// organizations in turn within share, to owner until now+lease and marks
// them running, in one statement. The claims are in acceptance order; none
// when nothing is runnable.
func (s *Store) ClaimTurns(ctx context.Context, owner string, now time.Time, lease time.Duration, max int, share store.Share) ([]store.Claim, error) {
	claims, err := s.claimTurns(ctx, owner, now, lease, max, share)
	if err != nil {
		return nil, fmt.Errorf("claim %d turns: %w", max, err)
	}
	return claims, nil
}

func (s *Store) claimTurns(ctx context.Context, owner string, now time.Time, lease time.Duration, max int, share store.Share) ([]store.Claim, error) {
	if max <= 0 {
		return []store.Claim{}, nil
	}
	var claims []store.Claim
	err := retry(ctx, func() error {
		var err error
		claims, err = s.claim(ctx, owner, s.leaseTime(ctx, now.Add(lease)), max, share)
		return err
	})
	if err != nil {
		return nil, s.health.Record(translate(err))
	}
	if len(claims) > 0 { // rows were written; an empty claim says nothing of writes
		s.health.Record(nil)
	}
	return claims, nil
}

// claim runs claimSQL and assembles its rows into claims.
func (s *Store) claim(ctx context.Context, owner string, until int64, max int, share store.Share) ([]store.Claim, error) {
	held, allowances := []string{}, []int32{}
	for org, n := range share.HeldAllowances(max) {
		held, allowances = append(held, org), append(allowances, int32(n))
	}
	rows, err := s.pool.Query(ctx, claimSQL, planned, owner, until, max, held, allowances, share.Allowance("", max))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	claims := []store.Claim{}
	for rows.Next() {
		var (
			pos       int64
			kind, ord int
			turn      turnRow
			worker    workerRow
		)
		dest := append([]any{&pos, &kind, &ord}, turn.dest()...)
		if err := rows.Scan(append(dest, worker.dest()...)...); err != nil {
			return nil, err
		}
		if kind == 0 {
			t := turn.turn()
			claims = append(claims, store.Claim{
				Turn: t, Worker: worker.worker(), History: []store.Turn{}, Owner: owner, Attempt: t.Attempts,
			})
			continue
		}
		// Rows come ordered by claimed position: a history row follows its
		// claim's row.
		c := &claims[len(claims)-1]
		c.History = append(c.History, turn.turn())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return claims, nil
}

// fenced is the condition every change to a claimed turn must meet: the
// claim is still owner's at attempt.
const fenced = `status = 'running' AND lease_owner = $2 AND attempts = $3`

// Heartbeat extends a held lease to until. ErrLeaseLost when the claim is no
// longer owner's at attempt.
func (s *Store) Heartbeat(ctx context.Context, turnID, owner string, attempt int, until time.Time) error {
	var n int64
	err := retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE turns SET lease_expires_at = $4 WHERE id = $1 AND `+fenced,
			turnID, owner, attempt, s.leaseTime(ctx, until))
		n = tag.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		err = store.ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("heartbeat turn %s: %w", turnID, err)
	}
	return nil
}

// finishSQL records the ends of a batch of claimed turns, given as
// parallel arrays, in one statement: the fenced update of each turn whose
// claim is still held, then the totals of their tasks and, for a task whose
// latest turn ended, its status and completion time. It returns the batch
// indexes of the turns it recorded.
//
// Two turns of one task are never running together, so no task takes two
// rows of finished; the caller keeps a turn's identical items to the first.
const finishSQL = `WITH p AS (
	SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[],
		$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bytea[], $12::text[],
		$13::text[], $14::text[], $15::bigint[])
	AS p(i, id, owner, attempt, status, output_text, input_tokens, output_tokens, credits,
		duration_ms, structured_output, error_code, error_message, incomplete_reason, now)
), finished AS (
	UPDATE turns u SET status = p.status, output_text = p.output_text, input_tokens = p.input_tokens,
		output_tokens = p.output_tokens, credits = p.credits, duration_ms = p.duration_ms,
		structured_output = p.structured_output, error_code = p.error_code,
		error_message = p.error_message, incomplete_reason = p.incomplete_reason,
		completed_at = p.now, lease_owner = NULL, lease_expires_at = NULL
	FROM p
	WHERE u.id = p.id AND u.status = 'running' AND u.lease_owner = p.owner AND u.attempts = p.attempt
	RETURNING p.i, u.org_id, u.task_id, u.seq, p.status, p.credits, p.duration_ms, p.now
), totals AS (
	UPDATE tasks t SET credits = t.credits + f.credits, duration_ms = t.duration_ms + f.duration_ms,
		status = CASE WHEN t.turn_count = f.seq THEN f.status ELSE t.status END,
		completed_at = CASE WHEN t.turn_count = f.seq THEN f.now ELSE t.completed_at END
	FROM finished f WHERE t.org_id = f.org_id AND t.id = f.task_id
)
SELECT i FROM finished`

// FinishTurns records the ends of several claimed turns and updates their
// tasks, in one statement, as FinishTurn would one after another. errs[i]
// is the error of p[i] alone: ErrLeaseLost when its claim is no longer
// held. When err is set, nothing was recorded.
func (s *Store) FinishTurns(ctx context.Context, p []store.FinishTurnParams) (errs []error, err error) {
	errs, err = s.finishTurns(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("finish %d turns: %w", len(p), s.health.Record(translate(err)))
	}
	if slices.Contains(errs, nil) { // some rows were written
		s.health.Record(nil)
	}
	return errs, nil
}

// claimKey identifies a claim.
type claimKey struct {
	turnID, owner string
	attempt       int
}

func (s *Store) finishTurns(ctx context.Context, ps []store.FinishTurnParams) ([]error, error) {
	errs := make([]error, len(ps))
	var (
		a     finishArrays
		first = map[claimKey]bool{}
	)
	for i, p := range ps {
		k := claimKey{p.TurnID, p.Owner, p.Attempt}
		switch {
		case !p.Status.Terminal():
			errs[i] = fmt.Errorf("finish turn %s: status %q is not terminal", p.TurnID, p.Status)
		case first[k]:
			// Done one after the other, the first item of a claim ends it,
			// and the claim is lost to the next; if the first finds it lost,
			// so does the next.
			errs[i] = fmt.Errorf("finish turn %s: %w", p.TurnID, store.ErrLeaseLost)
		default:
			first[k] = true
			a.add(i, p)
		}
	}
	if len(a.i) == 0 {
		return errs, nil
	}
	done := make([]bool, len(ps))
	err := retry(ctx, func() error {
		clear(done)
		rows, err := s.pool.Query(ctx, finishSQL, planned, a.i, a.id, a.owner, a.attempt, a.status, a.outputText,
			a.inputTokens, a.outputTokens, a.credits, a.durationMs, a.structuredOutput, a.errorCode,
			a.errorMessage, a.incompleteReason, a.now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i int32
			if err := rows.Scan(&i); err != nil {
				return err
			}
			done[i] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, i := range a.i {
		if !done[i] {
			errs[i] = fmt.Errorf("finish turn %s: %w", ps[i].TurnID, store.ErrLeaseLost)
		}
	}
	return errs, nil
}

// finishArrays are the items of a finishSQL batch, a column each.
type finishArrays struct {
	i                                         []int32
	id, owner                                 []string
	attempt                                   []int32
	status, outputText                        []string
	inputTokens, outputTokens                 []int64
	credits, durationMs                       []int64
	structuredOutput                          [][]byte
	errorCode, errorMessage, incompleteReason []string
	now                                       []int64
}

func (a *finishArrays) add(i int, p store.FinishTurnParams) {
	a.i = append(a.i, int32(i))
	a.id = append(a.id, p.TurnID)
	a.owner = append(a.owner, p.Owner)
	a.attempt = append(a.attempt, int32(p.Attempt))
	a.status = append(a.status, string(p.Status))
	a.outputText = append(a.outputText, p.OutputText)
	a.inputTokens = append(a.inputTokens, p.InputTokens)
	a.outputTokens = append(a.outputTokens, p.OutputTokens)
	a.credits = append(a.credits, p.Credits)
	a.durationMs = append(a.durationMs, p.DurationMs)
	a.structuredOutput = append(a.structuredOutput, nullBytes(p.StructuredOutput))
	a.errorCode = append(a.errorCode, p.ErrorCode)
	a.errorMessage = append(a.errorMessage, p.ErrorMessage)
	a.incompleteReason = append(a.incompleteReason, p.IncompleteReason)
	a.now = append(a.now, unixNano(p.Now))
}

// releaseSQL puts a claimed turn back to pending without counting the
// attempt, and its task too when the turn is its latest.
const releaseSQL = `WITH released AS (
	UPDATE turns SET status = 'pending', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL
	WHERE id = $1 AND ` + fenced + `
	RETURNING org_id, task_id, seq
), pending_task AS (
	UPDATE tasks t SET status = 'pending', completed_at = NULL
	FROM released r WHERE t.org_id = r.org_id AND t.id = r.task_id AND t.turn_count = r.seq
)
SELECT count(*) FROM released`

// ReleaseTurn puts a claimed turn back to pending without counting the
// attempt. ErrLeaseLost when the claim is no longer owner's at attempt.
func (s *Store) ReleaseTurn(ctx context.Context, turnID, owner string, attempt int) error {
	var n int
	err := retry(ctx, func() error {
		return s.pool.QueryRow(ctx, releaseSQL, planned, turnID, owner, attempt).Scan(&n)
	})
	if err == nil && n == 0 {
		err = store.ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("release turn %s: %w", turnID, err)
	}
	return nil
}

// reapSQL ends the leases that ended before $1 ($1 itself is still
// covered; lease time, see leaseTime): a turn that used its $2 attempts ends
// in error at $3, the others go
// back to pending, and their tasks follow when they are the tasks' latest
// turns. SKIP LOCKED passes over a turn being finished or heartbeaten right
// now (the next pass sees it if its lease is still over), so the reaper
// never waits on a runner. It returns the reaped turns in position order,
// with what became of them.
const reapSQL = `WITH expired AS (
	SELECT id FROM turns
	WHERE status = 'running' AND lease_expires_at < $1
	FOR UPDATE SKIP LOCKED
), reaped AS (
	UPDATE turns u SET
		status = CASE WHEN u.attempts >= $2 THEN 'error' ELSE 'pending' END,
		error_code = CASE WHEN u.attempts >= $2 THEN 'attempts_exhausted' ELSE u.error_code END,
		error_message = CASE WHEN u.attempts >= $2
			THEN 'the runner''s lease expired on each of the turn''s ' || u.attempts || ' attempts'
			ELSE u.error_message END,
		completed_at = CASE WHEN u.attempts >= $2 THEN $3::bigint END,
		lease_owner = NULL, lease_expires_at = NULL
	FROM expired
	WHERE u.id = expired.id AND u.status = 'running' AND u.lease_expires_at < $1
	RETURNING u.id, u.org_id, u.task_id, u.seq, u.position, u.status, u.completed_at
), reaped_tasks AS (
	UPDATE tasks t SET status = r.status, completed_at = r.completed_at
	FROM reaped r WHERE t.org_id = r.org_id AND t.id = r.task_id AND t.turn_count = r.seq
)
SELECT id, status FROM reaped ORDER BY position`

// ReapExpired requeues running turns whose lease ended before now, or ends
// them in error when they used maxAttempts.
func (s *Store) ReapExpired(ctx context.Context, now time.Time, maxAttempts int) (store.ReapResult, error) {
	var res store.ReapResult
	err := retry(ctx, func() error {
		res = store.ReapResult{}
		rows, err := s.pool.Query(ctx, reapSQL, planned, s.leaseTime(ctx, now), maxAttempts, unixNano(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, status string
			if err := rows.Scan(&id, &status); err != nil {
				return err
			}
			if store.Status(status) == store.StatusError {
				res.Failed = append(res.Failed, id)
			} else {
				res.Requeued = append(res.Requeued, id)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return store.ReapResult{}, fmt.Errorf("reap expired leases: %w", err)
	}
	return res, nil
}

// QueueStats counts pending and running turns.
func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	var st store.QueueStats
	err := s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE status = 'pending'),
		count(*) FILTER (WHERE status = 'running')
		FROM turns WHERE status IN ('pending', 'running')`).Scan(&st.Pending, &st.Running)
	if err != nil {
		return store.QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}
