package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/handinger/handinger/gen"
)

// TasksService runs and inspects tasks: the operations on /api/tasks.
type TasksService struct {
	c *Client
}

// Created is the answer to Create: the turn that ran (or still runs) and the
// worker's state after it.
type Created struct {
	// TaskID is the task the turn belongs to: new, or the one named in
	// the request.
	TaskID string
	// TurnID is the turn that was run.
	TurnID string
	// Seq is the position of the turn in its task, from 1.
	Seq int
	// Worker is the answer as the API sends it. Worker.Running is true when
	// the server's wait limit passed before the turn ended; Wait then
	// waits for the end.
	Worker gen.Worker
	// IdempotencyKey is the Idempotency-Key the call sent; passing it to a
	// later Create with WithIdempotencyKey returns this same turn.
	IdempotencyKey string
}

// Create runs a turn (POST /api/tasks): a new task, or a follow-up turn when
// p.TaskID names an existing task. It waits for the turn's end, up to the
// server's wait limit (50 s on the hosted service), and returns the worker's
// state.
//
// Every call sends an Idempotency-Key (WithIdempotencyKey, or a new random
// one), the same on each retry, so that a retry never runs a second turn.
// A failed turn is not an error: see Worker.Error and
// Worker.IncompleteDetails. Errors: *Error (400, 404 unknown worker or task,
// 409 archived task or other worker, 422 key reused with another body, …),
// *ConnectionError, ErrTimeout, and the context's error.
func (s *TasksService) Create(ctx context.Context, p gen.CreateTask, opts ...Option) (*Created, error) {
	ctx, cl, g, err := s.c.begin(ctx, opts)
	if err != nil {
		return nil, wrap(err, "create task", "")
	}
	key := cl.idempotencyKey
	if key == "" {
		key = newIdempotencyKey()
	}
	res, err := g.CreateTaskWithResponse(ctx, &gen.CreateTaskParams{IdempotencyKey: &key}, p)
	var w *gen.Worker
	if res != nil {
		w = res.JSON200
	}
	if w, err = result(cl, w, err); err != nil {
		return nil, wrap(err, "create task", "")
	}
	out := &Created{
		TaskID:         w.Metadata.TaskID,
		TurnID:         w.Metadata.TurnID,
		Seq:            int(w.Metadata.Seq),
		Worker:         *w,
		IdempotencyKey: key,
	}
	if out.TaskID == "" && res.Headers200 != nil {
		out.TaskID = taskIDFromLocation(res.Headers200.Location)
	}
	return out, nil
}

// Retrieve returns a task and all its turns (GET /api/tasks/{taskId}),
// archived or not. Errors: *Error (400 malformed id, 404), *ConnectionError,
// ErrTimeout, and the context's error.
func (s *TasksService) Retrieve(ctx context.Context, taskID string, opts ...Option) (*gen.TaskWithTurns, error) {
	if taskID == "" {
		return nil, errEmptyID("retrieve task")
	}
	ctx, cl, g, err := s.c.begin(ctx, opts)
	if err != nil {
		return nil, wrap(err, "retrieve task", taskID)
	}
	res, err := g.RetrieveTaskWithResponse(ctx, taskID)
	var v *gen.TaskWithTurns
	if res != nil {
		v = res.JSON200
	}
	if v, err = result(cl, v, err); err != nil {
		return nil, wrap(err, "retrieve task", taskID)
	}
	return v, nil
}

// Archive archives a task (DELETE /api/tasks/{taskId}): it leaves the
// listings and takes no more turns, but stays retrievable. Archiving an
// archived task succeeds again. Errors: *Error (403 when the caller did not
// create the task's worker, 404, …), *ConnectionError, ErrTimeout, and the
// context's error.
func (s *TasksService) Archive(ctx context.Context, taskID string, opts ...Option) (*gen.DeleteTaskResponse, error) {
	if taskID == "" {
		return nil, errEmptyID("archive task")
	}
	ctx, cl, g, err := s.c.begin(ctx, opts)
	if err != nil {
		return nil, wrap(err, "archive task", taskID)
	}
	res, err := g.ArchiveTaskWithResponse(ctx, taskID)
	var v *gen.DeleteTaskResponse
	if res != nil {
		v = res.JSON200
	}
	if v, err = result(cl, v, err); err != nil {
		return nil, wrap(err, "archive task", taskID)
	}
	return v, nil
}

// Turns returns every turn of a task in execution order
// (GET /api/tasks/{taskId}/turns). Errors are those of Retrieve.
func (s *TasksService) Turns(ctx context.Context, taskID string, opts ...Option) (*gen.TurnList, error) {
	if taskID == "" {
		return nil, errEmptyID("list turns of task")
	}
	ctx, cl, g, err := s.c.begin(ctx, opts)
	if err != nil {
		return nil, wrap(err, "list turns of task", taskID)
	}
	res, err := g.ListTurnsWithResponse(ctx, taskID)
	var v *gen.TurnList
	if res != nil {
		v = res.JSON200
	}
	if v, err = result(cl, v, err); err != nil {
		return nil, wrap(err, "list turns of task", taskID)
	}
	return v, nil
}

