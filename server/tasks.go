package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
)

// handlers implements the generated strict server interface. Each handler
// converts the request, makes one call into the service and converts the
// answer; errors go back to the strict layer, which answers them from the
// error table (errors.go).
type handlers struct {
	s *Server
}

var _ gen.StrictServerInterface = handlers{}

// apiError carries a domain error with the detail to show the caller.
type apiError struct {
	err    error
	detail string
}

func (e *apiError) Error() string { return e.detail }
func (e *apiError) Unwrap() error { return e.err }

func fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var known bool
	for _, f := range failures {
		if errors.Is(err, f.err) {
			known = true
			break
		}
	}
	if !known {
		return err
	}
	return &apiError{err: err, detail: fmt.Sprintf(format, args...)}
}

// CreateTask implements POST /api/tasks.
func (h handlers) CreateTask(ctx context.Context, req gen.CreateTaskRequestObject) (gen.CreateTaskResponseObject, error) {
	who := principal(ctx)
	p := service.CreateParams{Input: req.Body.Input}
	if req.Body.Budget != nil {
		p.Budget = string(*req.Body.Budget)
	}
	if req.Body.TaskId != nil {
		p.TaskID = *req.Body.TaskId
	}
	if req.Body.WorkerId != nil {
		p.WorkerID = *req.Body.WorkerId
	}
	if req.Params.IdempotencyKey != nil {
		p.IdempotencyKey = *req.Params.IdempotencyKey
	}
	created, err := h.s.svc.CreateTask(ctx, who, p)
	if err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound) && p.WorkerID != "" && p.TaskID != "":
			return nil, fail(err, "Worker %s or task %s does not exist.", p.WorkerID, p.TaskID)
		case errors.Is(err, store.ErrNotFound) && p.WorkerID != "":
			return nil, fail(err, "Worker %s does not exist.", p.WorkerID)
		case errors.Is(err, store.ErrNotFound):
			return nil, fail(err, "Task %s does not exist.", p.TaskID)
		case errors.Is(err, store.ErrArchived):
			return nil, fail(err, "Task %s is archived and takes no more turns.", p.TaskID)
		case errors.Is(err, store.ErrWorkerMismatch):
			return nil, fail(err, "Task %s belongs to another worker than %s.", p.TaskID, p.WorkerID)
		case errors.Is(err, store.ErrIdempotencyMismatch):
			return nil, fail(err, "Idempotency-Key %s was used with a different request body.", p.IdempotencyKey)
		}
		return nil, fail(err, "%s", err)
	}
	return createOK{body: h.s.worker(created), location: "/api/tasks/" + created.Task.ID}, nil
}

// RetrieveTask implements GET /api/tasks/{taskId}.
func (h handlers) RetrieveTask(ctx context.Context, req gen.RetrieveTaskRequestObject) (gen.RetrieveTaskResponseObject, error) {
	task, list, err := h.s.svc.RetrieveTask(ctx, principal(ctx).OrgID, req.TaskId)
	if err != nil {
		return nil, fail(err, "Task %s does not exist.", req.TaskId)
	}
	return retrieveOK{Task: h.s.task(task), Turns: turns(list)}, nil
}

// ListTurns implements GET /api/tasks/{taskId}/turns.
func (h handlers) ListTurns(ctx context.Context, req gen.ListTurnsRequestObject) (gen.ListTurnsResponseObject, error) {
	_, list, err := h.s.svc.RetrieveTask(ctx, principal(ctx).OrgID, req.TaskId)
	if err != nil {
		return nil, fail(err, "Task %s does not exist.", req.TaskId)
	}
	return gen.ListTurns200JSONResponse{TaskId: req.TaskId, Items: turns(list)}, nil
}

// ArchiveTask implements DELETE /api/tasks/{taskId}.
func (h handlers) ArchiveTask(ctx context.Context, req gen.ArchiveTaskRequestObject) (gen.ArchiveTaskResponseObject, error) {
	if err := h.s.svc.ArchiveTask(ctx, principal(ctx), req.TaskId); err != nil {
		if errors.Is(err, store.ErrForbidden) {
			return nil, fail(err, "Only the user who created the worker of task %s may archive it.", req.TaskId)
		}
		return nil, fail(err, "Task %s does not exist.", req.TaskId)
	}
	return gen.ArchiveTask200JSONResponse{Archived: true}, nil
}

// ListTasks implements GET /api/tasks.
func (h handlers) ListTasks(ctx context.Context, req gen.ListTasksRequestObject) (gen.ListTasksResponseObject, error) {
	p := store.ListTasksParams{OrgID: principal(ctx).OrgID, Limit: 20}
	if req.Params.Limit != nil {
		p.Limit = *req.Params.Limit
	}
	p.Limit = min(max(p.Limit, 1), 100) // the validator refuses others; this guards --validate=off
	if req.Params.WorkerId != nil {
		p.WorkerID = *req.Params.WorkerId
	}
	if req.Params.Status != nil {
		p.Status = store.Status(*req.Params.Status)
	}
	if req.Params.Cursor != nil {
		before, err := decodeCursor(*req.Params.Cursor)
		if err != nil {
			return nil, fail(err, "cursor %q is not one this server issued.", *req.Params.Cursor)
		}
		p.Before = before
	}
	list, next, err := h.s.svc.ListTasks(ctx, p)
	if err != nil {
		return nil, err
	}
	out := gen.ListTasks200JSONResponse{Items: make([]gen.Task, 0, len(list))}
	for _, t := range list {
		out.Items = append(out.Items, h.s.task(t))
	}
	if next != 0 {
		c := encodeCursor(next)
		out.NextCursor = &c
	}
	return out, nil
}

// GetHealth implements GET /healthz.
func (h handlers) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Status: gen.HealthStatusOk}, nil
}

// GetReadiness implements GET /readyz.
func (h handlers) GetReadiness(ctx context.Context, _ gen.GetReadinessRequestObject) (gen.GetReadinessResponseObject, error) {
	if h.s.draining.Load() {
		return nil, fail(errUnavailable, "The server is shutting down.")
	}
	if err := h.s.svc.Ready(ctx); err != nil {
		h.s.log.WarnContext(ctx, "not ready", "err", err)
		return nil, fail(errUnavailable, "The database does not answer.")
	}
	return gen.GetReadiness200JSONResponse{Status: gen.HealthStatusOk}, nil
}

// cursorPrefix versions the cursor format.
const cursorPrefix = "p1:"

func encodeCursor(position int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(position, 10)))
}

func decodeCursor(c string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, errBadCursor
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, errBadCursor
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n <= 0 {
		return 0, errBadCursor
	}
	return n, nil
}
