package server

import (
	"context"
	"encoding/base64"
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
	s *handler
}

var _ gen.StrictServerInterface = handlers{}

// CreateTask implements POST /api/tasks.
func (h handlers) CreateTask(ctx context.Context, req gen.CreateTaskRequestObject) (gen.CreateTaskResponseObject, error) {
	who := principal(ctx)
	p := service.CreateParams{Input: req.Body.Input}
	if req.Body.Budget != nil {
		p.Budget = string(*req.Body.Budget)
	}
	if req.Body.TaskID != nil {
		p.TaskID = *req.Body.TaskID
	}
	if req.Body.WorkerID != nil {
		p.WorkerID = *req.Body.WorkerID
	}
	if req.Params.IdempotencyKey != nil {
		p.IdempotencyKey = *req.Params.IdempotencyKey
	}
	created, err := h.s.svc.CreateTask(ctx, who, p)
	if err != nil {
		return nil, about(err, subject{task: p.TaskID, worker: p.WorkerID, idempotencyKey: p.IdempotencyKey})
	}
	return createOK{body: h.s.worker(created), location: "/api/tasks/" + created.Task.ID}, nil
}

// RetrieveTask implements GET /api/tasks/{taskId}.
func (h handlers) RetrieveTask(ctx context.Context, req gen.RetrieveTaskRequestObject) (gen.RetrieveTaskResponseObject, error) {
	task, list, err := h.s.svc.RetrieveTask(ctx, principal(ctx).OrgID, req.TaskID)
	if err != nil {
		return nil, about(err, subject{task: req.TaskID})
	}
	return retrieveOK{Task: h.s.task(task), Turns: turns(list)}, nil
}

// ListTurns implements GET /api/tasks/{taskId}/turns.
func (h handlers) ListTurns(ctx context.Context, req gen.ListTurnsRequestObject) (gen.ListTurnsResponseObject, error) {
	_, list, err := h.s.svc.RetrieveTask(ctx, principal(ctx).OrgID, req.TaskID)
	if err != nil {
		return nil, about(err, subject{task: req.TaskID})
	}
	return gen.ListTurns200JSONResponse{TaskID: req.TaskID, Items: turns(list)}, nil
}

// ArchiveTask implements DELETE /api/tasks/{taskId}.
func (h handlers) ArchiveTask(ctx context.Context, req gen.ArchiveTaskRequestObject) (gen.ArchiveTaskResponseObject, error) {
	if err := h.s.svc.ArchiveTask(ctx, principal(ctx), req.TaskID); err != nil {
		return nil, about(err, subject{task: req.TaskID})
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
	if req.Params.WorkerID != nil {
		p.WorkerID = *req.Params.WorkerID
	}
	if req.Params.Status != nil {
		p.Status = store.Status(*req.Params.Status)
	}
	if req.Params.Cursor != nil {
		before, err := decodeCursor(*req.Params.Cursor)
		if err != nil {
			return nil, about(err, subject{cursor: *req.Params.Cursor})
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
		return nil, errDraining
	}
	if err := h.s.svc.Ready(ctx); err != nil {
		h.s.log.WarnContext(ctx, "not ready", "err", err)
		return nil, fmt.Errorf("%w: %w", errNoDatabase, err)
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
