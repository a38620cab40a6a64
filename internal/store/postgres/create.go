package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/handinger/handinger/internal/store"
)

// createSQL stores a create call in one statement, one round trip:
//
//   - prior: an idempotency key already stored stops the create; the call
//     is then a replay, which the caller reads (see replay).
//   - named: the worker the call names, when it is the organization's.
//   - task: an upsert on the organization's task id. A new id inserts the task with
//     turn_count 1. An existing one takes the update branch, which locks the
//     task's row, waiting for any concurrent create on the task, and
//     increments turn_count on the newest version of the row: concurrent
//     follow-ups get consecutive seqs, without gaps, and concurrent creates
//     of one new client-chosen id make one task and follow-ups to it. A task
//     id is the organization's own: another organization's task of the
//     same id is another row, which this one never meets. The update's
//     WHERE refuses an archived or another worker's task, and a
//     server-chosen id that is taken; a refused call
//     returns no row, and the caller asks why (see refusal).
//   - new_worker, new_turn, new_key: what depends on the task row, which
//     the foreign keys, checked at the end of the statement, see.
//
// If a concurrent call stored the same idempotency key after this
// statement's snapshot was taken, new_key waits for it and fails with a
// unique violation, which undoes the whole statement; the caller then
// replays that call.
//
// The parameters: $1 task id, $2 org, $3 user, $4 named worker (or empty),
// $5 new worker id, $6 turn id, $7 input, $8 budget, $9 title, $10 now,
// $11 whether the client chose the task id, $12 API key id, $13
// idempotency key (or empty), $14 request hash, $15 whether the call may
// only follow a task up (store.CreateTurnParams.FollowUpOnly: the id is
// in the server's form, and only the server creates those, before any
// client learns them, so any snapshot of the call has the task).
var createSQL = `WITH prior AS (
	SELECT 1 FROM idempotency_keys
	WHERE $13::text <> '' AND key_id = $12::text AND key = $13::text
), named AS (
	SELECT 1 FROM workers WHERE $4::text <> '' AND id = $4::text AND org_id = $2::text
), task AS (
	INSERT INTO tasks AS t
		(id, org_id, worker_id, created_by_user_id, title, triggered_by, created_at, status, turn_count)
	SELECT $1::text, $2::text, CASE WHEN $4::text = '' THEN $5::text ELSE $4::text END,
		nullif($3::text, ''), $9::text, 'api', $10::bigint, 'pending', 1
	WHERE NOT EXISTS (SELECT 1 FROM prior) AND ($4::text = '' OR EXISTS (SELECT 1 FROM named))
		AND (NOT $15::boolean OR EXISTS (SELECT 1 FROM tasks WHERE org_id = $2::text AND id = $1::text))
	ON CONFLICT (org_id, id) DO UPDATE SET turn_count = t.turn_count + 1, status = 'pending', completed_at = NULL
	WHERE $11::boolean AND NOT t.archived
		AND ($4::text = '' OR t.worker_id = $4::text)
	RETURNING ` + qualified("t", taskColumns) + `
), new_worker AS (
	INSERT INTO workers (id, org_id, created_by_user_id, instructions, created_at)
	SELECT $5::text, $2::text, nullif($3::text, ''), $7::text, $10::bigint
	FROM task WHERE task.turn_count = 1 AND $4::text = ''
), new_turn AS (
	INSERT INTO turns (id, task_id, org_id, seq, role, input, budget, status, accepted_at)
	SELECT $6::text, task.id, task.org_id, task.turn_count, 'user', $7::text, $8::text, 'pending', $10::bigint
	FROM task
), new_key AS (
	INSERT INTO idempotency_keys (key_id, key, request_hash, turn_id, created_at)
	SELECT $12::text, $13::text, $14::bytea, $6::text, $10::bigint
	FROM task WHERE $13::text <> ''
)
SELECT ` + qualified("task", taskColumns) + `, w.id IS NOT NULL,
	coalesce(w.id, ''), coalesce(w.org_id, ''), w.created_by_user_id, coalesce(w.instructions, ''),
	coalesce(w.created_at, 0)
FROM task LEFT JOIN workers w ON w.id = task.worker_id`

// errRaced is a create that found neither a result nor a reason for none:
// the state it read moved under it. The create is tried again.
var errRaced = errors.New("the task changed during the create")

// CreateTurn stores a create call: the task (new or existing), the worker
// when created on the fly, the turn, runnable at once, and the idempotency
// key, all in one statement. Errors: ErrNotFound, ErrArchived,
// ErrWorkerMismatch, ErrIdempotencyMismatch, ErrConflict when a new id is
// taken.
func (s *Store) CreateTurn(ctx context.Context, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	var (
		res store.CreateTurnResult
		err error
	)
	for range maxTries {
		res, err = s.createTurn(ctx, p)
		if !errors.Is(err, errRaced) && !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		err = s.health.Record(translate(err))
		return store.CreateTurnResult{}, fmt.Errorf("create turn %s of task %s: %w", p.TurnID, p.TaskID, err)
	}
	s.health.Record(nil)
	return res, nil
}

