package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/problem"
)

var (
	// errBadCursor is a list cursor the server did not issue.
	errBadCursor = errors.New("cursor is not one this server issued")
	// errUnavailable: the server cannot take work (shutting down, no database).
	errUnavailable = errors.New("unavailable")
)

// statusClientClosed is logged for calls whose client hung up before the
// answer; nobody receives it.
const statusClientClosed = 499

// failure is one row of the error table: how a known error is answered.
type failure struct {
	status  int
	slug    string
	title   string
	noRetry bool   // permanent: answer carries x-should-retry: false
	field   string // "in:pointer" of the offending field, if one is
}

// failures is the one error → HTTP status table. Every non-2xx answer of
// the handlers comes from here.
var failures = []struct {
	err error
	failure
}{
	{store.ErrNotFound, failure{http.StatusNotFound, "not-found", "Not found", false, ""}},
	{store.ErrArchived, failure{http.StatusConflict, "task-archived", "Task archived", true, ""}},
	{store.ErrWorkerMismatch, failure{http.StatusConflict, "worker-mismatch", "Worker mismatch", true, "body:/workerId"}},
	{store.ErrForbidden, failure{http.StatusForbidden, "forbidden", "Forbidden", true, ""}},
	{store.ErrIdempotencyMismatch, failure{http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency key reused", true, "header:/Idempotency-Key"}},
	{service.ErrUnknownBudget, failure{http.StatusBadRequest, "invalid-request", "Invalid request", false, "body:/budget"}},
	{errBadCursor, failure{http.StatusBadRequest, "invalid-request", "Invalid request", false, "query:/cursor"}},
	{errUnavailable, failure{http.StatusServiceUnavailable, "unavailable", "Service unavailable", false, ""}},
}

// writeError answers err as problem JSON, following the table; anything not
// in it is a 500 whose detail hides the cause (which is logged instead).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, detail string) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		w.WriteHeader(statusClientClosed)
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		problem.Write(w, r, problem.New(http.StatusRequestEntityTooLarge, "payload-too-large", "Payload too large",
			"The request body is larger than the server accepts."))
		return
	}
	for _, f := range failures {
		if errors.Is(err, f.err) {
			if f.noRetry {
				w.Header().Set("X-Should-Retry", "false")
			}
			if detail == "" {
				detail = err.Error()
			}
			p := problem.New(f.status, f.slug, f.title, detail)
			if in, pointer, ok := strings.Cut(f.field, ":"); ok {
				p.Errors = []problem.FieldError{{In: in, Pointer: pointer, Detail: detail}}
			}
			problem.Write(w, r, p)
			return
		}
	}
	s.log.ErrorContext(r.Context(), "request failed", "err", err, "path", r.URL.Path,
		"request_id", w.Header().Get("X-Request-Id"))
	problem.Write(w, r, problem.New(http.StatusInternalServerError, "internal", "Internal server error",
		"The server failed to answer; quote the request id when reporting it."))
}

// requestError answers a request the generated code could not decode.
func (s *Server) requestError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.writeError(w, r, err, "")
		return
	}
	s.log.DebugContext(r.Context(), "undecodable request", "err", err)
	problem.Write(w, r, problem.New(http.StatusBadRequest, "invalid-request", "Invalid request", err.Error()))
}
