package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/handinger/handinger/internal/store"
)

// task is a stored task with its turns. Its CompletedAt is nil or points to
// the completedAt of its latest turn, which never changes once set; it is
// never handed out: out copies it.
type task struct {
	row   store.Task
	turns []*turn // in seq order: turns[i].row.Seq == i+1
}

// out returns a copy of the task that shares nothing with it.
func (t *task) out() store.Task {
	row := t.row
	if row.CompletedAt != nil {
		row.CompletedAt = ptr(*row.CompletedAt)
	}
	return row
}

// taskKey identifies a task: its id is its organization's own.
type taskKey struct{ org, id string }

// task returns a task of org.
func (s *Store) task(orgID, taskID string) (*task, bool) {
	t, ok := s.tasks[taskKey{orgID, taskID}]
	return t, ok
}

// CreateTurn stores a create call as one transaction: the task (new or
// existing), the worker when created on the fly, the turn (runnable at
// once unless an earlier turn of its task is live), and the idempotency
// key. Creates are serialized, so concurrent creates on one task get
// consecutive seqs and only one of them creates a new task. Errors:
// ErrNotFound, ErrArchived, ErrWorkerMismatch, ErrIdempotencyMismatch, and
// ErrConflict when an id the caller chose for a new row is taken.
func (s *Store) CreateTurn(ctx context.Context, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.createTurn(ctx, p)
	if err != nil {
		return store.CreateTurnResult{}, fmt.Errorf("create turn %s of task %s: %w", p.TurnID, p.TaskID, err)
	}
	return res, nil
}

func (s *Store) createTurn(ctx context.Context, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	if err := s.usable(ctx); err != nil {
		return store.CreateTurnResult{}, err
	}
	if p.IdempotencyKey != "" {
		res, found, err := s.replay(p)
		if err != nil || found {
			return res, err
		}
	}
	var (
		res store.CreateTurnResult
		err error
	)
	t, ok := s.task(p.Principal.OrgID, p.TaskID)
	if !ok && p.TaskIDGiven && p.FollowUpOnly {
		return store.CreateTurnResult{}, store.ErrNotFound
	}
	if ok && p.TaskIDGiven {
		res, err = s.appendTurn(t, p)
	} else {
		res, err = s.newTask(p)
	}
	if err != nil {
		return store.CreateTurnResult{}, err
	}
	if p.IdempotencyKey != "" {
		s.saveIdempotencyKey(p)
	}
	return res, nil
}

// appendTurn adds a follow-up turn to an existing task.
func (s *Store) appendTurn(t *task, p store.CreateTurnParams) (store.CreateTurnResult, error) {
	switch {
	case t.row.Archived:
		return store.CreateTurnResult{}, store.ErrArchived
	case p.WorkerID != "" && p.WorkerID != t.row.WorkerID:
		return store.CreateTurnResult{}, fmt.Errorf("worker %s: %w", p.WorkerID, store.ErrWorkerMismatch)
	}
	if _, taken := s.turns[p.TurnID]; taken {
		return store.CreateTurnResult{}, conflict("turn", p.TurnID)
	}
	t.row.Status = store.StatusPending
	t.row.CompletedAt = nil
	t.row.TurnCount++
	r := s.addTurn(t, p)
	return store.CreateTurnResult{Task: t.out(), Turn: r.out(), Worker: s.workers[t.row.WorkerID]}, nil
}

// newTask creates a task with its first turn, and its worker unless the call
// names one. It checks the unique and foreign keys of the SQLite schema
// before it stores anything.
func (s *Store) newTask(p store.CreateTurnParams) (store.CreateTurnResult, error) {
	orgID, userID := p.Principal.OrgID, p.Principal.UserID
	var worker store.Worker
	if p.WorkerID != "" {
		var ok bool
		if worker, ok = s.worker(orgID, p.WorkerID); !ok {
			return store.CreateTurnResult{}, fmt.Errorf("worker %s: %w", p.WorkerID, store.ErrNotFound)
		}
	} else {
		if _, taken := s.workers[p.NewWorkerID]; taken {
			return store.CreateTurnResult{}, conflict("worker", p.NewWorkerID)
		}
		worker = store.Worker{ID: p.NewWorkerID, OrgID: orgID, CreatedByUserID: userID,
			Instructions: p.Input, CreatedAt: utc(p.Now)}
	}
	// A principal that CreateAPIKey did not make has no organization or
	// user to refer to: SQLite refuses the rows with a foreign key error.
	if _, ok := s.orgs[orgID]; !ok {
		return store.CreateTurnResult{}, fmt.Errorf("organization %q does not exist", orgID)
	}
	if _, ok := s.users[userID]; !ok && userID != "" {
		return store.CreateTurnResult{}, fmt.Errorf("user %q does not exist", userID)
	}
	if _, taken := s.task(p.Principal.OrgID, p.TaskID); taken {
		return store.CreateTurnResult{}, conflict("task", p.TaskID)
	}
	if _, taken := s.turns[p.TurnID]; taken {
		return store.CreateTurnResult{}, conflict("turn", p.TurnID)
	}

	if p.WorkerID == "" {
		s.workers[worker.ID] = worker
	}
	s.lastTaskPos++
	t := &task{row: store.Task{
		ID:              p.TaskID,
		OrgID:           orgID,
		WorkerID:        worker.ID,
		CreatedByUserID: userID,
		Title:           p.Title,
		TriggeredBy:     "api",
		CreatedAt:       utc(p.Now),
		Position:        s.lastTaskPos,
		Status:          store.StatusPending,
		TurnCount:       1,
	}}
	s.tasks[taskKey{t.row.OrgID, t.row.ID}] = t
	s.orgTasks[orgID] = append(s.orgTasks[orgID], t)
	r := s.addTurn(t, p)
	return store.CreateTurnResult{Task: t.out(), Turn: r.out(), Worker: worker}, nil
}