// createTurn runs createSQL once, and explains an empty answer.
func (s *Store) createTurn(ctx context.Context, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	var (
		task      taskRow
		worker    workerRow
		hasWorker bool
	)
	dest := append(task.dest(), &hasWorker)
	dest = append(dest, worker.dest()...)
	err := s.pool.QueryRow(ctx, createSQL,
		p.TaskID, p.Principal.OrgID, p.Principal.UserID, p.WorkerID, p.NewWorkerID, p.TurnID,
		p.Input, p.Budget, p.Title, unixNano(p.Now), p.TaskIDGiven, p.Principal.KeyID,
		p.IdempotencyKey, nullBytes(p.RequestHash), p.FollowUpOnly,
	).Scan(dest...)
	switch pe := pgError(err); {
	case errors.Is(err, pgx.ErrNoRows):
		return s.notCreated(ctx, p)
	case pe != nil && pe.Code == codeUniqueViolation && pe.TableName == "idempotency_keys":
		return s.notCreated(ctx, p)
	case err != nil:
		return store.CreateTurnResult{}, translate(err)
	}

	res := store.CreateTurnResult{Task: task.task()}
	res.Turn = store.Turn{
		ID:         p.TurnID,
		TaskID:     res.Task.ID,
		OrgID:      res.Task.OrgID,
		Seq:        res.Task.TurnCount,
		Role:       "user",
		Input:      p.Input,
		Budget:     p.Budget,
		Status:     store.StatusPending,
		AcceptedAt: stored(p.Now),
	}
	switch {
	case hasWorker:
		res.Worker = worker.worker()
	case res.Task.TurnCount == 1 && p.WorkerID == "": // created by the statement
		res.Worker = store.Worker{
			ID:              p.NewWorkerID,
			OrgID:           p.Principal.OrgID,
			CreatedByUserID: p.Principal.UserID,
			Instructions:    p.Input,
			CreatedAt:       stored(p.Now),
		}
	default:
		// A follow-up to a task that a concurrent call created after this
		// statement's snapshot: its worker is committed, but younger than
		// the snapshot.
		if res.Worker, err = s.getWorker(ctx, res.Task.OrgID, res.Task.WorkerID); err != nil {
			return store.CreateTurnResult{}, err
		}
	}
	return res, nil
}

// notCreated explains why createSQL stored nothing: an idempotency key
// already stored (a replay, or ErrIdempotencyMismatch, which wins over any
// other reason), or a refusal. errRaced when there is no reason any more.
func (s *Store) notCreated(ctx context.Context, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	if p.IdempotencyKey != "" {
		res, found, err := s.replay(ctx, p)
		if found || err != nil {
			return res, err
		}
	}
	return store.CreateTurnResult{}, s.refusal(ctx, p)
}

// refusalSQL reads what createSQL's conditions depend on: the task with
// the call's task id in the organization, and whether the named worker is
// the organization's.
const refusalSQL = `SELECT t.org_id, t.archived, t.worker_id,
	EXISTS (SELECT 1 FROM workers w WHERE w.id = $2 AND w.org_id = $3)
	FROM (SELECT 1) AS one LEFT JOIN tasks t ON t.org_id = $3 AND t.id = $1`

// refusal returns the error that refuses p, or errRaced when p looks
// acceptable now. The conditions it checks only ever turn from acceptable
// to refused (tasks get archived, never unarchived), except a task that
// appears, for which the create is tried again.
func (s *Store) refusal(ctx context.Context, p store.CreateTurnParams) error {
	var (
		taskOrg, taskWorker *string
		archived            *bool
		workerOK            bool
	)
	if err := s.pool.QueryRow(ctx, refusalSQL, p.TaskID, p.WorkerID, p.Principal.OrgID).
		Scan(&taskOrg, &archived, &taskWorker, &workerOK); err != nil {
		return fmt.Errorf("read why the create was refused: %w", err)
	}
	switch {
	case taskOrg != nil && !p.TaskIDGiven:
		return fmt.Errorf("new task id %s is taken: %w", p.TaskID, store.ErrConflict)
	case taskOrg != nil && *archived:
		return store.ErrArchived
	case taskOrg != nil && p.WorkerID != "" && p.WorkerID != *taskWorker:
		return fmt.Errorf("worker %s: %w", p.WorkerID, store.ErrWorkerMismatch)
	case taskOrg == nil && p.FollowUpOnly:
		return store.ErrNotFound
	case taskOrg == nil && p.WorkerID != "" && !workerOK:
		return fmt.Errorf("worker %s: %w", p.WorkerID, store.ErrNotFound)
	}
	return errRaced
}
