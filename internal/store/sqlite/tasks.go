package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/handinger/handinger/internal/store"
)

const taskColumns = `id, org_id, worker_id, created_by_user_id, title, triggered_by, archived,
	created_at, position, status, completed_at, credits, duration_ms, turn_count`

func scanTask(sc scanner) (store.Task, error) {
	var (
		t           store.Task
		createdBy   sql.NullString
		createdAt   int64
		status      string
		completedAt sql.NullInt64
	)
	err := sc.Scan(&t.ID, &t.OrgID, &t.WorkerID, &createdBy, &t.Title, &t.TriggeredBy, &t.Archived,
		&createdAt, &t.Position, &status, &completedAt, &t.Credits, &t.DurationMs, &t.TurnCount)
	if err != nil {
		return store.Task{}, err
	}
	t.CreatedByUserID = createdBy.String
	t.CreatedAt = fromUnixNano(createdAt)
	t.Status = store.Status(status)
	t.CompletedAt = fromNullUnixNano(completedAt)
	return t, nil
}

var (
	getTaskSQL = prepared(`SELECT ` + taskColumns + ` FROM tasks WHERE id = ? AND org_id = ?`)

	// The inserts and updates of a create return nothing: the create builds
	// its rows from what it stored, which saves SQLite the ephemeral table
	// of a RETURNING clause and the driver the scan.

	appendTurnSQL = prepared(`UPDATE tasks
		SET status = ?, completed_at = NULL, turn_count = turn_count + 1
		WHERE org_id = ? AND id = ?`)

	insertTaskSQL = prepared(`INSERT INTO tasks
		(id, org_id, worker_id, created_by_user_id, title, triggered_by, created_at, status, turn_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
)

// getTask returns a task of org; sql.ErrNoRows when none.
func getTask(ctx context.Context, c conn, orgID, taskID string) (store.Task, error) {
	return scanTask(c.QueryRowContext(ctx, getTaskSQL, taskID, orgID))
}

// CreateTurn stores a create call in one transaction: the task (new or
// existing), the worker when created on the fly, the turn, and the
// idempotency key. Writes are serialized, so concurrent creates on one task
// get consecutive seqs and only one of them creates a new task.
func (s *Store) CreateTurn(ctx context.Context, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	req := createRequest{ctx: ctx, p: p, done: make(chan createAnswer, 1)}
	select {
	case s.creates <- req:
	case <-ctx.Done():
		return store.CreateTurnResult{}, fmt.Errorf("create turn %s of task %s: %w", p.TurnID, p.TaskID, ctx.Err())
	case <-s.closed:
		return store.CreateTurnResult{}, fmt.Errorf("create turn %s of task %s: %w", p.TurnID, p.TaskID, errClosed)
	}
	a := <-req.done
	if a.err != nil {
		return store.CreateTurnResult{}, fmt.Errorf("create turn %s of task %s: %w", p.TurnID, p.TaskID, a.err)
	}
	return a.res, nil
}

// createRequest is one CreateTurn call waiting for the group committer.
type createRequest struct {
	ctx  context.Context
	p    store.CreateTurnParams
	done chan createAnswer
}

type createAnswer struct {
	res store.CreateTurnResult
	err error
}

// maxCreateBatch caps how many create calls share one transaction.
const maxCreateBatch = 64

// commitCreates is the group committer: it takes every create call waiting
// at the moment, runs each inside its own savepoint of one transaction
// (a refused call rolls back to its savepoint and changes nothing), and
// commits once. A commit costs about as much as all the inserts of a
// create, so under concurrent load this multiplies the creates per second
// the single writer takes; alone, a call commits by itself as before.
func (s *Store) commitCreates() {
	defer close(s.createsDone)
	batch := make([]createRequest, 0, maxCreateBatch)
	answers := make([]createAnswer, maxCreateBatch)
	for {
		var first createRequest
		select {
		case first = <-s.creates:
		case <-s.closed:
			return
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxCreateBatch {
			select {
			case r := <-s.creates:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		clear(answers)
		ctx := context.Background()
		err := s.writer().inTx(ctx, func(c conn) error {
			for i, r := range batch {
				if err := r.ctx.Err(); err != nil {
					answers[i].err = err // the caller is gone: store nothing
					continue
				}
				if _, err := c.ExecContext(ctx, savepointSQL); err != nil {
					return err
				}
				// The committer's context, not the caller's: interrupting a
				// statement would roll back the whole shared transaction, not
				// just this call's savepoint. A caller that leaves is skipped
				// above, before its savepoint.
				res, err := createOne(ctx, c, r.p)
				if err != nil {
					if _, rerr := c.ExecContext(ctx, rollbackToSQL); rerr != nil {
						return rerr
					}
					answers[i].err = translate(err)
				} else {
					answers[i].res = res
				}
				if _, err := c.ExecContext(ctx, releaseSavepointSQL); err != nil {
					return err
				}
			}
			return nil
		})
		for i, r := range batch {
			a := answers[i]
			if err != nil && a.err == nil {
				a = createAnswer{err: err} // the commit failed: nothing was stored
			}
			r.done <- a
		}
	}
}

var (
	savepointSQL        = prepared("SAVEPOINT create_turn")
	rollbackToSQL       = prepared("ROLLBACK TO create_turn")
	releaseSavepointSQL = prepared("RELEASE create_turn")
)

// createOne stores one create call inside the committer's transaction.
func createOne(ctx context.Context, c conn, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	if p.IdempotencyKey != "" {
		r, found, err := replay(ctx, c, p)
		if err != nil || found {
			return r, err
		}
	}
	res, err := createTurn(ctx, c, p)
	if err != nil {
		return store.CreateTurnResult{}, err
	}
	if p.IdempotencyKey != "" {
		if err := saveIdempotencyKey(ctx, c, p); err != nil {
			return store.CreateTurnResult{}, err
		}
	}
	return res, nil
}

func createTurn(ctx context.Context, c conn, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	if p.TaskIDGiven {
		// A task id is the organization's own: another organization's
		// task of the same id is another task.
		task, err := getTask(ctx, c, p.Principal.OrgID, p.TaskID)
		switch {
		case err == nil:
			return appendTurn(ctx, c, task, p)
		case !errors.Is(err, sql.ErrNoRows):
			return store.CreateTurnResult{}, err
		case p.FollowUpOnly:
			return store.CreateTurnResult{}, store.ErrNotFound
		}
	}
	return newTask(ctx, c, p)
}

// appendTurn adds a follow-up turn to an existing task.
func appendTurn(ctx context.Context, c conn, task store.Task, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	switch {
	case task.Archived:
		return store.CreateTurnResult{}, store.ErrArchived
	case p.WorkerID != "" && p.WorkerID != task.WorkerID:
		return store.CreateTurnResult{}, fmt.Errorf("worker %s: %w", p.WorkerID, store.ErrWorkerMismatch)
	}
	if _, err := c.ExecContext(ctx, appendTurnSQL, string(store.StatusPending), task.OrgID, task.ID); err != nil {
		return store.CreateTurnResult{}, err
	}
	// What appendTurnSQL did; no other writer can come between.
	task.Status, task.CompletedAt = store.StatusPending, nil
	task.TurnCount++
	worker, err := getWorker(ctx, c, task.OrgID, task.WorkerID)
	if err != nil {
		return store.CreateTurnResult{}, err
	}
	turn, err := insertTurn(ctx, c, task, p)
	if err != nil {
		return store.CreateTurnResult{}, err
	}
	return store.CreateTurnResult{Task: task, Turn: turn, Worker: worker}, nil
}

// newTask creates a task with its first turn, and its worker unless the call
// names one.
func newTask(ctx context.Context, c conn, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	var (
		worker store.Worker
		err    error
	)
	if p.WorkerID != "" {
		worker, err = getWorker(ctx, c, p.Principal.OrgID, p.WorkerID)
		if err != nil {
			return store.CreateTurnResult{}, fmt.Errorf("worker %s: %w", p.WorkerID, translate(err))
		}
	} else {
		worker = store.Worker{
			ID:              p.NewWorkerID,
			OrgID:           p.Principal.OrgID,
			CreatedByUserID: p.Principal.UserID,
			Instructions:    p.Input,
			CreatedAt:       stored(p.Now),
		}
		if err := insertWorker(ctx, c, worker); err != nil {
			return store.CreateTurnResult{}, err
		}
	}
	task := store.Task{
		ID:              p.TaskID,
		OrgID:           p.Principal.OrgID,
		WorkerID:        worker.ID,
		CreatedByUserID: p.Principal.UserID,
		Title:           p.Title,
		TriggeredBy:     "api",
		CreatedAt:       stored(p.Now),
		Status:          store.StatusPending,
		TurnCount:       1,
	}
	res, err := c.ExecContext(ctx, insertTaskSQL,
		task.ID, task.OrgID, task.WorkerID, nullString(task.CreatedByUserID), task.Title, task.TriggeredBy,
		unixNano(task.CreatedAt), string(task.Status), task.TurnCount)
	if err != nil {
		return store.CreateTurnResult{}, err
	}
	if task.Position, err = res.LastInsertId(); err != nil { // position is the rowid
		return store.CreateTurnResult{}, err
	}
	turn, err := insertTurn(ctx, c, task, p)
	if err != nil {
		return store.CreateTurnResult{}, err
	}
	return store.CreateTurnResult{Task: task, Turn: turn, Worker: worker}, nil
}

// insertTurn stores the task's latest turn, seq task.TurnCount, runnable at
// once.
func insertTurn(ctx context.Context, c conn, task store.Task, p store.CreateTurnParams) (store.Turn, error) {
	t := store.Turn{
		ID:         p.TurnID,
		TaskID:     task.ID,
		OrgID:      task.OrgID,
		Seq:        task.TurnCount,
		Role:       "user",
		Input:      p.Input,
		Budget:     p.Budget,
		Status:     store.StatusPending,
		AcceptedAt: stored(p.Now),
	}
	_, err := c.ExecContext(ctx, insertTurnSQL,
		t.ID, t.TaskID, t.OrgID, t.Seq, t.Role, t.Input, t.Budget, string(t.Status), unixNano(t.AcceptedAt))
	return t, err
}

// GetTaskWithTurns returns a task of org and all its turns in seq order, read
// from one snapshot. ErrNotFound when none.
func (s *Store) GetTaskWithTurns(ctx context.Context, orgID, taskID string) (store.Task, []store.Turn, error) {
	// One statement is one snapshot: the task's derived status and totals
	// always agree with its turns, without the cost of a transaction.
	rows, err := s.reader().QueryContext(ctx, taskWithTurnsSQL, taskID, orgID)
	if err != nil {
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, translate(err))
	}
	defer rows.Close()
	var task store.Task
	turns := []store.Turn{}
	for rows.Next() {
		j := joinedRow{rows: rows}
		t, err := scanTask(&j)
		if err != nil {
			return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, translate(err))
		}
		task = t
		turns = append(turns, j.turn)
	}
	if err := rows.Err(); err != nil {
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, translate(err))
	}
	if len(turns) == 0 { // every task has a turn: no row means no task
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, store.ErrNotFound)
	}
	return task, turns, nil
}

// taskWithTurnsSQL reads a task and its turns in one statement, a row per
// turn with the task's columns first.
var taskWithTurnsSQL = prepared(`SELECT ` + qualified("t", taskColumns) + `, ` + qualified("u", turnColumns) + `
	FROM tasks t JOIN turns u ON u.org_id = t.org_id AND u.task_id = t.id
	WHERE t.id = ? AND t.org_id = ? ORDER BY u.seq`)

// joinedRow scans a row of taskWithTurnsSQL with scanTask and scanTurn:
// scanTask hands it the task's destinations, and it scans them together
// with the turn's in one call.
type joinedRow struct {
	rows *sql.Rows
	turn store.Turn
}

func (j *joinedRow) Scan(taskDest ...any) error {
	t, err := scanTurn(scanFunc(func(turnDest ...any) error {
		return j.rows.Scan(append(taskDest, turnDest...)...)
	}))
	j.turn = t
	return err
}

// scanFunc adapts a function to the scanner interface.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// ListTasks returns one page of an organization's unarchived tasks, newest
// first, and the Position to pass as Before for the next page (0 on the
// last page).
func (s *Store) ListTasks(ctx context.Context, p store.ListTasksParams) ([]store.Task, int64, error) {
	if p.Limit <= 0 {
		return nil, 0, fmt.Errorf("list tasks: limit %d is not positive", p.Limit)
	}
	q := `SELECT ` + taskColumns + ` FROM tasks WHERE org_id = ? AND archived = 0`
	args := []any{p.OrgID}
	if p.WorkerID != "" {
		q += ` AND worker_id = ?`
		args = append(args, p.WorkerID)
	}
	if p.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(p.Status))
	}
	if p.Before > 0 {
		q += ` AND position < ?`
		args = append(args, p.Before)
	}
	// One row more than asked tells whether there is a next page.
	q += ` ORDER BY position DESC LIMIT ?`
	args = append(args, p.Limit+1)

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	tasks := []store.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list tasks: %w", err)
		}
		tasks = append(tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	var next int64
	if len(tasks) > p.Limit {
		tasks = tasks[:p.Limit]
		next = tasks[p.Limit-1].Position
	}
	return tasks, next, nil
}

// ArchiveTask archives a task of org; idempotent. ErrNotFound when the task
// is not the org's, ErrForbidden when userID did not create its worker.
func (s *Store) ArchiveTask(ctx context.Context, orgID, userID, taskID string) error {
	err := s.writer().inTx(ctx, func(c conn) error {
		var creator sql.NullString
		if err := c.QueryRowContext(ctx, `SELECT w.created_by_user_id
			FROM tasks t JOIN workers w ON w.id = t.worker_id
			WHERE t.id = ? AND t.org_id = ?`, taskID, orgID).Scan(&creator); err != nil {
			return err
		}
		if !creator.Valid || creator.String != userID {
			return store.ErrForbidden
		}
		_, err := c.ExecContext(ctx, `UPDATE tasks SET archived = 1 WHERE org_id = ? AND id = ?`, orgID, taskID)
		return err
	})
	if err != nil {
		return fmt.Errorf("archive task %s: %w", taskID, err)
	}
	return nil
}