// addTurn stores the task's latest turn, seq t.row.TurnCount, and queues it
// when it is runnable: when the turn before it has ended. Turns end in seq
// order, so then every earlier turn has.
func (s *Store) addTurn(t *task, p store.CreateTurnParams) *turn {
	s.lastTurnPos++
	r := &turn{
		row: store.Turn{
			ID:         p.TurnID,
			TaskID:     t.row.ID,
			OrgID:      t.row.OrgID,
			Seq:        t.row.TurnCount,
			Role:       "user",
			Input:      p.Input,
			Budget:     p.Budget,
			Status:     store.StatusPending,
			AcceptedAt: utc(p.Now),
		},
		pos:  s.lastTurnPos,
		task: t,
	}
	t.turns = append(t.turns, r)
	s.turns[r.row.ID] = r
	s.pending[r.row.OrgID]++
	if len(t.turns) == 1 || t.turns[len(t.turns)-2].row.Status.Terminal() {
		s.queue(r)
	}
	return r
}

// GetTaskWithTurns returns a task of org and all its turns in seq order.
// ErrNotFound when none.
func (s *Store) GetTaskWithTurns(ctx context.Context, orgID, taskID string) (store.Task, []store.Turn, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, err)
	}
	t, ok := s.task(orgID, taskID)
	if !ok {
		return store.Task{}, nil, fmt.Errorf("get task %s with turns: %w", taskID, store.ErrNotFound)
	}
	return t.out(), outTurns(t.turns), nil
}

// ListTasks returns one page of an organization's unarchived tasks, newest
// first, and the Position to pass as Before for the next page (0 on the
// last page).
func (s *Store) ListTasks(ctx context.Context, p store.ListTasksParams) ([]store.Task, int64, error) {
	if p.Limit <= 0 {
		return nil, 0, fmt.Errorf("list tasks: limit %d is not positive", p.Limit)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	all := s.orgTasks[p.OrgID]
	end := len(all)
	if p.Before > 0 {
		end, _ = slices.BinarySearchFunc(all, p.Before, func(t *task, pos int64) int {
			return cmp.Compare(t.row.Position, pos)
		})
	}
	tasks := make([]store.Task, 0, min(p.Limit, end))
	var next int64
	for i := end - 1; i >= 0; i-- {
		t := &all[i].row
		if t.Archived || p.WorkerID != "" && t.WorkerID != p.WorkerID || p.Status != "" && t.Status != p.Status {
			continue
		}
		// One row more than asked tells whether there is a next page.
		if len(tasks) == p.Limit {
			next = tasks[len(tasks)-1].Position
			break
		}
		tasks = append(tasks, all[i].out())
	}
	return tasks, next, nil
}

// ArchiveTask archives a task of org; idempotent. ErrNotFound when the task
// is not the org's, ErrForbidden when userID did not create its worker.
func (s *Store) ArchiveTask(ctx context.Context, orgID, userID, taskID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("archive task %s: %w", taskID, err)
	}
	t, ok := s.task(orgID, taskID)
	if !ok {
		return fmt.Errorf("archive task %s: %w", taskID, store.ErrNotFound)
	}
	// A worker made by a key without a user has no creator to allow it.
	if creator := s.workers[t.row.WorkerID].CreatedByUserID; creator == "" || creator != userID {
		return fmt.Errorf("archive task %s: %w", taskID, store.ErrForbidden)
	}
	t.row.Archived = true
	return nil
}
