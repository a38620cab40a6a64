package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/handinger/handinger/internal/store"
)

const taskColumns = `id, org_id, worker_id, created_by_user_id, title, triggered_by, archived,
	created_at, position, status, completed_at, credits, duration_ms, turn_count`

// taskRow receives the taskColumns of a row.
type taskRow struct {
	t           store.Task
	createdBy   *string
	createdAt   int64
	status      string
	completedAt *int64
}

// dest returns the scan destinations of taskColumns, in order.
func (r *taskRow) dest() []any {
	t := &r.t
	return []any{&t.ID, &t.OrgID, &t.WorkerID, &r.createdBy, &t.Title, &t.TriggeredBy, &t.Archived,
		&r.createdAt, &t.Position, &r.status, &r.completedAt, &t.Credits, &t.DurationMs, &t.TurnCount}
}

// task returns the scanned task.
func (r *taskRow) task() store.Task {
	t := r.t
	if r.createdBy != nil {
		t.CreatedByUserID = *r.createdBy
	}
	t.CreatedAt = fromUnixNano(r.createdAt)
	t.Status = store.Status(r.status)
	t.CompletedAt = fromNullUnixNano(r.completedAt)
	return t
}

func scanTask(sc scanner) (store.Task, error) {
	var r taskRow
	if err := sc.Scan(r.dest()...); err != nil {
		return store.Task{}, err
	}
	return r.task(), nil
}

// taskWithTurnsSQL reads a task and its turns in one statement, a row per
// turn with the task's columns first: one round trip, and one snapshot, in
// which the task's derived status and totals agree with its turns.
var taskWithTurnsSQL = `SELECT ` + qualified("t", taskColumns) + `, ` + qualified("u", turnColumns) + `
	FROM tasks t JOIN turns u ON u.org_id = t.org_id AND u.task_id = t.id
	WHERE t.id = $1 AND t.org_id = $2 ORDER BY u.seq`

// GetTaskWithTurns returns a task of org and all its turns in seq order, read
// from one snapshot. ErrNotFound when none.
func (s *Store) GetTaskWithTurns(ctx context.Context, orgID, taskID string) (store.Task, []store.Turn, error) {
	rows, err := s.pool.Query(ctx, taskWithTurnsSQL, taskID, orgID)
	if err != nil {
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, err)
	}
	defer rows.Close()
	var task taskRow
	turns := []store.Turn{}
	for rows.Next() {
		var turn turnRow
		if err := rows.Scan(append(task.dest(), turn.dest()...)...); err != nil {
			return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, err)
		}
		turns = append(turns, turn.turn())
	}
	if err := rows.Err(); err != nil {
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, err)
	}
	if len(turns) == 0 { // every task has a turn: no row means no task
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, store.ErrNotFound)
	}
	return task.task(), turns, nil
}

// ListTasks returns one page of an organization's unarchived tasks, newest
// first, and the Position to pass as Before for the next page (0 on the
// last page).
func (s *Store) ListTasks(ctx context.Context, p store.ListTasksParams) ([]store.Task, int64, error) {
	if p.Limit <= 0 {
		return nil, 0, fmt.Errorf("list tasks: limit %d is not positive", p.Limit)
	}
	// A statement per combination of filters, rather than "$n = '' OR …",
	// so that each plan uses the index its filters allow; there are eight.
	q := `SELECT ` + taskColumns + ` FROM tasks WHERE org_id = $1 AND NOT archived`
	args := []any{p.OrgID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if p.WorkerID != "" {
		q += ` AND worker_id = ` + arg(p.WorkerID)
	}
	if p.Status != "" {
		q += ` AND status = ` + arg(string(p.Status))
	}
	if p.Before > 0 {
		q += ` AND position < ` + arg(p.Before)
	}
	// One row more than asked tells whether there is a next page.
	q += ` ORDER BY position DESC LIMIT ` + arg(p.Limit+1)

	rows, err := s.pool.Query(ctx, q, append([]any{planned}, args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	tasks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Task, error) {
		return scanTask(row)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	var next int64
	if len(tasks) > p.Limit {
		tasks = tasks[:p.Limit]
		next = tasks[p.Limit-1].Position
	}
	if tasks == nil {
		tasks = []store.Task{}
	}
	return tasks, next, nil
}

// archiveSQL archives a task when userID created its worker, and returns
// who did, in one statement: no row when the task is not the org's.
const archiveSQL = `WITH target AS (
	SELECT t.org_id, t.id, w.created_by_user_id AS creator
	FROM tasks t JOIN workers w ON w.id = t.worker_id
	WHERE t.id = $1 AND t.org_id = $2
), archived AS (
	UPDATE tasks SET archived = true FROM target
	WHERE tasks.org_id = target.org_id AND tasks.id = target.id AND target.creator = $3 AND NOT tasks.archived
)
SELECT creator FROM target`

// ArchiveTask archives a task of org; idempotent. ErrNotFound when the task
// is not the org's, ErrForbidden when userID did not create its worker.
func (s *Store) ArchiveTask(ctx context.Context, orgID, userID, taskID string) error {
	var creator *string
	err := retry(ctx, func() error {
		return s.pool.QueryRow(ctx, archiveSQL, taskID, orgID, userID).Scan(&creator)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("archive task %s: %w", taskID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("archive task %s: %w", taskID, err)
	case creator == nil || *creator != userID:
		return fmt.Errorf("archive task %s: %w", taskID, store.ErrForbidden)
	}
	return nil
}
