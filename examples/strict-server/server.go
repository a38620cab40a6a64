package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation"

	"example.com/strict-server/api"
)

// Server implements the strict server interface generated from openapi.yaml.
// Only retrieveTask is real, over a fixed in-memory map; every other
// operation answers 501.
type Server struct {
	tasks map[string]api.TaskWithTurns
}

var _ api.StrictServerInterface = (*Server)(nil)

// NewServer returns a server that knows the given tasks, by Task.ID.
func NewServer(tasks ...api.TaskWithTurns) *Server {
	s := &Server{tasks: make(map[string]api.TaskWithTurns, len(tasks))}
	for _, t := range tasks {
		s.tasks[t.Task.ID] = t
	}
	return s
}

// NewHandler returns ssi as an http.Handler: the generated std-http router
// behind the repository's validation middleware, built with opts from the
// spec the code was generated from (embedded in package api). A service runs
// it with validation.Requests; its tests with validation.Full, which also
// checks every answer against the spec.
//
// The middleware answers every request that breaks openapi.yaml with 400
// problem JSON before the router sees it, so the handlers get only valid
// parameters and bodies. The generated code's own error handlers, which
// answer text/plain, are replaced by problem JSON too; behind the middleware
// they only run if the spec and the generated code disagree, or a handler
// fails.
//
// Authentication is left out: the middleware does not check security
// requirements, so a real service puts its own check before or behind it.
func NewHandler(ssi api.StrictServerInterface, opts validation.Options) (http.Handler, error) {
	doc, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("load the embedded spec: %w", err)
	}
	// The middleware routes on the document's paths alone and ignores its
	// servers, so the document needs no change for any address.
	mw, err := validation.New(doc, opts)
	if err != nil {
		return nil, fmt.Errorf("build the validation middleware: %w", err)
	}
	strict := api.NewStrictHandlerWithOptions(ssi, nil, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  badRequest,
		ResponseErrorHandlerFunc: handlerError,
	})
	router := api.HandlerWithOptions(strict, api.StdHTTPServerOptions{ErrorHandlerFunc: badRequest})
	return mw(router), nil
}

// errNotImplemented is what the operations this example leaves out return.
var errNotImplemented = errors.New("not implemented")

// badRequest answers a parameter or body the generated code could not
// decode.
func badRequest(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, problem.New(http.StatusBadRequest, "invalid-request", "Invalid request", err.Error()))
}

// handlerError answers an error returned by a handler: 501 for the
// operations left out, 500 for anything else.
func handlerError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNotImplemented) {
		problem.Write(w, r, problem.New(http.StatusNotImplemented, "not-implemented", "Not implemented", err.Error()))
		return
	}
	problem.Write(w, r, problem.New(http.StatusInternalServerError, "internal", "Internal server error", "The server failed to answer."))
}

// RetrieveTask implements GET /api/tasks/{taskId}.
func (s *Server) RetrieveTask(_ context.Context, req api.RetrieveTaskRequestObject) (api.RetrieveTaskResponseObject, error) {
	t, ok := s.tasks[req.TaskID]
	if !ok {
		return api.RetrieveTask404ApplicationProblemPlusJSONResponse{
			NotFoundApplicationProblemPlusJSONResponse: api.NotFoundApplicationProblemPlusJSONResponse{
				Type:   problem.TypeURI("not-found"),
				Title:  "Not found",
				Status: http.StatusNotFound,
				Detail: fmt.Sprintf("Task %s does not exist.", req.TaskID),
			},
		}, nil
	}
	return api.RetrieveTask200JSONResponse(t), nil
}

// CreateTask implements POST /api/tasks: not in this example.
func (s *Server) CreateTask(context.Context, api.CreateTaskRequestObject) (api.CreateTaskResponseObject, error) {
	return nil, fmt.Errorf("createTask: %w", errNotImplemented)
}

// ListTasks implements GET /api/tasks: not in this example.
func (s *Server) ListTasks(context.Context, api.ListTasksRequestObject) (api.ListTasksResponseObject, error) {
	return nil, fmt.Errorf("listTasks: %w", errNotImplemented)
}

// ArchiveTask implements DELETE /api/tasks/{taskId}: not in this example.
func (s *Server) ArchiveTask(context.Context, api.ArchiveTaskRequestObject) (api.ArchiveTaskResponseObject, error) {
	return nil, fmt.Errorf("archiveTask: %w", errNotImplemented)
}

// ListTurns implements GET /api/tasks/{taskId}/turns: not in this example.
func (s *Server) ListTurns(context.Context, api.ListTurnsRequestObject) (api.ListTurnsResponseObject, error) {
	return nil, fmt.Errorf("listTurns: %w", errNotImplemented)
}

// GetHealth implements GET /healthz: not in this example.
func (s *Server) GetHealth(context.Context, api.GetHealthRequestObject) (api.GetHealthResponseObject, error) {
	return nil, fmt.Errorf("getHealth: %w", errNotImplemented)
}

// GetReadiness implements GET /readyz: not in this example.
func (s *Server) GetReadiness(context.Context, api.GetReadinessRequestObject) (api.GetReadinessResponseObject, error) {
	return nil, fmt.Errorf("getReadiness: %w", errNotImplemented)
}
