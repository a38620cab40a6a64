package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/problem"
)

var (
	// errBadCursor is a list cursor the server did not issue.
	errBadCursor = errors.New("cursor is not one this server issued")
	// errDraining: the server is shutting down and takes no new work.
	errDraining = errors.New("shutting down")
	// errNoDatabase: the database does not answer.
	errNoDatabase = errors.New("database does not answer")
)

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = "5"

// statusClientClosed is logged for calls whose client hung up before the
// answer; nobody receives it.
const statusClientClosed = 499

// subject is what a request named, for the details of its errors: the
// handlers wrap the errors of the service with it (about), and the error
// table words the detail from it.
type subject struct {
	task, worker, idempotencyKey, cursor string
}

// subjectError is an error of the request about its subject.
type subjectError struct {
	err   error
	about subject
}

func (e *subjectError) Error() string { return e.err.Error() }
func (e *subjectError) Unwrap() error { return e.err }

// about wraps err (nil stays nil) with the subject of the request it
// failed.
func about(err error, s subject) error {
	if err == nil {
		return nil
	}
	return &subjectError{err: err, about: s}
}

// failure is one row of the error table: how a known error is answered.
type failure struct {
	err     error
	status  int
	slug    string
	title   string
	noRetry bool   // permanent: answer carries x-should-retry: false
	field   string // "in:pointer" of the offending field, if one is
	// detail words the problem's detail from the request's subject; nil
	// shows the error's own text.
	detail func(s subject) string
}

// failures is the one error → answer table. Every non-2xx answer of the
// handlers comes from here.
var failures = []failure{
	{store.ErrNotFound, http.StatusNotFound, "not-found", "Not found", false, "", func(s subject) string {
		switch {
		case s.worker != "" && s.task != "":
			// The same words whichever is missing: which one would tell
			// whether a task id is in use.
			return fmt.Sprintf("Worker %s or task %s does not exist.", s.worker, s.task)
		case s.worker != "":
			return fmt.Sprintf("Worker %s does not exist.", s.worker)
		}
		return fmt.Sprintf("Task %s does not exist.", s.task)
	}},
	{store.ErrArchived, http.StatusConflict, "task-archived", "Task archived", true, "", func(s subject) string {
		return fmt.Sprintf("Task %s is archived and takes no more turns.", s.task)
	}},
	{store.ErrWorkerMismatch, http.StatusConflict, "worker-mismatch", "Worker mismatch", true, "body:/workerId", func(s subject) string {
		return fmt.Sprintf("Task %s belongs to another worker than %s.", s.task, s.worker)
	}},
	{store.ErrForbidden, http.StatusForbidden, "forbidden", "Forbidden", true, "", func(s subject) string {
		return fmt.Sprintf("Only the user who created the worker of task %s may archive it.", s.task)
	}},
	{store.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency key reused", true, "header:/Idempotency-Key", func(s subject) string {
		return fmt.Sprintf("Idempotency-Key %s was used with a different request body.", s.idempotencyKey)
	}},
	{service.ErrUnknownBudget, http.StatusBadRequest, "invalid-request", "Invalid request", false, "body:/budget", nil},
	// Detail and field are the service.FieldError's.
	{service.ErrInvalid, http.StatusBadRequest, "invalid-request", "Invalid request", false, "", nil},
	{errBadCursor, http.StatusBadRequest, "invalid-request", "Invalid request", false, "query:/cursor", func(s subject) string {
		return fmt.Sprintf("The cursor %q is not one this server issued.", s.cursor)
	}},
	{store.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "Service unavailable", false, "", func(subject) string {
		return "The database cannot take writes now (full, locked or read-only); nothing was stored. Try again shortly."
	}},
	{errDraining, http.StatusServiceUnavailable, "unavailable", "Service unavailable", false, "", func(subject) string {
		return "The server is shutting down."
	}},
	{errNoDatabase, http.StatusServiceUnavailable, "unavailable", "Service unavailable", false, "", func(subject) string {
		return "The database does not answer."
	}},
}

// writeError answers err as problem JSON, following the table; anything not
// in it is a 500 whose detail hides the cause (which is logged instead).
func (s *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
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
		if !errors.Is(err, f.err) {
			continue
		}
		if f.noRetry {
			w.Header().Set("X-Should-Retry", "false")
		}
		if f.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
		detail, field := err.Error(), f.field
		var fe *service.FieldError
		if errors.As(err, &fe) {
			detail, field = capitalize(fe.Error())+".", fe.In+":"+fe.Pointer
		} else if f.detail != nil {
			var se *subjectError
			errors.As(err, &se)
			var about subject
			if se != nil {
				about = se.about
			}
			detail = f.detail(about)
		}
		p := problem.New(f.status, f.slug, f.title, detail)
		if in, pointer, ok := strings.Cut(field, ":"); ok {
			p.Errors = []problem.FieldError{{In: in, Pointer: pointer, Detail: detail}}
		}
		problem.Write(w, r, p)
		return
	}
	s.log.ErrorContext(r.Context(), "request failed", "err", err, "path", r.URL.Path,
		"request_id", w.Header().Get("X-Request-Id"))
	problem.Write(w, r, problem.New(http.StatusInternalServerError, "internal", "Internal server error",
		"The server failed to answer; quote the request id when reporting it."))
}

// requestError answers a request the generated code could not decode.
func (s *handler) requestError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.writeError(w, r, err)
		return
	}
	s.log.DebugContext(r.Context(), "undecodable request", "err", err)
	if p, ok := decodeProblem(err); ok {
		problem.Write(w, r, p)
		return
	}
	problem.Write(w, r, problem.New(http.StatusBadRequest, "invalid-request", "Invalid request", err.Error()))
}

// capitalize makes the first letter of a message upper case, for a detail.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