// ListParams selects the tasks of List and ListPage. Zero fields select
// nothing.
type ListParams struct {
	// WorkerID keeps only the tasks of this worker.
	WorkerID string
	// Status keeps only the tasks in this status.
	Status gen.TaskStatus
	// PageSize is the largest number of tasks per page, 1 to 100 (0: the
	// server's default, 20).
	PageSize int
	// Cursor starts at this page: a TaskList.NextCursor. Empty is the first
	// page.
	Cursor string
}

// ListPage returns one page of the organization's unarchived tasks, newest
// first (GET /api/tasks). Its NextCursor, when not nil, is the Cursor of the
// next page. Errors: *Error (400 for a bad parameter or cursor),
// *ConnectionError, ErrTimeout, and the context's error.
func (s *TasksService) ListPage(ctx context.Context, p ListParams, opts ...Option) (*gen.TaskList, error) {
	ctx, cl, g, err := s.c.begin(ctx, opts)
	if err != nil {
		return nil, wrap(err, "list tasks", "")
	}
	var q gen.ListTasksParams
	if p.PageSize != 0 {
		q.Limit = &p.PageSize
	}
	if p.Cursor != "" {
		q.Cursor = &p.Cursor
	}
	if p.WorkerID != "" {
		q.WorkerID = &p.WorkerID
	}
	if p.Status != "" {
		q.Status = &p.Status
	}
	res, err := g.ListTasksWithResponse(ctx, &q)
	var v *gen.TaskList
	if res != nil {
		v = res.JSON200
	}
	if v, err = result(cl, v, err); err != nil {
		return nil, wrap(err, "list tasks", "")
	}
	return v, nil
}

// List iterates over the organization's unarchived tasks, newest first,
// reading the pages one by one (ListPage) as the loop goes on. The first
// error ends the iteration: it is yielded with a zero Task.
//
//	for t, err := range c.Tasks.List(ctx, client.ListParams{}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(t.ID, t.Title)
//	}
func (s *TasksService) List(ctx context.Context, p ListParams, opts ...Option) iter.Seq2[gen.Task, error] {
	return func(yield func(gen.Task, error) bool) {
		for {
			page, err := s.ListPage(ctx, p, opts...)
			if err != nil {
				yield(gen.Task{}, err)
				return
			}
			for _, t := range page.Items {
				if !yield(t, nil) {
					return
				}
			}
			if page.NextCursor == nil || *page.NextCursor == "" {
				return
			}
			if *page.NextCursor == p.Cursor {
				yield(gen.Task{}, fmt.Errorf("handinger: list tasks: the server answered cursor %q with itself as the next one", p.Cursor))
				return
			}
			p.Cursor = *page.NextCursor
		}
	}
}

// Polling of Wait: the first look is at once, then the pause doubles from
// waitFirst up to waitMax, each drawn between half and all of it.
const (
	waitFirst = 100 * time.Millisecond
	waitMax   = 2 * time.Second
)

// Wait polls a task (Retrieve) until its status is terminal — completed,
// error or aborted — and returns it. A Create that answered with
// Worker.Running true is the usual reason to wait. When ctx ends first, Wait
// returns an error wrapping ctx's error; the task goes on. Other errors are
// those of Retrieve.
func (s *TasksService) Wait(ctx context.Context, taskID string, opts ...Option) (*gen.TaskWithTurns, error) {
	cfg := s.c.cfg.with(opts)
	pause := waitFirst
	for {
		t, err := s.Retrieve(ctx, taskID, opts...)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("handinger: wait for task %s: %w", taskID, ctx.Err())
			}
			return nil, err
		}
		if terminal(t.Task.Status) {
			return t, nil
		}
		d := pause/2 + time.Duration(cfg.random(int64(pause/2)+1))
		if err := cfg.sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("handinger: wait for task %s: %w", taskID, err)
		}
		pause = min(2*pause, waitMax)
	}
}

// terminal reports whether a task's status is final: its latest turn has
// ended.
func terminal(s gen.TaskStatus) bool {
	switch s {
	case gen.TaskStatusCompleted, gen.TaskStatusError, gen.TaskStatusAborted:
		return true
	}
	return false
}

// result turns the outcome of one generated call into a method's result:
// the decoded 2xx body, the *Error of any other answer (decodable or not),
// or the failure that left the call without an answer.
func result[T any](cl *call, v *T, err error) (*T, error) {
	if cl.answered && (cl.status < 200 || cl.status > 299) {
		return nil, newError(cl.status, cl.header, cl.body, cl.now())
	}
	if err != nil {
		if cl.answered {
			return nil, fmt.Errorf("decode %d answer: %w", cl.status, err)
		}
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("unexpected %d answer with content type %q", cl.status, cl.header.Get("Content-Type"))
	}
	return v, nil
}

// newIdempotencyKey returns 128 random bits in hex, prefixed. The prefix is
// not the hnd_ of API keys, so that secret scanners do not flag logged
// idempotency keys.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "idem_" + hex.EncodeToString(b[:])
}

// taskIDFromLocation reads the task id from a create answer's Location,
// /api/tasks/{taskId} or an absolute URL ending so.
func taskIDFromLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	const prefix = "/api/tasks/"
	i := strings.LastIndex(u.Path, prefix)
	if i < 0 {
		return ""
	}
	id, _, _ := strings.Cut(u.Path[i+len(prefix):], "/")
	return id
}

func errEmptyID(op string) error {
	return errors.New("handinger: " + op + ": the task id is empty")
}
